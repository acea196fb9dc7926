"""Input, pass-through and reshaping layers: identity at inference, folded into the next matrix."""

from __future__ import annotations

import numpy as np

from micae.errors import ConstraintError
from micae.graph.registry import handler


@handler("InputLayer")
def input_layer(step, low) -> None:
    low.layers.append((step.name, step.cls, "input"))


@handler("Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout")
def inference_identity(step, low) -> None:
    low.identity(step.name)
    low.layers.append((step.name, step.cls, "identity at inference"))


@handler("Activation")
def activation(step, low) -> None:
    act = step.layer.get_config().get("activation")
    if act == "relu":
        low.relu(step.name)
        low.layers.append((step.name, step.cls, "relu (a clip of the next quantizer)"))
        return
    if act != "linear":
        raise ConstraintError(
            f"layer '{step.name}' (Activation {act!r}) is a float activation, which cannot be bit-exact",
            "replace it by a QActivation(quantized_relu(...)) or QActivation(quantized_bits(...))",
        )
    low.identity(step.name)
    low.layers.append((step.name, step.cls, "identity"))


@handler("Flatten", "Reshape")
def reshape(step, low) -> None:
    out_shape = tuple(int(v) for v in step.layer.output_shape[1:])
    if int(np.prod(out_shape)) != low.n:
        raise ConstraintError(f"layer '{step.name}': reshape to {out_shape} changes the size", "keep the size")
    # channels_last row-major order: Flatten and Reshape keep every element's flat position
    low.remap(step.name, np.arange(low.n), out_shape)
    low.layers.append((step.name, step.cls, "reshape"))
