"""QActivation: a quantizer (quantized_bits signed or unsigned, quantized_relu), or linear."""

from __future__ import annotations

from micae.errors import ConstraintError
from micae.graph.registry import handler
from micae.models.quantizers import fixed_type_of


@handler("QActivation")
def q_activation(step, low) -> None:
    q = step.layer.quantizer
    if getattr(q, "__name__", None) == "linear" or q == "linear":
        low.identity(step.name)
        low.layers.append((step.name, step.cls, "identity"))
        return
    if not hasattr(q, "bits"):
        raise ConstraintError(
            f"layer '{step.name}': QActivation({getattr(q, '__name__', q)}) is not a QKeras quantizer",
            "use QActivation(quantized_bits(...)) or QActivation(quantized_relu(...))",
        )
    role = "input quantizer" if low.mat_type is None else "quantizer"
    low.quantizer(step.name, fixed_type_of(q, f"layer '{step.name}'"))
    low.layers.append((step.name, step.cls, role))
