"""The encoder/decoder description that configs, builders and reports share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated

from pydantic import ConfigDict

from micae.config.types import Choice, Cli, Flag, Integer, Number, Text
from micae.models.quantizers import QuantSpec


@dataclass(frozen=True)
class EncoderSpec:
    """Input -> input quantizer -> QConv2D -> quantizer -> Flatten -> QDense -> latent quantizer
    (``conv=False``: no QConv2D; ``dense_hidden``: QDense + quantizer layers before the latent QDense).

    Defaults are the ECON-T shape: 4x4x3 input, 8 filters 3x3 stride 2 ``same``,
    16 latents of 9 bits, 6-bit weights. Inputs are 8-bit unsigned (1 integer
    bit, ``sumlog2``-normalised charges lie in [0, 2)): 48 values into 16 is the
    chip's compression factor 3 (bit ratio 48 x 8 / 16 x 9 = 2.67).

    The run config's ``encoder:`` section (:func:`from_dict`); the type of each field says what it takes.
    """

    __pydantic_config__ = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    input_shape: tuple[Integer(ge=1), ...] = (4, 4, 3)
    """(height, width, channels) of one input (a training run takes it from its data)"""
    input_quant: QuantSpec = QuantSpec(8, 1, signed=False)
    """quantizer of the inputs"""
    filters: Integer(ge=0) = 8
    """Conv2D filters"""
    kernel: Integer(ge=0) = 3
    """Conv2D kernel size"""
    strides: Integer(ge=0) = 2
    """Conv2D strides"""
    padding: Choice("same", "valid") = "same"
    """Conv2D padding"""
    conv_weight: QuantSpec = QuantSpec(6, 0)
    """quantizer of the Conv2D weights"""
    conv_bias: QuantSpec = QuantSpec(8, 2)
    """quantizer of the Conv2D biases"""
    conv_act: QuantSpec = QuantSpec(8, 2, signed=False, relu=True)
    """quantizer after the Conv2D (and after hidden QDense layers)"""
    latent: Annotated[Integer(ge=1), Cli("--latent", group="encoder")] = 16
    """latent values per encoder"""
    dense_weight: QuantSpec = QuantSpec(6, 0)
    """quantizer of the QDense weights"""
    dense_bias: QuantSpec = QuantSpec(8, 2)
    """quantizer of the QDense biases"""
    latent_quant: QuantSpec = QuantSpec(9, 1, signed=True)
    """quantizer of the latent"""
    pad: tuple[tuple[Integer(ge=0), Integer(ge=0)], tuple[Integer(ge=0), Integer(ge=0)]] | None = None
    """Zero padding ``((top, bottom), (left, right))`` before the convolution (the CMS CAE: ``((0, 1), (0, 1))``)."""
    output_bits: Integer(ge=1, le=16, null=True) = None
    """Per-eLink output bits ``b``: the top ``b`` bits of the latent, truncated (signed latents also saturate at
    ``1 - 2**-(b-1)``), so training sees what the chip transmits; ``econt.elinks`` sets it."""
    input_mask: Text(null=True) = None
    """Layout whose dead cells never carry a value (``8x8``): they count out of the budget, the hardware drops them."""
    conv: Flag = True
    """False: a dense-only encoder, Input -> input quantizer -> Flatten -> [hidden QDense] -> QDense -> latent
    quantizer (the conv fields are then unused)."""
    latent_bias_init: Number(null=True) = None
    """starting bias of the latent Dense (none: 0.125 for a ReLU latent, which keeps every latent alive at the
    start, 0 otherwise)"""
    dense_hidden: tuple[Integer(ge=1), ...] = ()
    """Units of hidden QDense layers between Flatten and the latent QDense (weights ``dense_weight``/``dense_bias``,
    activations ``conv_act``); empty by default."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["dense_hidden"] = list(self.dense_hidden)
        d["pad"] = [list(p) for p in self.pad] if self.pad is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> EncoderSpec:
        """The ``encoder:`` section validated (ConfigError ``encoder.<key> = <value>: <what it takes>``)."""
        from micae.config.errors import validate

        return validate(cls, dict(d or {}), prefix="encoder.")

    def padded_shape(self) -> tuple[int, int]:
        h, w = self.input_shape[0], self.input_shape[1]
        if self.pad is None:
            return h, w
        (t, b), (left, r) = self.pad
        return h + t + b, w + left + r

    def conv_output_shape(self) -> tuple[int, int, int]:
        h, w = self.padded_shape()
        k, s = self.kernel, self.strides
        if self.padding == "same":
            return (-(-h // s), -(-w // s), self.filters)
        return ((h - k) // s + 1, (w - k) // s + 1, self.filters)


@dataclass(frozen=True)
class DecoderSpec:
    """Dense -> Reshape -> Conv2DTranspose stack; float by default, quantized on request
    (then UpSampling2D + QConv2D, because QKeras' QConv2DTranspose fails on TF 2.15).

    The run config's ``decoder:`` section."""

    __pydantic_config__ = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    filters: Integer(ge=1) = 8
    """filters of the transposed convolutions"""
    kernel: Integer(ge=1) = 3
    """kernel size of the transposed convolutions"""
    quantized: Flag = False
    """a QKeras decoder (UpSampling2D + QConv2D) instead of a float one"""
    weight: QuantSpec = QuantSpec(8, 1)
    """quantized decoder: quantizer of its weights"""
    activation: QuantSpec = QuantSpec(10, 3, signed=False, relu=True)
    """quantized decoder: quantizer of its activations"""
    output_activation: Text() = "relu"
    """Keras activation of the output (linear: none)"""
    module_sum: Flag = False
    """also feed the decoder each part's module sum as the ECON-T frame sends it (9-bit 5E4M, decoded to its lower
    bin edge, divided by the wafer's normalisation scale: in [1, 2) to 1/16 with chip inputs); off-detector only,
    encoder.h5 is unchanged; needs integer charges"""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> DecoderSpec:
        """The ``decoder:`` section validated (ConfigError ``decoder.<key> = <value>: ...``)."""
        from micae.config.errors import validate

        return validate(cls, dict(d or {}), prefix="decoder.")


@dataclass(frozen=True)
class MicaeSpec:
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    decoder: DecoderSpec = field(default_factory=DecoderSpec)
    n_inputs: int = 1
    min_compression: float = 3.0
