"""Steps run alone against a fake context (no TensorFlow, no tools): the place-and-route / timing-closure step
with stand-in nextpnr results, and the rule that a step's returned results are all it adds to the report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from micae.flow.context import FlowContext
from micae.flow.request import SynthRequest
from micae.flow.results import ReportDraft, SkippedAnalysis
from micae.flow.steps import rtl as rtl_step
from micae.flow.steps import timing
from micae.results.hardware import PnrAnalysis, ToolInfo
from micae.results.rtl import Da4mlInfo, Port, Ports, RtlSection, TimingEstimate
from micae.rtl import pnr as pnr_module

CLOCK = 10.0


def _cut(cycles: int, predicted: float, calibration: str, timing_driven: bool = True) -> RtlSection:
    """The RTL section of a cut with ``cycles`` stages (what cut_rtl leaves in ctx.rtl)."""
    port = Port(width=8, frac=7, signed=False, count=4, order="j", bus_width=32)
    return RtlSection(
        top="enc",
        ports=Ports(input=port, output=port),
        latency_cycles=cycles,
        clock_ns=CLOCK,
        files=["enc.v"],
        vectors=10,
        rounding="half_even",
        da4ml=Da4mlInfo(
            version="0.5.2",
            cost=100.0,
            latency_cutoff=None if timing_driven else 5.0,
            pipelining="timing-driven (micae delay model)" if timing_driven else "adder levels (da4ml rule)",
            stages=cycles - 1,
            adder_levels=7.0,
            register_bits=64,
        ),
        timing_estimate=TimingEstimate(predicted_period_ns=predicted, calibration=calibration),
        input_columns=[0, 1, 2, 3],
        input_positions=4,
    )


class FakeModel:
    """A delay model corrected after the k-th miss (stands in for micae.rtl.delay_model's)."""

    def __init__(self, k: int) -> None:
        self.k = k


CUTS = {"nexus": _cut(3, 9.0, "family"), 1: _cut(4, 8.0, "corrected once"), 2: _cut(5, 7.0, "corrected twice")}


@pytest.fixture
def fake_tools(monkeypatch, tmp_path):
    """nextpnr answers with the given periods in turn; cutting the RTL gives CUTS' sections."""
    calls: dict = {"pnr": [], "cuts": []}
    periods: list[float] = []

    def cut_rtl(ctx, family):
        key = family.k if isinstance(family, FakeModel) else family
        calls["cuts"].append(key)
        ctx.rtl = CUTS[key]
        return ctx.rtl

    def recut(ctx, model, entry):
        new = FakeModel(1 if model is None else model.k + 1)
        cut_rtl(ctx, new)
        return new

    def nextpnr(rtl_dir, top, *, family, device, clock_ns, seed, timeout_s, work_dir):
        period = periods.pop(0)
        calls["pnr"].append((Path(work_dir).name, period))
        return PnrAnalysis(
            target="LIFCL-40-9BG400C",
            tool=ToolInfo(name="nextpnr-nexus", version="stand-in"),
            clock_ns=clock_ns,
            fmax_mhz=round(1000.0 / period, 2),
            period_ns=period,
            slack_ns=round(clock_ns - period, 3),
            met=period <= clock_ns,
            critical_path=f"{period} ns stand-in path",
            work_dir=str(work_dir),
        )

    monkeypatch.setattr(rtl_step, "cut_rtl", cut_rtl)
    monkeypatch.setattr(timing, "_recut", recut)
    monkeypatch.setattr(pnr_module, "place_and_route", nextpnr)
    return calls, periods


def _ctx(tmp_path, *, timing_driven=True, **settings) -> FlowContext:
    settings = {"pnr": "nexus", "clock_ns": CLOCK, "close_timing": 2, **settings}
    ctx = FlowContext(
        request=SynthRequest(model=Path("m.h5"), **settings),
        name="m",
        model_file=Path("m.h5"),
        run_dir=None,
        hls_dir=tmp_path / "hls",
        fw_dir=tmp_path / "fw",
        fw_stage=tmp_path / "fw.incomplete",
        rtl_dir=tmp_path / "fw.incomplete" / "rtl",
    )
    ctx.rtl = CUTS["nexus"] if timing_driven else _cut(3, 9.0, "family", timing_driven=False)
    return ctx


def test_a_miss_then_a_met_recut_ships_the_recut_and_records_both(tmp_path, fake_tools):
    calls, periods = fake_tools
    periods += [12.0, 9.5]
    ctx = _ctx(tmp_path)
    analysis, section = timing.place_and_route(ctx)
    assert calls["pnr"] == [("pnr", 12.0), ("pnr_recut1", 9.5)]  # stopped at the first cut that met
    assert calls["cuts"] == [1]
    assert analysis.met is True and analysis.fmax_mhz == pytest.approx(1000 / 9.5, abs=0.01)
    assert analysis.work_dir == "pnr_recut1"  # relative to the firmware folder, never the staging one
    first, recut = analysis.closure
    assert (first.cycles, first.measured_period_ns, first.met, first.shipped) == (3, 12.0, False, False)
    assert (first.predicted_period_ns, first.delay_model) == (9.0, "family")
    assert (recut.cycles, recut.measured_period_ns, recut.met, recut.shipped) == (4, 9.5, True, True)
    assert (recut.work_dir, recut.delay_model) == ("pnr_recut1", "corrected once")
    # the RTL that ships (and that the RTL levels verify) is the re-cut: the step returns its section
    assert section is ctx.rtl and section.latency_cycles == 4


def test_a_slower_recut_is_dropped_and_the_faster_first_cut_written_again(tmp_path, fake_tools):
    calls, periods = fake_tools
    periods += [11.0, 12.0]
    ctx = _ctx(tmp_path, close_timing=1)
    analysis, section = timing.place_and_route(ctx)
    assert calls["cuts"] == [1, "nexus"]  # re-cut, then the first cut again (deterministic)
    assert analysis.met is False and analysis.period_ns == 11.0 and analysis.work_dir == "pnr"
    assert [a.shipped for a in analysis.closure] == [True, False]
    assert [a.measured_period_ns for a in analysis.closure] == [11.0, 12.0]
    assert section.latency_cycles == 3 and ctx.rtl.latency_cycles == 3


def test_closure_stops_after_close_timing_attempts_and_keeps_the_fastest(tmp_path, fake_tools):
    calls, periods = fake_tools
    periods += [13.0, 12.0, 11.0]
    analysis, section = timing.place_and_route(_ctx(tmp_path, close_timing=2))
    assert [w for w, _ in calls["pnr"]] == ["pnr", "pnr_recut1", "pnr_recut2"]
    assert [a.shipped for a in analysis.closure] == [False, False, True]
    assert analysis.period_ns == 11.0 and section.latency_cycles == 5


def test_a_met_first_cut_and_an_adder_level_cut_are_placed_once(tmp_path, fake_tools):
    calls, periods = fake_tools
    periods += [9.0]
    (analysis,) = timing.place_and_route(_ctx(tmp_path))
    assert analysis.met is True and "closure" not in analysis.to_json()
    periods += [14.0]  # a miss, but the RTL was not cut by a delay model: nothing to correct
    (analysis,) = timing.place_and_route(_ctx(tmp_path, timing_driven=False))
    assert analysis.met is False and calls["cuts"] == []


def test_pnr_off_and_no_vivado_say_why_they_did_not_run(tmp_path, fake_tools, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no vivado
    assert timing.place_and_route(_ctx(tmp_path, pnr="off")) == [SkippedAnalysis("place-and-route", "--pnr off")]
    (skipped,) = timing.vivado(_ctx(tmp_path))
    assert skipped.analysis == "vendor" and "not on PATH" in skipped.reason
    no_rtl = _ctx(tmp_path)
    no_rtl.rtl_dir = no_rtl.rtl = None
    assert timing.place_and_route(no_rtl) == [] and timing.vivado(no_rtl) == []


def _artifacts(ctx: FlowContext) -> dict:
    return {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)}


def test_what_a_step_returns_is_all_it_adds_to_the_report(tmp_path, fake_tools):
    """Steps have one output channel: the context holds no report, a step changes only the artifact it makes
    (here ctx.rtl, the cut that ships), and the report is exactly the runner filing what the step returned."""
    assert "report" not in {f.name for f in dataclasses.fields(FlowContext)}
    calls, periods = fake_tools
    periods += [12.0, 9.5]
    ctx = _ctx(tmp_path)
    before = _artifacts(ctx)
    returned = timing.place_and_route(ctx)
    after = _artifacts(ctx)
    assert {k for k in before if before[k] is not after[k]} == {"rtl"}
    draft = ReportDraft()
    for result in returned:
        draft.file(result)
    assert draft.timing == [returned[0]] and draft.rtl is returned[1]
    assert draft == ReportDraft(timing=[returned[0]], rtl=returned[1])  # nothing else was filed
    # a section returned by a later step replaces the earlier one (the re-cut RTL replaces the first cut)
    filed = ReportDraft(rtl=CUTS["nexus"])
    for result in returned:
        filed.file(result)
    assert filed.rtl.latency_cycles == 4


def test_the_runner_refuses_what_is_not_a_step_result():
    with pytest.raises(TypeError, match="dict"):
        ReportDraft().file({"level": "csim"})
