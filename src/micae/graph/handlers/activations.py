"""Keras ReLU and LeakyReLU layers before a quantizer: exact piecewise-linear maps.

``ReLU`` (``max_value`` allowed) is a clip of the next quantizer's codes (the quantizer is monotonic
and maps 0 to 0). ``LeakyReLU`` with slope ``2**-k`` (``0 < k <= MAX_LEAK_SHIFT``) computes ``alpha * x``
exactly in float32 (a power of two only moves the exponent) and in fixed point (the binary point moves),
so the quantizer after it sees the same value. Any other slope ``a`` makes ``a * x`` a float32 product
that rounds to 24 bits, then the quantizer rounds again: reproducing that double rounding in fixed point
would need a constant multiplier and the float32 rounding rule, so it is refused.
"""

from __future__ import annotations

import math

from micae.errors import ConstraintError
from micae.graph.registry import handler

MAX_LEAK_SHIFT = 8
"""Slopes down to 2**-8: hls4ml holds the slope in its default ``fixed<16,6>`` parameter type exactly."""


def _power_of_two_shift(slope: float) -> int | None:
    if slope <= 0 or slope >= 1:
        return None
    mant, exp = math.frexp(slope)
    return 1 - exp if mant == 0.5 and 1 - exp <= MAX_LEAK_SHIFT else None


def _slope_fix(slope: float) -> str:
    near = min(range(1, MAX_LEAK_SHIFT + 1), key=lambda k: abs(2.0**-k - slope))
    return (
        f"train with a power-of-two slope such as alpha={2.0**-near:g} (2**-{near}; 2**-1 .. 2**-{MAX_LEAK_SHIFT} "
        "are exact), or use ReLU / quantized_relu"
    )


def leaky(step, low, slope: float) -> None:
    k = _power_of_two_shift(float(slope))
    if k is None:
        raise ConstraintError(
            f"layer '{step.name}' ({step.cls}, a Keras layer): slope {slope:g} is not a power of two "
            f"between 2**-{MAX_LEAK_SHIFT} and 1/2, so float32 rounds slope * x before the quantizer rounds "
            "again, which no fixed-point circuit reproduces bit for bit",
            _slope_fix(float(slope)),
        )
    low.leaky_relu(step.name, k)
    low.layers.append((step.name, step.cls, f"leaky relu, slope 2**-{k}"))


@handler("LeakyReLU")
def leaky_relu(step, low) -> None:
    cfg = step.layer.get_config()
    leaky(step, low, float(cfg.get("alpha", cfg.get("negative_slope", 0.3))))


@handler("ReLU")
def relu(step, low) -> None:
    cfg = step.layer.get_config()
    threshold = float(cfg.get("threshold") or 0.0)
    if threshold != 0.0:
        raise ConstraintError(
            f"layer '{step.name}' (ReLU, a Keras layer): threshold {threshold:g} is not supported",
            "use ReLU() with threshold 0, or fold the threshold into the bias",
        )
    slope = float(cfg.get("negative_slope") or 0.0)
    max_value = cfg.get("max_value")
    if slope != 0.0:
        if max_value is not None:
            raise ConstraintError(
                f"layer '{step.name}' (ReLU, a Keras layer): a negative slope with max_value",
                "use LeakyReLU, then a quantizer that saturates",
            )
        leaky(step, low, slope)
        return
    low.relu(step.name, None if max_value is None else float(max_value))
    low.layers.append((step.name, step.cls, "relu (a clip of the next quantizer)"))
