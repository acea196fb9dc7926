"""QONNX encoder -> hls4ml project through hls4ml's ONNX reader, with micae's exact precisions.

hls4ml 1.3.0 reads ONNX graphs that qonnx has prepared (its docs: cleaned, channels-last, ``Gemm`` as
``MatMul`` + ``Add``). micae prepares a copy of the user's graph that way and a little further, each step
exact: weight ``Quant``/``BipolarQuant`` nodes become the constants they compute (micae's integer model
already holds their codes; hls4ml would otherwise fuse only per-tensor scales), the graph's input becomes
channels-last (H, W, C, as micae's vectors, RTL and the Keras route's projects read it), ``Conv`` and ``MaxPool``
get their default attributes written out (qonnx's channels-last pass requires them), a zero ``Pad`` right before
a ``Conv`` becomes its ``pads``, a per-channel bias ``Add`` after a ``Conv`` becomes its bias input, and any other
bias ``Add`` gets a 1-D constant (hls4ml's ``Add`` cannot broadcast an (1, 1, 1, C) one).

Precisions: the input, every weight, bias and accumulator, and the result of every layer between quantizers
(Relu, MaxPool, Flatten) are micae's (``micae.hls.precision``'s strings).
hls4ml writes each activation ``Quant``'s result type itself from the node (ROUND -> ``RND_CONV``, FLOOR ->
``TRN``, ``SAT``, narrow -> ``SAT_SYM``): the same type micae's integer model has, which
:func:`check_output_type` confirms for the latent. What hls4ml cannot convert exactly is refused by
:func:`refusal` before anything is written.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from micae.errors import ToolError
from micae.fixed.graph import IntegerEncoder
from micae.hls.precision import hls_precision
from micae.log import progress

HLS_READS = ("Quant", "Conv", "MatMul", "Gemm", "Add", "Relu", "Flatten", "Reshape", "MaxPool", "Pad")
"""The data-path ops micae converts through hls4ml (checked exact by the c_model level)"""
DEFAULT_ATTRS = {
    "Conv": {"dilations": [1, 1], "group": 1, "pads": [0, 0, 0, 0], "strides": [1, 1]},
    "MaxPool": {"pads": [0, 0, 0, 0], "strides": [1, 1]},
}
"""ONNX's defaults, written out: qonnx's channels-last Conv and MaxPool require them"""
PREPARED_FILE = "qonnx_for_hls4ml.onnx"
REFERENCE = "the latents of qonnx's executor (the QONNX graph's own execution)"
"""what the project's expected outputs (tb_data) are"""
README_NOTE = f"""- `{PREPARED_FILE}`: the graph hls4ml converted: the QONNX graph prepared by micae with qonnx,
  each step exact: channels-last, the input included, so the inputs are (H, W, C) flattened as micae's RTL reads them
  (the original graph's input is (C, H, W)); weight Quant nodes folded into their constants; Gemm as
  MatMul + Add; a Conv's bias Add as its bias input.
"""
SKIPPED = "C model, csim and vendor levels skipped; the integer model and the RTL levels are exact"


def refusal(reference) -> str | None:
    """Why hls4ml cannot convert this QONNX graph exactly (naming the node, its op and the fix), or None."""
    from micae.graph.onnx_front import data_path

    for step in data_path(reference.model):
        where = f"node '{step.name}' ({step.cls})"
        if step.cls == "Trunc":
            return (
                f"{where}: hls4ml 1.3.0's ONNX reader has no Trunc; {SKIPPED}. For the hls4ml project, use a Quant "
                "with rounding_mode FLOOR at the scale s*2**(in_bits - out_bits) (the same codes, a larger scale)"
            )
        if step.cls not in HLS_READS and step.cls not in ("Identity", "Dropout"):
            return f"{where}: micae does not convert this op through hls4ml; {SKIPPED}"
        if step.cls == "Pad" and [n.op_type for n in reference.model.find_consumers(step.node.output[0])] != ["Conv"]:
            return (
                f"{where}: micae converts a Pad through hls4ml only right before a Conv (as the Conv's pads; "
                f"hls4ml 1.3.0's own Pad layer breaks the next layer's code generation); {SKIPPED}. For the hls4ml "
                "project, pad right before the Conv, or in its pads attribute"
            )
        if step.cls == "Quant":
            signed, narrow = int(step.attrs.get("signed", 1)), int(step.attrs.get("narrow", 0))
            if narrow and not signed:
                return (
                    f"{where}: an unsigned narrow Quant, which hls4ml 1.3.0 does not convert (narrow is only its "
                    f"symmetric saturation of signed types); {SKIPPED}. For the hls4ml project, use narrow=0"
                )
        if step.cls == "Add" and _varies_over_positions(step):
            return (
                f"{where}: its addend varies over H and W; hls4ml's Conv2D holds one bias per channel; {SKIPPED}. "
                "For the hls4ml project, add a per-channel bias"
            )
    return None


def _varies_over_positions(step) -> bool:
    value = np.broadcast_to(step.consts.get(1, np.zeros(1)), (1, *step.in_shape))[0]
    if value.ndim != 3:
        return False
    return not np.all(value == value[:, :1, :1])


def prepare(reference):
    """The graph hls4ml's ONNX reader expects, every step exact (see the module docstring)."""
    from onnx import helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    from micae.graph.onnx_front import QUANT_OPS, constant_value

    model = ModelWrapper(copy.deepcopy(reference.model.model))  # a copy: the reference keeps its graph
    for node in list(model.graph.node):
        if node.op_type in QUANT_OPS and node.output[0] != model.graph.output[0].name:
            value = constant_value(model, node.output[0])
            if value is not None:
                model.set_initializer(node.output[0], value.astype(np.float32))
                model.graph.node.remove(node)
        elif node.op_type == "Quant" and _attr(node, "rounding_mode") == "HALF_EVEN":
            _set_attr(node, "rounding_mode", "ROUND")  # qonnx's ROUND is np.round: half to even as well
        elif node.op_type in DEFAULT_ATTRS:
            for key, default in DEFAULT_ATTRS[node.op_type].items():
                if not any(a.name == key for a in node.attribute):
                    node.attribute.append(helper.make_attribute(key, default))
    _fold_pads_into_convs(model)
    _fold_conv_bias_adds(model)
    model = cleanup_model(model)
    if len(model.get_tensor_shape(model.graph.input[0].name)) == 4:
        model = model.transform(ConvertToChannelsLastAndClean(make_input_channels_last=True))
    model = cleanup_model(model.transform(GemmToMatMul()))
    for node in model.graph.node:
        if node.op_type == "Add":
            for tensor in node.input:
                value = model.get_initializer(tensor)
                if value is not None and value.ndim > 1 and value.size == value.shape[-1]:
                    model.set_initializer(tensor, value.reshape(-1))
    return cleanup_model(model)


def _fold_pads_into_convs(model) -> None:
    """A zero ``Pad`` right before a ``Conv`` becomes the Conv's ``pads`` (exact: the same zeros). hls4ml 1.3.0's
    own Pad layer breaks the code generation of the Conv after it (its line buffer does not split)."""
    for pad in [n for n in model.graph.node if n.op_type == "Pad"]:
        users = model.find_consumers(pad.output[0]) or []
        if len(users) != 1 or users[0].op_type != "Conv":
            continue
        amounts = model.get_initializer(pad.input[1]) if len(pad.input) > 1 else _attr(pad, "pads")
        conv = users[0]
        before = [int(v) for v in (_attr(conv, "pads") or [0, 0, 0, 0])]
        h0, w0, h1, w1 = (int(np.ravel(amounts)[i]) for i in (2, 3, 6, 7))
        _set_attr(conv, "pads", [before[0] + h0, before[1] + w0, before[2] + h1, before[3] + w1])
        conv.input[0] = pad.input[0]
        model.graph.node.remove(pad)


def _fold_conv_bias_adds(model) -> None:
    """A per-channel constant ``Add`` right after a ``Conv`` becomes the Conv's bias input (exact: one sum of
    codes on a shared grid). hls4ml would make it an ApplyAlpha whose fusion into the Conv2D breaks on outputs
    wider than 1x1 (it multiplies the kernel by a scale broadcast to the output shape)."""
    for add in [n for n in model.graph.node if n.op_type == "Add"]:
        conv = model.find_producer(add.input[0])
        addend = model.get_initializer(add.input[1]) if len(add.input) == 2 else None
        if conv is None or conv.op_type != "Conv" or addend is None or len(model.find_consumers(conv.output[0])) != 1:
            continue
        out_shape = model.get_tensor_shape(conv.output[0])
        value = np.broadcast_to(addend, out_shape)[0]
        if value.ndim != 3 or not np.all(value == value[:, :1, :1]):
            continue
        bias = value[:, 0, 0].astype(np.float64)
        if len(conv.input) > 2 and conv.input[2]:
            bias = bias + np.asarray(model.get_initializer(conv.input[2]), dtype=np.float64).reshape(-1)
            model.set_initializer(conv.input[2], bias.astype(np.float32))
        else:
            name = model.make_new_valueinfo_name()
            model.set_initializer(name, bias.astype(np.float32))
            conv.input.append(name)
        conv.output[0] = add.output[0]
        model.graph.node.remove(add)


def _attr(node, name: str):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            value = helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return None


def _set_attr(node, name: str, value) -> None:
    from onnx import helper

    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(helper.make_attribute(name, value))


MAPPED_OPS = {"Conv": "Conv", "MatMul": "MatMul", "Gemm": "MatMul", "Quant": "Quant", "Relu": "Relu"}
MAPPED_OPS.update({op: op for op in ("MaxPool", "Flatten", "Reshape")})
"""user's op -> the prepared graph's op, for the nodes that keep their order (Pad, bias Adds and Transposes do not)"""


def node_names(encoder: IntegerEncoder, prepared) -> dict[str, str]:
    """micae's layer name -> the prepared graph's node name: the i-th Conv (MatMul/Gemm, Quant, Relu, ...) of the
    user's data path is the i-th of the prepared one (qonnx renames nodes; the order of the data path stays)."""
    from micae.graph.onnx_front import data_path

    names: dict[str, str] = {}
    theirs_all = [(MAPPED_OPS.get(step.cls), step.name) for step in data_path(prepared)]
    for op in set(MAPPED_OPS.values()):
        ours = [name for name, cls, _ in encoder.layers if MAPPED_OPS.get(cls) == op]
        theirs = [name for kind, name in theirs_all if kind == op]
        if len(ours) != len(theirs):
            raise ToolError(
                f"the graph prepared for hls4ml has {len(theirs)} {op} nodes on its data path, micae's integer model "
                f"{len(ours)}",
                "report this model to micae's developers (the QONNX preparation changed the graph's layers)",
            )
        names.update(zip(ours, theirs))
    return names


def hls_config(prepared, encoder: IntegerEncoder, options) -> dict:
    """hls4ml's per-name config of the prepared graph with micae's types: the input, every weight, bias and
    accumulator, and the result of every layer between quantizers (Relu, MaxPool, Flatten; hls4ml's default
    ``fixed<16,6>`` would cut them)."""
    import hls4ml

    config = hls4ml.utils.config_from_onnx_model(prepared, granularity="name", backend=options.backend)
    config["Model"]["Strategy"] = options.strategy
    config["Model"]["ReuseFactor"] = options.reuse
    layers = config.setdefault("LayerName", {})
    for entry in layers.values():
        if "ReuseFactor" in entry:
            entry["ReuseFactor"] = options.reuse
        if "Strategy" in entry or options.strategy != "Latency":
            entry["Strategy"] = options.strategy
    input_name = _hls_name(prepared.graph.input[0].name)
    layers.setdefault(input_name, {})["Precision"] = {"result": hls_precision(encoder.input_type, "half_even")}
    types = {t.layer: t for t in encoder.tensor_types()}
    for ours, theirs in node_names(encoder, prepared).items():
        t = types[ours]
        if t.rounding is not None:  # a Quant: hls4ml writes its type from the node (the module docstring)
            continue
        prec = layers.setdefault(_hls_name(theirs), {}).setdefault("Precision", {})
        if not isinstance(prec, dict):
            prec = layers[_hls_name(theirs)]["Precision"] = {}
        if t.weight is None:  # values pass through: micae's lossless type
            prec.update({"result": hls_precision(t.result), "accum": hls_precision(t.result)})
            continue
        prec.update({"weight": hls_precision(t.weight), "accum": hls_precision(t.accum)})
        if t.bias is not None:
            prec["bias"] = hls_precision(t.bias)
        prec["result"] = "auto"  # the accumulator's, then the Quant after it (and hls4ml fuses a MatMul's bias Add)
    return config


def _hls_name(name: str) -> str:
    """hls4ml's name of an ONNX tensor or node (``onnx_to_hls.replace_char_inconsitency``)."""
    return name.replace(".", "_")


def convert(reference, encoder: IntegerEncoder, out_dir: Path, name: str, options):
    """Write the hls4ml project of a QONNX graph into ``out_dir`` and return the hls4ml model."""
    import hls4ml

    from micae.hls.convert import project_settings

    options.validate()
    with progress("hls4ml: prepare the QONNX graph (qonnx: channels-last, Gemm -> MatMul)"):
        prepared = prepare(reference)
    config = hls_config(prepared, encoder, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    graph_file = out_dir / PREPARED_FILE  # the graph hls4ml converted ships with the project (its yml names it)
    prepared.save(str(graph_file))
    with progress("hls4ml: convert (ONNX reader)"):
        model = hls4ml.converters.convert_from_onnx_model(
            str(graph_file), **project_settings(config, out_dir, name, options)
        )
    check_output_type(model, encoder)
    with progress("hls4ml: write project"):
        model.write()
    return model


def check_output_type(model, encoder: IntegerEncoder) -> None:
    """hls4ml's output type must be micae's latent type (its rounding and saturation come from the last Quant)."""
    precision = model.get_output_variables()[0].type.precision
    t = encoder.latent_type
    got = (int(precision.width), int(precision.width - precision.integer), bool(precision.signed))
    if got != (t.width, t.frac, t.signed):
        raise ToolError(
            f"hls4ml's output type {precision} is not micae's latent type {hls_precision(t)}",
            "end the encoder with a Quant node right after its last MatMul/Gemm (+ bias Add)",
        )
