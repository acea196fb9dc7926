"""The options of ``micae evaluate`` and ``micae data compare``: one schema each, from which the CLI (flags,
help, groups) is made and by which every value is validated (one-line errors naming the option)."""

from __future__ import annotations

from typing import Annotated

from micae.config.base import Schema
from micae.config.types import Check, Choice, Cli, Flag, Integer, Text
from micae.data.hgcal_presets import PRESETS

EVALUATE_KINDS = ("econt-csv", "npz", "hgcal-synth")
SYNTH_GROUP = "hgcal-synth (generated wafers; without --n/--seed: the run's own test split)"


def _elinks(value: str | None) -> bool:
    if value is None:
        return True
    parts = [v.strip() for v in value.split(",") if v.strip()]
    return bool(parts) and all(p.isdigit() and 1 <= int(p) <= 13 for p in parts)


class EvaluateOptions(Schema):
    """``micae evaluate``: which run, which data, which e-link counts, where the results go."""

    model: Annotated[Text(null=True), Cli(metavar="RUN")] = None
    """the training run folder (micae train's output, e.g. models/econt); without it, the chip's algorithms only
    (then --out is needed)"""
    data: Annotated[Text(null=True), Cli(metavar="FILE")] = None
    """the data file (an ECON-T CSV of CALQ_0..47, or an .npz of (N, 48) CALQ)"""
    dataset: Choice(*EVALUATE_KINDS, null=True) = None
    """the data's format (none: from the file name; hgcal-synth without --data)"""
    elinks: Annotated[
        Text(null=True), Check(_elinks, "must be comma-separated e-link counts 1..13, e.g. 2,3,4,5"), Cli(metavar="L,L")
    ] = None
    """comma-separated e-link counts to evaluate, each 1..13 (none: 2,3,4,5 and the run's own); the autoencoder is
    scored at the run's L only"""
    rows: Annotated[Text(null=True), Cli(metavar="START:STOP")] = None
    """consecutive rows START:STOP, as row numbers (0:3200, -800:) or fractions (0.8: = the last 20%); none: all"""
    preset: Annotated[Choice(*PRESETS, null=True), Cli(group=SYNTH_GROUP)] = None
    """generator preset (none: the run's)"""
    n: Annotated[Integer(ge=1, null=True), Cli(group=SYNTH_GROUP)] = None
    """generate this many fresh wafers (none: 10000 when --seed is given)"""
    seed: Annotated[Integer(ge=0, null=True), Cli(group=SYNTH_GROUP)] = None
    """generator seed of the fresh wafers (none: the run's seed + 1)"""
    out: Annotated[Text(null=True), Cli(metavar="DIR")] = None
    """output folder (none: <run>/evaluation/<data stem>/)"""
    force: Flag = False
    """replace an existing output folder"""

    def elink_list(self) -> list[int] | None:
        return None if self.elinks is None else [int(v) for v in self.elinks.split(",") if v.strip()]


class CompareOptions(Schema):
    """``micae data compare``: generated wafers of a preset beside a real ECON-T file."""

    synth: Choice(*PRESETS)
    """hgcal-synth preset to generate"""
    data: Annotated[Text(), Cli(metavar="FILE")]
    """real ECON-T CSV (with a CALQ_0..47 header or without)"""
    out: Annotated[Text(null=True), Cli(metavar="DIR")] = None
    """output folder (none: compare/<preset>_vs_<file stem>)"""
    n: Integer(ge=1) = 50_000
    """generated non-empty wafers"""
    seed: Integer(ge=0) = 0
    """generator seed"""
    force: Flag = False
    """replace an existing output folder's compare files"""
