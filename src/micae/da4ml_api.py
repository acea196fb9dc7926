"""What micae needs from da4ml beyond the names its public API exports, reached without its internals.

micae imports da4ml only from the modules da4ml's packages export (``da4ml.cmvm``,
``da4ml.trace``, ``da4ml.codegen``) and only the names in their ``__all__``
(tests/test_da4ml_public_api.py fails on anything else). Three things micae needs
have no public name there, in da4ml 0.5 or 0.6, so they live here, each built
from public means and each saying why:

* the pipeline type (:func:`pipeline_type`): da4ml exports ``to_pipeline`` but not
  the ``Pipeline`` it returns (0.5 defines it in ``da4ml.cmvm.types``, 0.6 in
  ``da4ml.types``: neither is exported). micae needs the class to make a one-stage
  pipeline and to read back a saved one; the public function's declared return
  type names it.
* the width of a value range (:func:`kif`): da4ml's ``minimal_kif`` is private in
  0.5 (``_minimal_kif``) and unexported in 0.6. It is "the narrowest type that holds
  a range", which micae has once (:meth:`micae.fixed.types.FixedType.holding`);
  tests check it against da4ml's public ``CombLogic.inp_kifs``/``out_kifs``.
* whether a traced variable is stored negated (:func:`stored_negated`): da4ml 0.5's
  ``msb_mux`` tests the stored sign bit, so for a negated variable it answers
  "> 0" instead of "< 0" (da4ml 0.6 fixed it with ``zt_sensitive``).
  :func:`micae.fixed.traced.if_negative` must know, and only the variable's
  private scale factor says it: the one private attribute micae reads.
"""

from __future__ import annotations

import inspect
import math
from functools import cache
from typing import Any

from da4ml.cmvm import CombLogic
from da4ml.trace import to_pipeline

from micae.fixed.types import FixedType

Pipeline = Any
"""da4ml's pipeline (a tuple of :class:`CombLogic` stages, ``.solutions``); see :func:`pipeline_type`."""


@cache
def pipeline_type() -> type:
    """The class ``da4ml.trace.to_pipeline`` returns (its declared return type)."""
    cls = inspect.signature(to_pipeline).return_annotation
    if not isinstance(cls, type) or not hasattr(cls, "load"):
        raise ImportError(
            f"da4ml.trace.to_pipeline no longer declares its return type ({cls!r}); update micae.da4ml_api"
        )
    return cls


def one_stage(comb: CombLogic) -> Pipeline:
    """``comb`` as a pipeline of one stage (registers at its input and output only)."""
    return pipeline_type()((comb,))


def load_pipeline(path) -> Pipeline:
    """A pipeline saved with its ``save`` method (``da4ml_pipeline.json``)."""
    return pipeline_type().load(str(path))


def kif(qint) -> tuple[int, int, int]:
    """da4ml's ``(keep_negative, integer, fractional)`` bits of a ``QInterval(min, max, step)``; zero is absent."""
    lo_v, hi_v, step = (float(v) for v in qint)
    if lo_v == hi_v == 0:
        return 0, 0, 0
    frac = int(-math.log2(step))
    t = FixedType.holding(round(lo_v / step), round(hi_v / step), frac)
    k = int(t.signed)
    return k, t.width - k - frac, frac


def kif_width(qint) -> int:
    """Bits of a value range (0 for a constant zero)."""
    return sum(kif(qint))


def stored_negated(v) -> bool:
    """Whether da4ml stores the traced variable ``v`` negated (its private scale factor is negative)."""
    return v._factor < 0
