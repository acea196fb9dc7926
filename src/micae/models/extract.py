"""Read a QKeras encoder into the exact integer description, refusing what can't be bit-exact.

This is the guard in front of every hardware route. The encoder is cut out of
the user's model (:mod:`micae.graph.chain`: the path from the image input to
the latent, condition inputs that join after the latent left out), then each
layer is read by its handler (:mod:`micae.graph.handlers`) into the lowering
(:mod:`micae.graph.lower`), which yields the ``IntegerEncoder``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from micae.errors import ConstraintError
from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage
from micae.log import info

FLOAT32_MANTISSA_BITS = 24


@dataclass
class GuardReport:
    """What the guard found.

    ``encoder``: the integer model (None when unreadable); ``problems``: reasons it
    would not be bit-exact; ``warnings``: legal but notable (a deep encoder);
    ``layers_taken``: the Keras layers cut out of the model, in order;
    ``keras_encoder``: a Keras model from the image input to the latent (QKeras
    predicts the reference latents with it, hls4ml converts it).
    """

    encoder: IntegerEncoder | None
    problems: list[str]
    warnings: list[str] = field(default_factory=list)
    layers_taken: list[str] = field(default_factory=list)
    keras_encoder: object | None = None
    depth: dict = field(default_factory=dict)
    folded: list[str] = field(default_factory=list)
    """The problems that are batch norms folded inexactly on request (``fold_batchnorm``)."""

    @property
    def exact(self) -> bool:
        return not self.problems


def shared_encoder(model):
    """A MICAE model holds its tied encoder as a nested Model; return it, else the model itself."""
    nested = [m for m in model.layers if hasattr(m, "layers") and len(getattr(m, "inputs", []) or []) == 1]
    encoders = [m for m in nested if m.name.startswith("encoder")]
    if len(model.inputs) > 1 and encoders:
        return encoders[0]
    return model


def supported() -> str:
    from micae.graph.registry import supported_layers

    return ", ".join(supported_layers())


def inspect_encoder(
    model,
    *,
    name: str | None = None,
    input_layer: str | None = None,
    output_layer: str | None = None,
    input_mask=None,
    fold_batchnorm: bool = False,
) -> GuardReport:
    """Cut the encoder out of ``model``, build the integer model and list every reason it would not be bit-exact.

    ``input_layer``/``output_layer`` name the encoder's first and last layers in a
    bigger model; without them the path from the image input to the last
    quantizer before a join is taken. ``input_mask``: a bool/0-1 array of the input
    shape, a ``.npy`` path or a layout name (``8x8``); masked inputs are dropped. ``fold_batchnorm``: a batch
    norm that cannot be exact is folded into the layer before it anyway, and listed as a problem.
    """
    from micae.graph.chain import find_chain, replay

    model = shared_encoder(model)
    start, chain = find_chain(model, input_layer, output_layer)
    if len(chain) == 1 and hasattr(chain[0][0], "layers") and output_layer is None:
        return inspect_encoder(chain[0][0], name=name, input_mask=input_mask, fold_batchnorm=fold_batchnorm)
    keras_encoder, steps = replay(start, chain, name=f"{model.name}_encoder" if chain else model.name)
    taken = [start.name] + [step.name for step in steps]
    info(f"encoder: {len(taken)} layers taken from model '{model.name}': {' -> '.join(taken)}")
    folded: list[str] = []
    encoder = read_steps(keras_encoder, steps, name or model.name, input_mask, folded if fold_batchnorm else None)
    problems = folded + _problems(encoder, taken)
    depth = _depth(encoder)
    warnings = []
    if (depth["conv2d"], depth["dense"]) != (1, 1):
        warnings.append(
            f"encoder '{encoder.name}' has {depth['conv2d']} convolution(s) and {depth['dense']} dense layer(s) "
            f"({len(encoder.stages)} stages); micae's hardware budget assumes the shallow one-conv-one-dense shape"
        )
    return GuardReport(encoder, problems, warnings, taken, keras_encoder, depth, folded)


def read_steps(
    keras_encoder, steps: list, name: str, input_mask=None, folded: list[str] | None = None
) -> IntegerEncoder:
    """Run every layer's handler over the chain and lower it into the integer model. ``folded``: a list
    to collect batch norms folded inexactly (None: they are refused)."""
    from micae.graph.lower import Lowering
    from micae.graph.mask import live_columns, load_input_mask
    from micae.graph.registry import get_handler

    input_shape = tuple(int(v) for v in keras_encoder.input_shape[1:])
    live = load_input_mask(input_mask, input_shape)
    low = Lowering(input_shape, live_columns(live))
    low.folded = folded
    low.layers.append((keras_encoder.layers[0].name, "InputLayer", "input"))
    for step in steps:
        handler = get_handler(step.cls)
        if handler is None:
            raise ConstraintError(*_unsupported(step))
        handler(step, low)
    return low.finish(name)


def _unsupported(step) -> tuple[str, str]:
    """``(problem, fix)`` for a layer class no handler reads."""
    import tensorflow as tf

    from micae.models.io import qkeras_fix, qkeras_layer_classes, qkeras_unsupported

    if step.cls in qkeras_layer_classes():
        return qkeras_unsupported(step.name, step.cls), qkeras_fix(step.cls)
    standard = getattr(tf.keras.layers, step.cls, None) is not None
    what = "is a standard Keras layer micae does not support" if standard else "is not a layer micae supports"
    return f"layer '{step.name}' ({step.cls}) {what}; supported: {supported()}", (
        "rebuild the encoder from the supported layers"
    )


def _problems(encoder: IntegerEncoder, taken: list[str]) -> list[str]:
    problems = [f"layer '{n}': hls4ml reserves the name 'input' - rename the layer" for n in taken if n == "input"]
    return problems + check_accumulators(encoder, "QKeras itself")


def check_accumulators(encoder: IntegerEncoder, reference: str) -> list[str]:
    """Accumulators wider than float32's mantissa: the float reference (QKeras, qonnx) rounds them itself."""
    problems = []
    for stage, in_t in zip(encoder.stages, encoder.stage_input_types()):
        if not isinstance(stage, AffineStage):
            continue
        acc_t = stage.acc_type(in_t)
        if acc_t.width > FLOAT32_MANTISSA_BITS:
            problems.append(
                f"layer '{stage.name}': accumulators need {acc_t.width} bits, more than float32's "
                f"{FLOAT32_MANTISSA_BITS}, so {reference} rounds them - use fewer weight/input bits"
            )
    return problems


def _depth(encoder: IntegerEncoder) -> dict:
    kinds = [s.kind for s in encoder.stages]
    known = ("conv2d", "dense", "avgpool", "maxpool", "requantize")
    return {k: kinds.count(k) for k in known + tuple(k for k in dict.fromkeys(kinds) if k not in known)}


def extract_encoder(model, *, name: str | None = None, allow_inexact: bool = False, **cut) -> GuardReport:
    """``inspect_encoder`` that raises on the first inexact construct unless ``allow_inexact``."""
    report = inspect_encoder(model, name=name, **cut)
    if report.problems and not allow_inexact:
        raise ConstraintError(
            report.problems[0], "fix the model, or pass --allow-inexact to convert anyway and see the mismatches"
        )
    return report
