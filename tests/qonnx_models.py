"""QONNX encoders written with ``onnx.helper`` (no PyTorch): the graphs Brevitas and hls4ml's QONNX readers see.

``GraphBuilder`` adds nodes on one data path; ``qkeras_to_qonnx`` writes a QKeras encoder of the chip's shape
(quantized input -> QConv2D -> quantizer -> Flatten -> QDense -> quantizer) as the equivalent QONNX graph:
qonnx 1.0 no longer ships a QKeras converter (``qonnx.converters`` was removed) and qonnx 0.4, which has one,
pins protobuf 3.20.3, which does not resolve with TensorFlow 2.15's protobuf 4.25.
"""

from __future__ import annotations

import numpy as np

QONNX_DOMAIN = "qonnx.custom_op.general"


class GraphBuilder:
    """One data path from ``x`` (shape ``(1, *shape)``) through the added nodes."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        from onnx import TensorProto, helper

        self.helper, self.tp = helper, TensorProto
        self.nodes: list = []
        self.inits: list = []
        self.tensor = "x"
        self.input = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *shape])
        self.count = 0

    def const(self, value, name: str | None = None) -> str:
        self.count += 1
        name = name or f"c{self.count}"
        arr = np.asarray(value, dtype=np.float32)
        self.inits.append(self.helper.make_tensor(name, self.tp.FLOAT, arr.shape, arr.ravel().tolist()))
        return name

    def node(self, op: str, *consts: str, domain: str = "", **attrs) -> str:
        self.count += 1
        out = f"t{self.count}"
        name = f"{op.lower()}{self.count}"
        self.nodes.append(self.helper.make_node(op, [self.tensor, *consts], [out], name=name, domain=domain, **attrs))
        self.tensor = out
        return name

    def quant_params(self, scale, bits: int) -> list[str]:
        return [self.const(scale), self.const(0.0), self.const(float(bits))]

    def quant(self, bits: int, frac: int, signed: bool = True, narrow: bool = False, rounding="ROUND", scale=None):
        scale = 2.0**-frac if scale is None else scale
        return self.node(
            "Quant",
            *self.quant_params(scale, bits),
            domain=QONNX_DOMAIN,
            signed=int(signed),
            narrow=int(narrow),
            rounding_mode=rounding,
        )

    def quantized_const(self, values, bits: int, frac, narrow: bool = False) -> str:
        """A weight tensor through a Quant node (what Brevitas exports): ``Quant(init, 2**-frac, 0, bits)``;
        ``frac`` an array broadcast against ``values`` gives per-channel scales."""
        src = self.const(values)
        self.count += 1
        out = f"w{self.count}"
        self.nodes.append(
            self.helper.make_node(
                "Quant",
                [src, *self.quant_params(2.0 ** -np.asarray(frac, dtype=np.float64), bits)],
                [out],
                name=f"wq{self.count}",
                domain=QONNX_DOMAIN,
                signed=1,
                narrow=int(narrow),
                rounding_mode="ROUND",
            )
        )
        return out

    def model(self, out_shape: tuple[int, ...]):
        from onnx import helper

        output = helper.make_tensor_value_info(self.tensor, self.tp.FLOAT, [1, *out_shape])
        graph = helper.make_graph(self.nodes, "encoder", [self.input], [output], self.inits)
        opsets = [helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)]
        return helper.make_model(graph, opset_imports=opsets, producer_name="micae-tests")


def encoder(
    seed: int = 0,
    relu: bool = True,
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    maxpool: bool = False,
    pool_first: bool = False,
):
    """4x4x3 (C, H, W = 3, 4, 4) -> Quant -> Conv 3x3 s2 (+bias) -> Relu -> Quant(u8) [-> MaxPool] -> Flatten
    -> MatMul -> Add -> Quant(s9): the shallow encoder, as Brevitas would write it. ``pool_first``: the MaxPool
    between the Relu and the Quant (a pool on the unquantized accumulator)."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder((3, 4, 4))
    g.quant(8, 7)
    w = rng.integers(-32, 32, size=(4, 3, 3, 3)) / 32.0
    b = rng.integers(-16, 16, size=4) / 64.0
    stride = 1 if maxpool else 2
    g.node("Conv", g.quantized_const(w, 6, 5), kernel_shape=[3, 3], strides=[stride, stride], pads=list(pads))
    g.node("Add", g.const(b.reshape(1, 4, 1, 1)))
    if relu:
        g.node("Relu")
    if maxpool and pool_first:
        g.node("MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    g.quant(8, 5, signed=not relu)
    h = (4 + pads[0] + pads[2] - 3) // stride + 1
    wd = (4 + pads[1] + pads[3] - 3) // stride + 1
    if maxpool and not pool_first:
        g.node("MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    if maxpool:
        h, wd = h // 2, wd // 2
    g.node("Flatten", axis=1)
    n = 4 * h * wd
    dense = rng.integers(-64, 64, size=(n, 6)) / 64.0
    g.node("MatMul", g.quantized_const(dense, 7, 6))
    g.node("Add", g.const(rng.integers(-8, 8, size=6) / 32.0))
    g.quant(9, 5)
    return g.model((6,))


def gemm_encoder(seed: int = 0):
    """Quant -> Conv 3x3 s1 (bias input) -> Quant(u8) -> Flatten -> Gemm(transB, per-output-channel power-of-two
    weight scales, bias) -> Quant(s9): the forms a PyTorch ``nn.Linear`` export takes."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder((3, 4, 4))
    g.quant(8, 7)
    w = g.quantized_const(rng.integers(-32, 32, (4, 3, 3, 3)) / 32, 6, 5)
    g.node("Conv", w, g.const(rng.integers(-16, 16, 4) / 64), kernel_shape=[3, 3])
    g.quant(8, 5, signed=False)
    g.node("Flatten", axis=1)
    frac = np.array([6, 5, 7, 6, 4, 6]).reshape(6, 1)
    dense = g.quantized_const(rng.integers(-64, 64, (6, 16)) * 2.0**-frac, 7, frac)
    g.node("Gemm", dense, g.const(rng.integers(-8, 8, 6) / 32), transB=1)
    g.quant(9, 5)
    return g.model((6,))


def padded_bipolar_encoder(seed: int = 0):
    """Quant -> Pad (H 1/1, W 0/2) -> Conv 3x3 s2 -> Relu -> Quant(s6, narrow) -> Flatten -> MatMul of BipolarQuant
    weights -> Quant(s10)."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder((3, 4, 4))
    g.quant(8, 7)
    g.inits.append(g.helper.make_tensor("pads", g.tp.INT64, [8], [0, 0, 1, 0, 0, 0, 1, 2]))
    g.node("Pad", "pads", mode="constant")
    w = g.quantized_const(rng.integers(-32, 32, (4, 3, 3, 3)) / 32, 6, 5)
    g.node("Conv", w, kernel_shape=[3, 3], strides=[2, 2])
    g.node("Relu")
    g.quant(6, 3, narrow=True)
    g.node("Flatten", axis=1)
    w = g.const(rng.uniform(-1, 1, (16, 6)))
    g.nodes.append(g.helper.make_node("BipolarQuant", [w, g.const(0.5)], ["wb"], name="wbq", domain=QONNX_DOMAIN))
    g.node("MatMul", "wb")
    g.quant(10, 6)
    return g.model((6,))


def qkeras_to_qonnx(keras_model):
    """The QONNX graph of a QKeras encoder Input -> QActivation -> QConv2D -> QActivation -> Flatten -> QDense
    -> QActivation (quantized_bits / quantized_relu with alpha=1): the same weights and quantizers, NCHW."""
    from micae.models.quantizers import fixed_type_of

    layers = {type(layer).__name__: [] for layer in keras_model.layers}
    for layer in keras_model.layers:
        layers[type(layer).__name__].append(layer)
    h, w, c = keras_model.input_shape[1:]
    g = GraphBuilder((c, h, w))

    def quantizer(q):
        t = fixed_type_of(q, "test")
        relu = type(q).__name__ == "quantized_relu"
        if relu:
            g.node("Relu")
        g.quant(t.width, t.frac, signed=t.signed)

    acts = layers["QActivation"]
    quantizer(acts[0].quantizer)
    conv = layers["QConv2D"][0]
    kernel = np.asarray(conv.kernel_quantizer_internal(conv.kernel), dtype=np.float64)  # (kh, kw, in, out)
    kt = fixed_type_of(conv.kernel_quantizer_internal, "kernel")
    strides = [int(s) for s in conv.get_config()["strides"]]
    assert conv.get_config()["padding"] == "valid"
    g.node("Conv", g.const(kernel.transpose(3, 2, 0, 1)), kernel_shape=list(kernel.shape[:2]), strides=strides)
    if conv.use_bias:
        bias = np.asarray(conv.bias_quantizer_internal(conv.bias), dtype=np.float64)
        g.node("Add", g.const(bias.reshape(1, -1, 1, 1)))
    del kt
    quantizer(acts[1].quantizer)
    g.node("Flatten", axis=1)
    dense = layers["QDense"][0]
    ho, wo, co = conv.output_shape[1:]
    dk = np.asarray(dense.kernel_quantizer_internal(dense.kernel), dtype=np.float64)
    # Keras flattens (H, W, C), ONNX (C, H, W): the dense rows are permuted accordingly
    order = np.arange(ho * wo * co).reshape(ho, wo, co).transpose(2, 0, 1).ravel()
    g.node("MatMul", g.const(dk[order]))
    if dense.use_bias:
        g.node("Add", g.const(np.asarray(dense.bias_quantizer_internal(dense.bias), dtype=np.float64)))
    quantizer(acts[2].quantizer)
    return g.model((dk.shape[1],))
