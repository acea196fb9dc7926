"""What every stage kind provides, and the types of one Keras layer's tensors.

A stage is one step of the exact integer model (:class:`micae.fixed.graph.IntegerEncoder`).
Its op module (:mod:`micae.fixed.ops`) holds all of its meaning, so the consumers never
switch on its kind:

* integer semantics -- ``accumulate`` then ``requantize`` (the model verification compares with);
* the precision rule -- ``acc_type`` (the exact accumulator) and ``layer_types`` (every tensor of
  its Keras layer: the lowering records them, :mod:`micae.hls.precision` writes them for hls4ml);
* its RTL -- ``trace``: the same arithmetic as da4ml traced operations (:mod:`micae.fixed.traced`);
* its description -- ``describe`` (report.json's stage entry) and ``summary`` (one line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from micae.fixed.types import FixedType

if TYPE_CHECKING:
    from micae.fixed.ops.quantize import Quantizer


@dataclass(frozen=True)
class LayerTypes:
    """The fixed-point types of one Keras layer's tensors in the integer model.

    ``result`` is the layer's output; ``rounding`` is set when the layer is a quantizer
    (``half_even`` or ``floor``, then it also saturates) and None when values pass through.
    ``weight``, ``bias`` and ``accum`` belong to layers with a matrix. ``own_quantizer``
    marks the quantizer a QConv2D/QDense applies itself (its ``activation``). How hls4ml
    names and spells these is :mod:`micae.hls.precision`'s business.
    """

    layer: str
    result: FixedType
    rounding: str | None = None
    weight: FixedType | None = None
    bias: FixedType | None = None
    accum: FixedType | None = None
    own_quantizer: bool = False


class Stage(Protocol):
    """The interface of a stage kind (see the module docstring); ``quantizer`` is None for a stage that
    does not round (a max-pool)."""

    name: str
    kind: str
    out: FixedType
    quantizer_name: str

    @property
    def n_in(self) -> int: ...

    @property
    def n_out(self) -> int: ...

    @property
    def quantizer(self) -> Quantizer | None: ...

    def acc_frac(self, in_type: FixedType) -> int: ...

    def accumulate(self, x: np.ndarray, in_type: FixedType) -> np.ndarray: ...

    def requantize(self, acc: np.ndarray, in_type: FixedType) -> np.ndarray: ...

    def acc_range(self, in_type: FixedType) -> tuple[int, int]: ...

    def acc_type(self, in_type: FixedType) -> FixedType: ...

    def layer_types(self, in_type: FixedType) -> LayerTypes: ...

    def trace(self, x, rounding: str): ...

    def describe(self, in_type: FixedType) -> dict: ...

    def summary(self) -> str: ...
