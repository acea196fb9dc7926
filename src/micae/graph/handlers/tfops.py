"""The per-eLink output tail written as TF ops: ``minimum(floor(z * 2**k) / 2**k, sat)``.

Keras stores ``z * 16`` or ``tf.math.floor(z)`` as ``TFOpLambda`` layers; only
this allow-list is read (the loader refuses every other op before deserializing):
multiply/divide by a power of two (exact: the binary point moves), floor
(truncation), minimum/maximum by a constant (saturation), adding a constant
(exact: it joins a bias; micae's trainable form of the tail uses it).
"""

from __future__ import annotations

import math

from micae.errors import ConstraintError
from micae.graph.registry import handler
from micae.models.io import TF_OPS  # one allow-list: the loader refuses the rest before any code runs


def _constant(step) -> float:
    values = [v for v in step.args if isinstance(v, (int, float))]
    values += [v for k, v in step.kwargs.items() if k in ("y", "x") and isinstance(v, (int, float))]
    if len(values) != 1:
        raise ConstraintError(
            f"layer '{step.name}' ({step.function}) must combine the tensor with one numeric constant",
            "write the eLink tail as minimum(floor(z * 2**k) / 2**k, bound) with literal constants",
        )
    return float(values[0])


def _power_of_two(step, value: float) -> int:
    if value <= 0 or not math.log2(value).is_integer():
        raise ConstraintError(
            f"layer '{step.name}' ({step.function}) scales by {value!r}, not a power of two, which is not exact",
            "scale by 2**k",
        )
    return int(math.log2(value))


@handler("TFOpLambda")
def tf_op(step, low) -> None:
    fn = step.function
    if fn not in TF_OPS:
        raise ConstraintError(
            f"layer '{step.name}' (TF op {fn}) is not one micae reads; supported TF ops: {', '.join(TF_OPS)}",
            "write the eLink tail as minimum(floor(z * 2**k) / 2**k, bound)",
        )
    if fn == "math.floor":
        low.floor(step.name)
    elif fn == "math.multiply":
        low.scale(step.name, _power_of_two(step, _constant(step)))
    elif fn == "math.truediv":
        low.scale(step.name, -_power_of_two(step, _constant(step)))
    elif fn in ("math.add", "__operators__.add"):
        low.offset(step.name, _constant(step))
    elif fn == "math.subtract":
        low.offset(step.name, -_constant(step))
    else:
        low.clip(step.name, _constant(step), upper=fn == "math.minimum")
    low.layers.append((step.name, step.cls, f"tail {fn}"))
