"""One module per small family of Keras layers (and ``qonnx_ops``: the QONNX nodes); importing this package
registers them all."""

from micae.graph.handlers import affine, core, padding, pooling, qonnx_ops, quantizer, tfops  # noqa: F401
