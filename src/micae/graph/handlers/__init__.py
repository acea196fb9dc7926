"""One module per small family of Keras layers (and ``qonnx_ops``: the QONNX nodes); importing this package
registers them all."""

from micae.graph.handlers import (  # noqa: F401
    activations,
    affine,
    batchnorm,
    core,
    hgq,
    padding,
    pooling,
    qonnx_ops,
    quantizer,
    tfops,
)
