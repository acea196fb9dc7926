"""The flow machinery without TensorFlow: step ordering and concurrency, errors, the report's single verdict,
headline and latency source, and --require-timing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from micae.errors import ConfigError, TimingError
from micae.flow import _timing_error
from micae.flow.context import FlowContext
from micae.flow.request import SynthRequest
from micae.flow.results import LevelResult, RouteResult, SynthReport, TimingAnalysis
from micae.flow.runner import Step, run_steps


def _report() -> SynthReport:
    return SynthReport(model={}, options={}, vectors={}, paths={"firmware": "/fw", "hls_project": "/hls"})


def _ctx() -> FlowContext:
    return FlowContext(
        request=SynthRequest(model=Path("m.h5")),
        name="m",
        model_file=Path("m.h5"),
        run_dir=None,
        hls_dir=Path("/hls"),
        fw_dir=Path("/fw"),
        report=_report(),
    )


def _level(name: str, mismatches: int) -> LevelResult:
    return LevelResult(name, comparison={"vectors": 10, "mismatches": mismatches, "first_mismatches": []})


def test_independent_steps_run_at_once_and_results_keep_registry_order():
    both_running = threading.Barrier(2, timeout=5)

    def slow(name):
        def run(ctx):
            both_running.wait()  # deadlocks (BrokenBarrierError) unless the two run concurrently
            time.sleep(0.05 if name == "a" else 0)
            return [_level(name, 0)]

        return run

    steps = [
        Step("first", lambda ctx: [_level("first", 0)]),
        Step("a", slow("a"), needs=("first",)),
        Step("b", slow("b"), needs=("first",)),
        Step("last", lambda ctx: [_level("last", 0)]),
    ]
    ctx = _ctx()
    run_steps(steps, ctx, workers=2)
    assert list(ctx.report.verification) == ["first", "a", "b", "last"]


def test_a_step_that_needs_a_later_step_is_refused():
    with pytest.raises(ValueError, match="'a' needs \\['b'\\]"):
        run_steps([Step("a", lambda c: [], needs=("b",)), Step("b", lambda c: [])], _ctx())


def test_a_failing_step_stops_the_flow_and_later_steps_never_start():
    started = []

    def boom(ctx):
        raise ConfigError("broken input", "fix it")

    steps = [Step("boom", boom), Step("after", lambda c: started.append("after") or [])]
    with pytest.raises(ConfigError, match="broken input"):
        run_steps(steps, _ctx())
    assert started == []


def test_verdict_is_false_on_any_mismatch_and_skipped_levels_do_not_count():
    report = _report()
    report.add(_level("csim", 0))
    report.add(LevelResult("vendor_csim", status="skipped", reason="no tool"))
    assert report.ok is True
    bad = _report()
    bad.add(_level("csim", 0))
    bad.add(_level("rtl", 3))
    assert bad.ok is False and bad.failed_levels == ["rtl"]
    assert bad.to_json()["ok"] is False


def _rtl_route(cycles=5) -> RouteResult:
    lat = {"cycles_min": cycles, "cycles_max": cycles, "interval": 1, "interval_max": 1, "clock_ns": 5.0}
    return RouteResult("micae rtl", "open-source", {"LUT": 100}, lat)


def _timing(kind, met, fmax, target="LIFCL-40") -> TimingAnalysis:
    return TimingAnalysis(
        target=target,
        tool={"name": "t", "version": "1"},
        kind=kind,
        clock_ns=5.0,
        fmax_mhz=fmax,
        slack_ns=None,
        met=met,
    )


def test_headline_prefers_an_identified_vendor_route_and_never_an_unidentified_tool():
    report = _report()
    report.add(RouteResult("hls csynth", "unidentified tool (not a vendor run)", {"LUT": 1}, None))
    report.add(_rtl_route())
    assert report.headline.route == "micae rtl"
    vendor = _report()
    vendor.add(_rtl_route())
    vendor.add(RouteResult("hls csynth", "vendor", {"LUT": 2}, {"cycles_max": 10, "clock_ns": 5.0}))
    assert vendor.headline.route == "hls csynth"
    assert vendor.to_json()["latency"]["ns_source"].startswith("vendor HLS estimate")


def test_latency_ns_comes_from_place_and_route_over_logic_sta_and_says_so():
    report = _report()
    report.add(_rtl_route(cycles=5))
    report.add(_timing("logic-sta", True, 300.0))
    report.add(_timing("place-and-route", False, 125.0))  # 8 ns achieved
    lat = report.to_json()["latency"]
    assert lat["ns"] == 40.0 and lat["clock_ns"] == 8.0
    assert lat["ns_source"].startswith("place-and-route") and lat["verified"] is False
    assert report.timing_met is False
    met = _report()
    met.add(_rtl_route(cycles=5))
    met.add(_timing("place-and-route", True, 210.0))
    lat = met.to_json()["latency"]
    assert lat["ns"] == 25.0 and lat["verified"] is True and met.timing_met is True


def test_logic_sta_alone_is_a_labelled_lower_bound_never_verified():
    report = _report()
    report.add(_rtl_route(cycles=4))
    report.add(_timing("logic-sta", True, 250.0))
    lat = report.to_json()["latency"]
    assert lat["verified"] is False and "lower bound" in lat["ns_note"] and lat["ns"] == 20.0
    assert report.timing_met is None  # no sign-off analysis ran


def test_no_analysis_keeps_the_requested_clock_and_says_it_is_unchecked():
    report = _report()
    report.add(_rtl_route(cycles=5))
    lat = report.to_json()["latency"]
    assert lat["ns"] == 25.0 and lat["ns_source"] == "requested clock, not checked by a timing tool"


def test_require_timing_error_names_fmax_and_the_clock_that_would_fit():
    report = _report()
    report.add(_rtl_route())
    report.add(_timing("place-and-route", False, 95.0))
    err = _timing_error(report)
    assert isinstance(err, TimingError) and err.exit_code == 4
    assert "timing not met at 5.0 ns" in err.problem and "95.0 MHz" in err.problem
    assert "10.53 ns" in err.fix


def test_require_timing_without_a_routed_analysis_is_refused_up_front():
    with pytest.raises(ConfigError, match="--require-timing needs"):
        SynthRequest(model=Path("m.h5"), require_timing=True).validate()
    SynthRequest(model=Path("m.h5"), require_timing=True, pnr="nexus").validate()
