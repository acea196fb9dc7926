"""Verification levels: integer latent codes compared with QKeras', or why a level did not run (report.json's
``verification``), and what a simulator returns (:mod:`micae.rtl.verilator`, :mod:`micae.rtl.simulate`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from micae.results.base import Maybe, Plain, ResultModel

LevelStatus = Literal["ran", "skipped", "no results", "no report"]
Mismatch = list[Plain]
"""``[vector index, expected codes, got codes]``, and the vector's source once a level names it."""


class Comparison(ResultModel):
    """Integer codes compared (:func:`micae.verify.compare.compare_codes`, or a simulator's own count)."""

    vectors: int
    values: Maybe[int] = None
    mismatches: int
    """vectors with at least one differing latent"""
    mismatched_values: Maybe[int] = None
    identical_fraction: Maybe[float] = None
    max_abs_lsb_error: int | None
    """None when some output never arrived or was X"""
    first_mismatches: list[Mismatch] = []
    error: Maybe[str] = None
    mismatch_rows: Maybe[list[int]] = None
    """every mismatching row (in memory only: a level keeps mismatches_by_source instead)"""


class SimulationResult(Comparison):
    """An RTL simulation of every vector: the comparison and how it ran."""

    seconds: float
    jobs: int
    simulator: str
    build_seconds: Maybe[float] = None
    run_seconds: Maybe[float] = None
    cached: Maybe[bool] = None
    note: Maybe[str] = None


class LevelResult(ResultModel):
    """One verification level. A level that compared vectors holds its comparison (``vectors`` is set);
    one that did not holds ``status`` and ``reason``."""

    level: str = Field(exclude=True)
    """the level's name (the key in report.json's verification)"""
    status: Maybe[LevelStatus] = None
    reason: Maybe[str] = None
    vectors: Maybe[int] = None
    values: Maybe[int] = None
    mismatches: Maybe[int] = None
    mismatched_values: Maybe[int] = None
    identical_fraction: Maybe[float] = None
    max_abs_lsb_error: Maybe[int] = None
    first_mismatches: Maybe[list[Mismatch]] = None
    error: Maybe[str] = None
    mismatches_by_source: Maybe[dict[str, int]] = None
    # how it ran
    run: Maybe[str] = None
    """vendor levels: 'vendor' or the unidentified tool's label"""
    log: Maybe[str] = None
    simulator: Maybe[str] = None
    seconds: Maybe[float] = None
    jobs: Maybe[int] = None
    build_seconds: Maybe[float] = None
    run_seconds: Maybe[float] = None
    cached: Maybe[bool] = None
    note: Maybe[str] = None
    subset: Maybe[str] = None

    @property
    def compared(self) -> bool:
        return self.vectors is not None

    @property
    def mismatch_count(self) -> int:
        return int(self.mismatches or 0)

    @property
    def state(self) -> str:
        return "ran" if self.compared else (self.status or "skipped")

    @classmethod
    def skipped(cls, level: str, reason: str, status: LevelStatus = "skipped", **how: Any) -> LevelResult:
        return cls(level=level, status=status, reason=reason, **how)

    @classmethod
    def from_comparison(cls, level: str, comparison: Comparison, by_source: dict[str, int], **how: Any) -> LevelResult:
        data = comparison.model_dump(exclude_unset=True, exclude={"mismatch_rows"})
        return cls(level=level, **{**data, "mismatches_by_source": by_source, **how})
