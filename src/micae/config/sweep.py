"""Sweep files (a grid) and search files (ranges for an Optuna study): their keys and what each takes.

The search space is a typed union: each searched key is a :class:`Range` (``{low, high, step, log}``) or a
list of choices. The run config of every point (``base`` + ``set`` + its values) and the ``synth:`` settings
are validated by their own schemas (:mod:`micae.config.run`, :mod:`micae.config.synth`) when the sweep loads.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Discriminator, Tag, model_validator

from micae.config.base import Schema
from micae.config.types import Check, Integer, Number, Text

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _plain_name(v: str | None) -> str | None:
    if v is not None and (not _NAME.fullmatch(v) or v.endswith(".incomplete")):
        raise ValueError("must be a plain folder name (letters, digits, '_', '-', '.')")
    return v


FolderName = Annotated[Text(null=True), Check(lambda v: _plain_name(v) == v, "must be a plain folder name")]


class _SweepBase(Schema):
    name: FolderName = None
    """the sweep's name: outputs go to <out>/<name>/ (none: the file name)"""
    base: Text()
    """run config of every point; a relative path is relative to the sweep file"""
    set: dict[str, Any] = {}
    """dotted config keys fixed for every point, e.g. dataset.n_samples: 20000"""
    labels: dict[str, Text()] = {}
    """short names of varied keys in point names (default: the last part of the key)"""
    synth: dict[str, Any] | None = None
    """micae synth options of every point (keys as in a run config's synth: block; checked when the sweep loads)"""

    @model_validator(mode="before")
    @classmethod
    def _none_is_empty(cls, data: Any) -> Any:
        """``set:`` or ``labels:`` written with nothing under them are empty."""
        if isinstance(data, dict):
            data = {**data, **{k: {} for k in ("set", "labels") if k in data and data[k] is None}}
        return data


NonEmptyList = Annotated[list[Any], Check(lambda v: len(v) > 0, "must be a non-empty list of values")]


class SweepFile(_SweepBase):
    """A grid sweep: every combination of the ``grid`` entries is a point."""

    grid: dict[str, NonEmptyList] = {}
    """dotted config keys -> the values they take; "a,b": [[1, 2], [3, 4]] varies a and b together"""


class Range(Schema):
    """A searched range: integers when low, high (and step) are integers, else floats."""

    low: Number()
    """smallest value"""
    high: Number()
    """largest value"""
    step: Number(gt=0, null=True) = None
    """grid of the range (none: continuous floats, or 1 for integers)"""
    log: Annotated[bool, Check(lambda v: isinstance(v, bool), "must be true or false")] = False
    """sample on a log scale"""

    @model_validator(mode="before")
    @classmethod
    def _ordered(cls, data: Any) -> Any:
        low, high = (data.get("low"), data.get("high")) if isinstance(data, dict) else (None, None)
        numbers = [v for v in (low, high) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == 2 and not numbers[0] < numbers[1]:
            raise ValueError(f"low {low!r} must be a number below high {high!r}")
        return data

    def as_dict(self, raw: dict) -> dict:
        """The form the study stores: ints stay ints (``{low, high, step, log}``)."""
        return {"low": raw["low"], "high": raw["high"], "step": raw.get("step"), "log": bool(raw.get("log", False))}


def _scalars(values: list) -> bool:
    return all(v is None or isinstance(v, (bool, int, float, str)) for v in values)


Choices = Annotated[
    list[Any],
    Check(lambda v: len(v) > 0, "must be a non-empty list of values"),
    Check(lambda v: len({repr(x) for x in v}) == len(v), "repeats a value: list distinct values"),
    Check(_scalars, "choices must be numbers or strings, e.g. [4, 6, 8]"),
]


def _space_kind(v: Any) -> str | None:
    return "range" if isinstance(v, dict) else ("choices" if isinstance(v, list) else None)


SearchValue = Annotated[
    Annotated[Range, Tag("range")] | Annotated[Choices, Tag("choices")],
    Discriminator(
        _space_kind,
        custom_error_type="search_space",
        custom_error_message="is not a range or a list: write {low: 8, high: 24, step: 4} (optional step, log) "
        "or a list of values",
    ),
]
"""One searched key: a :class:`Range` or a list of choices."""


class SearchFile(_SweepBase):
    """A search: an Optuna NSGA-II study proposes points from the ``search`` space."""

    search: Annotated[dict[str, SearchValue], Check(lambda v: len(v) > 0, "must be a non-empty mapping")]
    """dotted config keys -> a range {low, high, step, log} or a list of choices"""
    trials: Integer(ge=1) = 10
    """distinct points that train (repeats and prefiltered proposals do not count)"""
    objectives: Annotated[
        list[Text()] | None,
        Check(lambda v: v is None or (len(v) > 0 and len(set(v)) == len(v)), "must be a non-empty list, no repeats"),
    ] = None
    """what to minimise: quality (EMD for HGCAL data, else MSE), emd, mse, LUT, FF, DSP, ns, cycles, weights_nz
    (none: quality, LUT, ns)"""
    seed: Integer(ge=0) = 0
    """NSGA-II sampler seed"""
    population: Integer(ge=2, null=True) = None
    """NSGA-II population (none: trials / 2, between 4 and 50)"""
