"""The QONNX front end: a QONNX graph (Brevitas, FINN, hls4ml exports) -> the exact ``IntegerEncoder``.

The graph is cleaned by qonnx (shapes inferred, constants folded, ``Quant`` nodes kept), then walked
along the single path from its input to its output. Each node on that path is read by its handler
(:mod:`micae.graph.handlers.qonnx_ops`, registered as ``onnx:<op_type>`` in the same registry as the
Keras handlers) into the same :class:`~micae.graph.lower.Lowering`. Weights are the constant inputs of
a node: an initializer, or a ``Quant``/``BipolarQuant`` of one (evaluated with qonnx's own functions).

Layout: ONNX tensors are NCHW; micae's integer model and its RTL read the input channels-last
(H, W, C) like a QKeras encoder, so the lowering tracks (H, W, C) and the handlers translate (a
``Flatten`` of an NCHW tensor is a permutation, folded into the next matrix like every reshape).
:class:`QonnxReference` runs qonnx's executor (``qonnx.core.onnx_exec``) on channels-last inputs: it
is the reference every verification level is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from micae.errors import ConfigError, ConstraintError
from micae.fixed.graph import IntegerEncoder

QUANT_OPS = ("Quant", "BipolarQuant")


def _qonnx():
    try:
        import qonnx  # noqa: F401
    except ImportError:
        raise ConfigError(
            "reading a QONNX model needs the qonnx package", "pip install -c constraints.txt -e '.[qonnx]'"
        ) from None


def load_qonnx(path: str | Path):
    """The cleaned qonnx ``ModelWrapper`` of an ``.onnx`` file (shapes inferred, constants folded)."""
    _qonnx()
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except Exception as exc:
        raise ConfigError(
            f"could not read {path} as ONNX: {type(exc).__name__}: {exc}", "give a QONNX .onnx file"
        ) from None
    model = cleanup_model(ModelWrapper(proto))
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise ConstraintError(
            f"{path}: the graph has {len(model.graph.input)} inputs and {len(model.graph.output)} outputs",
            "export the encoder alone (one input, one output)",
        )
    return model


@dataclass
class OnnxStep:
    """One node on the data path: what a handler reads (``name``, ``cls`` = op type, attributes, constants)."""

    node: object
    consts: dict[int, np.ndarray]
    """the node's constant inputs by position (weights, scales, shapes), evaluated"""
    in_shape: tuple[int, ...]
    """the ONNX shape of the data input, batch dimension dropped (C, H, W) or (F,)"""
    out_shape: tuple[int, ...]
    attrs: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def cls(self) -> str:
        return self.node.op_type

    def const(self, index: int, what: str) -> np.ndarray:
        if index not in self.consts:
            raise ConstraintError(
                f"node '{self.name}' ({self.cls}): its {what} (input {index}) is not a constant",
                "export the model with constant weights and quantizer parameters",
            )
        return self.consts[index]


def constant_value(model, tensor: str) -> np.ndarray | None:
    """An initializer, or the output of a ``Quant``/``BipolarQuant`` whose inputs are all constant."""
    init = model.get_initializer(tensor)
    if init is not None:
        return np.asarray(init, dtype=np.float64)
    producer = model.find_producer(tensor)
    if producer is None or producer.op_type not in QUANT_OPS:
        return None
    args = [constant_value(model, t) for t in producer.input]
    if any(a is None for a in args):
        return None
    return _quantized_constant(producer, args)


def _quantized_constant(node, args: list[np.ndarray]) -> np.ndarray:
    """qonnx's own ``Quant``/``BipolarQuant`` functions on constant inputs (the weights a graph quantizes)."""
    from onnx import helper
    from qonnx.custom_op.general.bipolar_quant import binary_quant
    from qonnx.custom_op.general.quant import quant

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    args = [np.asarray(a, dtype=np.float32) for a in args]  # qonnx's executor computes in float32
    if node.op_type == "BipolarQuant":
        return np.asarray(binary_quant(args[0], args[1]), dtype=np.float64)
    mode = attrs.get("rounding_mode", b"ROUND")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    out = quant(*args[:4], int(attrs.get("signed", 1)), int(attrs.get("narrow", 0)), mode)
    return np.asarray(out, dtype=np.float64)


def _shape(model, tensor: str) -> tuple[int, ...]:
    shape = model.get_tensor_shape(tensor)
    if shape is None:
        raise ConstraintError(f"tensor '{tensor}' has no inferred shape", "export the model with a fixed input shape")
    if not shape or shape[0] != 1:
        raise ConstraintError(f"tensor '{tensor}' has shape {shape}", "export with batch size 1")
    return tuple(int(v) for v in shape[1:])


def data_path(model) -> list[OnnxStep]:
    """The nodes from the graph input to its output, each reading one data tensor (the rest constants)."""
    from onnx import helper

    tensor, end = model.graph.input[0].name, model.graph.output[0].name
    steps: list[OnnxStep] = []
    while tensor != end:
        users = [n for n in model.find_consumers(tensor) or [] if constant_value(model, n.output[0]) is None]
        if len(users) != 1:
            names = [f"{n.name} ({n.op_type})" for n in users]
            raise ConstraintError(
                f"tensor '{tensor}' feeds {len(users)} nodes {names}; the encoder must be a single path",
                "export the encoder alone, without skip connections or branches",
            )
        node = users[0]
        data_inputs = [i for i, t in enumerate(node.input) if t and constant_value(model, t) is None]
        if data_inputs != [list(node.input).index(tensor)] or len(node.output) != 1:
            raise ConstraintError(
                f"node '{node.name}' ({node.op_type}) combines {len(data_inputs)} non-constant tensors",
                "the encoder must be a single path with constant weights",
            )
        consts = {i: constant_value(model, t) for i, t in enumerate(node.input) if t and i not in data_inputs}
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        steps.append(OnnxStep(node, consts, _shape(model, tensor), _shape(model, node.output[0]), attrs))
        tensor = node.output[0]
    return steps


def channels_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The (H, W, C) shape micae reads for an ONNX (C, H, W) shape; other ranks are unchanged."""
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else tuple(shape)


def unsupported_op(step: OnnxStep) -> str:
    from micae.graph.registry import supported_onnx_ops

    ops = ", ".join(supported_onnx_ops())
    return f"node '{step.name}' ({step.cls}) is an ONNX op micae does not read; supported: {ops}"


def read_qonnx(model, name: str, input_mask=None) -> IntegerEncoder:
    """Run every node's handler over the data path and lower it into the integer model."""
    from micae.graph.lower import Lowering
    from micae.graph.mask import live_columns, load_input_mask
    from micae.graph.registry import get_handler

    steps = data_path(model)
    input_shape = channels_last(_shape(model, model.graph.input[0].name))
    if len(input_shape) not in (1, 3):
        raise ConstraintError(f"input of shape {input_shape}", "give an (N, C, H, W) or (N, F) input")
    live = load_input_mask(input_mask, input_shape)
    low = Lowering(input_shape, live_columns(live))
    low.layers.append((model.graph.input[0].name, "onnx input", "input"))
    for step in steps:
        handler = get_handler(f"onnx:{step.cls}")
        if handler is None:
            raise ConstraintError(unsupported_op(step), "rebuild the encoder from the supported ops")
        handler(step, low)
    relu = getattr(low, "onnx_relu", None)
    if relu is not None:
        raise ConstraintError(f"node '{relu}' (Relu) has no Quant after it", f"add a Quant node after '{relu}'")
    return low.finish(name)


class QonnxReference:
    """The QONNX model as the flow's reference: qonnx's executor on channels-last float inputs.

    It answers what the flow asks of its reference model (``input_shape``, ``predict``, ``count_params``),
    so the vector and RTL steps compare every level with QONNX's own execution, as integer codes.
    """

    def __init__(self, model, path: Path) -> None:
        self.model = model
        self.path = Path(path)
        self.in_name = model.graph.input[0].name
        self.out_name = model.graph.output[0].name
        self.onnx_in_shape = _shape(model, self.in_name)
        self.onnx_out_shape = _shape(model, self.out_name)
        self.input_shape = (None, *channels_last(self.onnx_in_shape))
        self.name = self.path.stem

    def count_params(self) -> int:
        """Weights and biases: the constants of more than one element (quantizer scales and widths are scalars)."""
        sizes = (int(np.prod(init.dims)) for init in self.model.graph.initializer)
        return int(sum(n for n in sizes if n > 1))

    def predict(self, x: np.ndarray, batch_size: int = 4096, verbose: int = 0) -> np.ndarray:
        """Latents of channels-last inputs, flattened channels-last (as micae's integer model orders them)."""
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.transformation.change_batchsize import ChangeBatchSize
        from qonnx.transformation.infer_shapes import InferShapes

        x = np.asarray(x, dtype=np.float32).reshape(len(x), *self.input_shape[1:])
        if len(self.onnx_in_shape) == 3:
            x = x.transpose(0, 3, 1, 2)
        outs = []
        for i in range(0, len(x), batch_size):
            chunk = np.ascontiguousarray(x[i : i + batch_size])
            model = self._batched(len(chunk), lambda m, n: m.transform(ChangeBatchSize(n)).transform(InferShapes()))
            y = execute_onnx(model, {self.in_name: chunk})[self.out_name]
            if y.ndim == 4:
                y = y.transpose(0, 2, 3, 1)
            outs.append(np.asarray(y, dtype=np.float64).reshape(len(chunk), -1))
        return np.concatenate(outs) if outs else np.zeros((0, int(np.prod(self.onnx_out_shape))))

    def _batched(self, n: int, change):
        cache = getattr(self, "_cache", {})
        if n not in cache:
            cache[n] = change(self.model, n)
        self._cache = cache
        return cache[n]
