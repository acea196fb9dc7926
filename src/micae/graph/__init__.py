"""The layer-graph front end: a Keras encoder -> an ordered chain of exact ops -> ``IntegerEncoder``.

One handler per Keras layer class (:mod:`micae.graph.handlers`, registered by
class name like hls4ml's ``@keras_handler``) reads the layer into the
:class:`~micae.graph.lower.Lowering`, which folds reshapes, padding and crops
into the neighbouring matrices and records the exact types of every layer's
tensors (:class:`~micae.fixed.ops.LayerTypes`; :mod:`micae.hls.precision` turns them
into hls4ml precisions). The RTL route traces the lowered stages (:mod:`micae.rtl.trace`).
"""

from micae.graph.registry import HANDLERS, supported_layers

__all__ = ["HANDLERS", "supported_layers"]
