"""One module per small family of Keras layers; importing this package registers them all."""

from micae.graph.handlers import activations, affine, batchnorm, core, padding, pooling, quantizer, tfops  # noqa: F401
