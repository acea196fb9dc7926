"""The run config (``models/*.yaml``, ``micae train``): every section and key, its type, default and description.

``micae.train.config.load_config`` merges a YAML file, ``--set`` overrides and options onto the defaults and
validates the result here before any data loads. The ``encoder``/``decoder`` sections are the builders' own
specs (:class:`~micae.models.spec.EncoderSpec`, :class:`~micae.models.spec.DecoderSpec`); ``synth`` is the
run's synthesize settings (:class:`~micae.config.synth.SynthOptions`, read by ``micae synth --model
models/<name>``). A field marked ``Cli(...)`` is also an option of ``micae train``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, create_model

from micae.config.base import Schema
from micae.config.synth import SynthOptions
from micae.config.types import Check, Choice, Cli, Flag, Integer, Number, Text
from micae.data import DATASETS
from micae.data.geometry import HGCAL_LAYOUTS
from micae.data.hgcal_presets import PRESETS
from micae.data.normalise import METHODS as NORMALISATIONS
from micae.models.quantizers import QuantSpec
from micae.models.spec import DecoderSpec, EncoderSpec

MODES = ("joint", "frozen-encoder", "encoder")
LOSSES = ("mse", "telescope", "sinkhorn")
STACK_LOSSES = ("latent", "chain")
OBJECTIVES = ("ae", "vae", "contractive", "l1")
LAYOUTS = (*HGCAL_LAYOUTS, "image")


def _noise(value: str | None) -> str | None:
    """``dropout:P`` with 0 <= P < 1."""
    if value is None:
        return None
    kind, _, p = value.partition(":")
    try:
        ok = kind == "dropout" and 0.0 <= float(p) < 1.0
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("must be dropout:P with 0 <= P < 1 (e.g. dropout:0.1), or null")
    return value


class DatasetConfig(Schema):
    """``dataset:``: where the samples come from and how they are arranged."""

    name: Annotated[Choice(*DATASETS), Cli("--dataset", group="data")] = "hgcal-synth"
    """dataset: generated HGCAL wafers, the public ECON-T CSV, scikit-learn digits, or your own npz"""
    n_samples: Annotated[Integer(ge=1, null=True), Cli(group="data")] = None
    """number of (MICAE) samples to generate or read (none: 50000 generated, or every row of a file)"""
    path: Annotated[Text(null=True), Cli("--data", group="data", metavar="FILE")] = None
    """input file for econt-csv (.csv) or npz (.npz)"""
    rows: Annotated[Text(null=True), Cli(group="data", metavar="START:STOP")] = None
    """econt-csv: train on these consecutive rows of the file only (counts or fractions, e.g. :0.8 for the
    first 80%), so micae evaluate --rows 0.8: judges the run on rows it never saw"""
    layout: Annotated[Choice(*LAYOUTS), Cli(group="data")] = "4x4x3"
    """arrangement of the 48 HGCAL trigger cells (image: digits, npz images)"""
    preset: Annotated[Choice(*PRESETS), Cli(group="data")] = "legacy"
    """hgcal-synth generator preset: legacy (the generator before presets, so old runs reproduce), pileup (fitted to
    CALQ_output_head.csv), nopileup (fitted to ttbar_0PU.csv); micae data compare shows how closely. Other datasets
    ignore it"""
    normalisation: Choice(*NORMALISATIONS) = "sumlog2"
    """per-wafer normalisation of the trigger-cell charges"""
    tiles: Annotated[Integer(ge=1), Cli(group="data")] = 4
    """digits: cut each 8x8 image into this many tiles (1, 4 or 16)"""
    n_parts: Annotated[Integer(ge=1), Cli(group="data")] = 1
    """MICAE inputs N sharing one encoder (HGCAL/npz; digits uses tiles)"""
    input_shape: Annotated[
        list[Integer(ge=1)] | None, Check(lambda v: v is None or len(v) == 3, "must be [height, width, channels]")
    ] = None
    """npz: the shape of one input (none: from the layout or the file)"""


class TrainConfig(Schema):
    """``train:``: how the model is trained."""

    mode: Annotated[Choice(*MODES), Cli(group="training")] = "joint"
    """joint: train all from scratch; frozen-encoder: train only a decoder on a given encoder_path; encoder:
    train a single CAE, then reuse its encoder in MICAE"""
    epochs: Annotated[Integer(ge=1), Cli(group="training")] = 20
    """maximum epochs (early stopping on the validation loss)"""
    batch_size: Annotated[Integer(ge=1), Cli(group="training")] = 256
    """batch size"""
    learning_rate: Annotated[Number(gt=0), Cli("--lr", group="training")] = 0.003
    """Adam learning rate"""
    loss: Annotated[Choice(*LOSSES), Cli(group="training")] = "mse"
    """training loss (telescope and sinkhorn: HGCAL layouts only)"""
    patience: Annotated[Integer(ge=0), Cli(group="training")] = 5
    """early-stopping patience in epochs"""
    noise: Annotated[Text(null=True), AfterValidator(_noise), Cli(group="training", metavar="dropout:P")] = None
    """denoising training: corrupt inputs, keep clean targets"""
    encoder_path: Annotated[Text(null=True), Cli("--encoder", group="training", metavar="ENCODER.h5")] = None
    """trained encoder .h5 for mode frozen-encoder"""
    float_twin: Annotated[Flag, Cli("--no-float-twin", group="training", negate=True)] = True
    """train the unquantized twin beside the QAT model (--no-float-twin skips it)"""
    objective: Annotated[Choice(*OBJECTIVES), Cli(group="training")] = "ae"
    """training objective around the same hardware encoder: ae (plain), vae (KL weight kl_weight; the hardware
    encoder is the mean head), contractive (Jacobian penalty, contractive_weight), l1 (sparse latents, l1_weight)"""
    kl_weight: Number(ge=0) = 0.001
    """vae: weight of KL(posterior || N(0, 1)), summed over latents"""
    kl_warmup: Integer(ge=0) = 0
    """vae: epochs over which the KL weight ramps up from 0"""
    contractive_weight: Number(ge=0) = 0.001
    """contractive: weight of ||d latent / d input||_F^2"""
    l1_weight: Number(ge=0) = 0.001
    """l1: weight of sum |latent|"""
    emd_epsilon: Number(gt=0) = 0.5
    """loss sinkhorn: entropic regulariser (EMD units; neighbouring trigger cells are 2.0 apart)"""
    emd_iterations: Integer(ge=1) = 20
    """loss sinkhorn: Sinkhorn iterations"""
    emd_debiased: Flag = False
    """loss sinkhorn: the Sinkhorn divergence W(t,p) - (W(t,t)+W(p,p))/2 instead of W(t,p) (3x the cost)"""
    sum_weight: Number(ge=0) = 1.0
    """loss sinkhorn: weight of the squared wafer-sum error"""
    liveness_weight: Number(ge=0) = 1.0
    """ReLU (unsigned) latents: weight of the training-only penalty that pushes up a latent no wafer of a batch
    sends as a non-zero code (micae.train.liveness); 0 turns it off; encoder.h5 is unchanged"""


class EcontConfig(Schema):
    """``econt:``: the ECON-T chip's output e-links (:mod:`micae.train.econt_config`)."""

    elinks: Annotated[Integer(ge=1, le=13, null=True), Cli("--elinks", group="encoder", metavar="L")] = None
    """ECON-T output e-links L: the chip's 16 latents, 9-bit unsigned, cut to their top 3/5/7/9 bits at L = 2/3/4/5
    (sets encoder.latent_quant and encoder.output_bits), and the frame's bit budget; HGCAL data only (none: the
    encoder section decides)"""


class PretrainConfig(Schema):
    """``pretrain:``: train on generated wafers first, then go on with the same weights on ``dataset:``
    (pre-training on hgcal-synth, fine-tuning on a real file); the same loss, batch size, learning rate and
    patience; the decoder and the float twin are pre-trained alike."""

    epochs: Annotated[Integer(ge=0), Cli("--pretrain-epochs", group="training")] = 0
    """epochs on generated wafers before the run's dataset (0: no pre-training)"""
    preset: Annotated[Choice(*PRESETS), Cli("--pretrain-preset", group="training")] = "pileup"
    """hgcal-synth preset of the pre-training wafers"""
    n_samples: Integer(ge=1) = 60000
    """generated samples of the pre-training (same layout, normalisation and n_parts as the run; seed + 1)"""
    learning_rate: Number(gt=0, null=True) = None
    """Adam learning rate of the pre-training (none: train.learning_rate, which the fine-tuning uses)"""


class StackLevel(Schema):
    """One stacked level (stage 2, 3, ...): a hardware encoder over the latents of the stage below."""

    latent: Integer(ge=1) = 8
    """latent values of the level"""
    latent_quant: QuantSpec | None = None
    """quantizer of its latent (none: the latent grid of the stage below)"""
    filters: Integer(ge=1) = 4
    """Conv2D filters"""
    kernel: Integer(ge=1) = 3
    """Conv2D kernel size"""
    strides: Integer(ge=1) = 1
    """Conv2D strides"""
    padding: Choice("same", "valid") = "same"
    """Conv2D padding"""
    rows: Integer(ge=1, null=True) = None
    """the level reads its input latents as (rows, n / rows, 1) (none: N parts at stage 2, 1 above)"""
    decoder_units: Integer(ge=1) = 64
    """units of the small float decoder that rebuilds the level's input latents"""
    loss: Choice(*STACK_LOSSES) = "latent"
    """latent: MSE on the latents of the stage below; chain: the run's loss on the inputs through every frozen
    lower stage"""
    epochs: Integer(ge=1, null=True) = None
    """epochs of the level (none: train.epochs)"""
    min_compression: Number(gt=0) = 1.0
    """the level's input values / latents must be at least this"""


StackLevelEntry = create_model(  # type: ignore[call-overload]  # fields built from StackLevel's
    "StackLevelEntry",
    __base__=Schema,
    __doc__="A ``stack.levels`` entry: the keys it leaves out come from the ``stack`` section.",
    **{
        name: (
            Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation,
            Field(None, description=f.description),
        )
        for name, f in StackLevel.model_fields.items()
    },
)


class StackConfig(StackLevel):
    """``stack:``: optional stacked levels; without ``levels`` the section is the one stage-2 level."""

    enabled: Annotated[Flag, Cli("--stack", group="stacking")] = False
    """then train stacked encoders on the concatenated latents"""
    levels: Annotated[
        list[StackLevelEntry] | None, Check(lambda v: v is None or len(v) > 0, "must be a non-empty list, or null")
    ] = None
    """stages 2, 3, ... each a mapping of level keys (missing ones from this section)"""
    fine_tune_end_to_end: Flag = False
    """after the levels: train all stacked levels together on the inputs (stage 1 frozen)"""


class RunSchema(Schema):
    """A run config: ``models/<name>.yaml``."""

    name: Annotated[Text(), Cli(group="run")] = "econt"
    """run name; outputs go to <out>/<name>/"""
    seed: Annotated[Integer(ge=0), Cli(group="run")] = 0
    """random seed (data split, initialisation, training order)"""
    dataset: DatasetConfig = DatasetConfig()
    """where the samples come from"""
    encoder: EncoderSpec = EncoderSpec()
    """the hardware encoder (keys left out: the ECON-T defaults)"""
    decoder: DecoderSpec = DecoderSpec()
    """the decoder (float unless quantized)"""
    train: TrainConfig = TrainConfig()
    """how the model is trained"""
    econt: EcontConfig = EcontConfig()
    """the ECON-T chip's e-link count"""
    pretrain: PretrainConfig = PretrainConfig()
    """optional pre-training on generated wafers"""
    stack: StackConfig = StackConfig()
    """optional stacked levels"""
    min_compression: Annotated[Number(gt=0), Cli(group="encoder")] = 3.0
    """smallest allowed compression factor: input values / latent values (ECON-T: 3)"""
    min_bit_compression: Number(gt=0, null=True) = None
    """optional limit on input bits / latent bits (reported always, enforced only when set)"""
    synth: SynthOptions | None = None
    """micae synth settings of this run (micae synth --model models/<name> reads them; its options override)"""


def defaults() -> dict:
    """The run config's defaults as the dict a YAML file is merged onto (``encoder``, ``decoder`` and ``synth``
    hold only what a file sets; the builders fill in the rest)."""
    raw: dict[str, Any] = RunSchema().model_dump(exclude={"encoder", "decoder", "synth"})
    return {**raw, "encoder": {}, "decoder": {}}
