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
from micae.flow.results import ReportDraft, SynthReport
from micae.flow.runner import Step, run_steps
from micae.results.hardware import Latency, LogicStaAnalysis, PnrAnalysis, Resources, RouteResult, ToolInfo
from micae.results.levels import LevelResult
from micae.results.report import ModelSection, Paths, ReportOptions, VectorsSection


class _Report:
    """Results filed like the runner files them; ``build()`` decides the verdict, headline and latency once."""

    def __init__(self) -> None:
        self.draft = ReportDraft(
            model=ModelSection(name="m", file="m.h5", input_shape=[4], parameters=1, exact=True),
            vectors=VectorsSection(total=10, sources={"random_grid": 10}),
        )

    def add(self, result) -> None:
        self.draft.file(result)

    def build(self) -> SynthReport:
        return self.draft.finish(
            options=ReportOptions(), paths=Paths(firmware="/fw", hls_project="/hls"), version="t", timing_s={}
        )


def _report() -> _Report:
    return _Report()


def _ctx() -> FlowContext:
    return FlowContext(
        request=SynthRequest(model=Path("m.h5")),
        name="m",
        model_file=Path("m.h5"),
        run_dir=None,
        hls_dir=Path("/hls"),
        fw_dir=Path("/fw"),
    )


def _level(name: str, mismatches: int) -> LevelResult:
    return LevelResult(level=name, vectors=10, mismatches=mismatches, max_abs_lsb_error=0, first_mismatches=[])


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
    draft = run_steps(steps, _ctx(), workers=2)
    assert list(draft.verification) == ["first", "a", "b", "last"]


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
    report.add(LevelResult.skipped("vendor_csim", "no tool"))
    assert report.build().ok is True
    bad = _report()
    bad.add(_level("csim", 0))
    bad.add(_level("rtl", 3))
    assert bad.build().ok is False and bad.build().failed_levels == ["rtl"]
    assert bad.build().to_json()["ok"] is False


def _rtl_route(cycles=5) -> RouteResult:
    lat = Latency(cycles_min=cycles, cycles_max=cycles, interval=1, interval_max=1, clock_ns=5.0)
    return RouteResult(route="micae rtl", kind="open-source", resources=Resources(LUT=100), latency=lat)


def _timing(kind, met, fmax, target="LIFCL-40"):
    cls = {"place-and-route": PnrAnalysis, "logic-sta": LogicStaAnalysis}[kind]
    return cls(target=target, tool=ToolInfo(name="t", version="1"), clock_ns=5.0, fmax_mhz=fmax, slack_ns=None, met=met)


def test_headline_prefers_an_identified_vendor_route_and_never_an_unidentified_tool():
    report = _report()
    report.add(RouteResult(route="hls csynth", kind="unidentified tool (not a vendor run)", resources=Resources(LUT=1)))
    report.add(_rtl_route())
    assert report.build().headline.route == "micae rtl"
    vendor = _report()
    vendor.add(_rtl_route())
    hls_lat = Latency(cycles_min=10, cycles_max=10, interval=1, clock_ns=5.0, ns=50.0)
    vendor.add(RouteResult(route="hls csynth", kind="vendor", resources=Resources(LUT=2), latency=hls_lat))
    assert vendor.build().headline.route == "hls csynth"
    assert vendor.build().to_json()["latency"]["ns_source"].startswith("vendor HLS estimate")


def test_latency_ns_comes_from_place_and_route_over_logic_sta_and_says_so():
    report = _report()
    report.add(_rtl_route(cycles=5))
    report.add(_timing("logic-sta", True, 300.0))
    report.add(_timing("place-and-route", False, 125.0))  # 8 ns achieved
    lat = report.build().to_json()["latency"]
    assert lat["ns"] == 40.0 and lat["clock_ns"] == 8.0
    assert lat["ns_source"].startswith("place-and-route") and lat["verified"] is False
    assert report.build().timing_met is False
    met = _report()
    met.add(_rtl_route(cycles=5))
    met.add(_timing("place-and-route", True, 210.0))
    lat = met.build().to_json()["latency"]
    assert lat["ns"] == 25.0 and lat["verified"] is True and met.build().timing_met is True


def test_logic_sta_alone_is_a_labelled_lower_bound_never_verified():
    report = _report()
    report.add(_rtl_route(cycles=4))
    report.add(_timing("logic-sta", True, 250.0))
    lat = report.build().to_json()["latency"]
    assert lat["verified"] is False and "lower bound" in lat["ns_note"] and lat["ns"] == 20.0
    assert report.build().timing_met is None  # no sign-off analysis ran


def test_no_analysis_keeps_the_requested_clock_and_says_it_is_unchecked():
    report = _report()
    report.add(_rtl_route(cycles=5))
    lat = report.build().to_json()["latency"]
    assert lat["ns"] == 25.0 and lat["ns_source"] == "requested clock, not checked by a timing tool"


def test_require_timing_error_names_fmax_and_the_clock_that_would_fit():
    report = _report()
    report.add(_rtl_route())
    report.add(_timing("place-and-route", False, 95.0))
    err = _timing_error(report.build())
    assert isinstance(err, TimingError) and err.exit_code == 4
    assert "timing not met at 5.0 ns" in err.problem and "95.0 MHz" in err.problem
    assert "10.53 ns" in err.fix


def test_require_timing_without_a_routed_analysis_is_refused_up_front():
    with pytest.raises(ConfigError, match="--require-timing needs"):
        SynthRequest(model=Path("m.h5"), require_timing=True).validate()
    SynthRequest(model=Path("m.h5"), require_timing=True, pnr="nexus").validate()


# Packages whose __init__ imports their own submodules but are never imported from a step thread: sweep and
# findings drive whole flows, micae.config is imported by micae.flow.request before any step, and evaluate and
# metrics only by the report, which is written on the main thread after the steps.
NOT_IMPORTED_BY_STEPS = {"micae.sweep", "micae.findings", "micae.config", "micae.evaluate", "micae.metrics"}


def _packages_importing_their_submodules() -> set[str]:
    import ast

    src = Path(__file__).resolve().parents[1] / "src"
    found = set()
    for init in (src / "micae").rglob("__init__.py"):
        package = ".".join(init.parent.relative_to(src).parts)
        tree = ast.parse(init.read_text())
        for node in tree.body:  # module level only: an import inside a function runs later, in one thread
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(package + "."):
                found.add(package)
    return found


def test_every_package_a_step_may_import_lazily_is_imported_before_the_step_threads_start():
    """The sweep tests' ImportError ('partially initialized module micae.rtl'): two step threads importing a
    package and its submodule at once deadlock. A package added later whose __init__ imports its submodules
    must be pre-imported too; this names it. Checked in a fresh interpreter, where nothing is imported yet."""
    import json
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "from micae.flow.runner import _import_packages\n"
        "before = sorted(m for m in sys.modules if m.startswith('micae.'))\n"
        "_import_packages()\n"
        "print(json.dumps([before, sorted(m for m in sys.modules if m.startswith('micae.'))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    needed = _packages_importing_their_submodules() - NOT_IMPORTED_BY_STEPS
    assert "micae.rtl" in needed and "micae.rtl" not in before  # the package of the original failure
    assert needed - set(after) == set(), "add these to micae.flow.runner.PACKAGES_IMPORTING_SUBMODULES"


def test_rtl_vectors_below_the_main_set_simulate_the_main_set_and_say_so(capsys):
    import numpy as np

    from micae.flow.context import VectorSet
    from micae.flow.steps.rtl_vectors import rtl_vector_set

    ctx = _ctx()
    ctx.request = SynthRequest(model=Path("m.h5"), rtl_vectors=3)
    ctx.vectors = VectorSet(x=np.zeros((5, 2)), codes=np.arange(10).reshape(5, 2), slices={"test_split": slice(0, 5)})
    assert rtl_vector_set(ctx) is ctx.vectors  # all 5, not 3: every level sees the same vectors
    assert "--rtl-vectors 3 is below the main vector set (5 vectors, --vectors)" in capsys.readouterr().err
