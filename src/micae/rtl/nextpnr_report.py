"""Read nextpnr's ``--report`` JSON: Fmax, slack, and the critical path split into logic and routing.

nextpnr writes ``{"fmax": {clock: {"achieved", "constraint"}}, "critical_paths":
[{"from", "to", "path": [{"type", "delay", "from", "to", "net"?}, ...]}],
"utilization": {bel: {"used", "available"}}}``. Path segments are typed
``clk-to-q``, ``logic``, ``routing`` and ``setup``; clk-to-q and setup count as
logic delay, as nextpnr's own log does ("x ns logic, y ns routing").

The pipeline stage of the critical path is read from its launching register:
after yosys flattens the design, a register is named after the net its ``Q``
drives, so the register in front of da4ml stage ``k`` is called
``...core.stage<k>.<wire>...``, the encoder's output register ``...core_out...``
or ``...model_out...``, and the wrapper's ``...shift_in...``/``...shift_out...``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import Field

from micae.errors import ToolError
from micae.results.base import ResultModel
from micae.results.hardware import PnrCriticalPath

_STAGE = re.compile(r"(?:^|\.)core\.stage(\d+)\.")
_OUTPUT_REG = re.compile(r"(?:^|\.)(core_out|model_out)")
_WRAPPER = re.compile(r"(?:^|\.)?(shift_in|shift_out)")


def load_report(path: str | Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ToolError(f"cannot read the nextpnr report {path}: {exc}", "rerun place-and-route; see pnr.log") from exc


def classify_register(cell: str) -> str:
    """``"stage <k>"``, ``"output register"``, ``"wrapper"`` or ``"other"`` for a launching register's name."""
    m = _STAGE.search(cell)
    if m:
        return f"stage {int(m.group(1))}"
    if _OUTPUT_REG.search(cell):
        return "output register"
    if _WRAPPER.search(cell):
        return "wrapper"
    return "other"


class NextpnrTiming(ResultModel):
    """Timing and utilization of one nextpnr run against the requested clock."""

    clock: str
    """nextpnr's name of the clock net"""
    fmax_mhz: float
    period_ns: float
    slack_ns: float
    met: bool
    critical_path: str
    """one line"""
    critical: PnrCriticalPath | None
    utilization: dict[str, int] = Field(default_factory=dict)
    """bels used (> 0)"""
    available: dict[str, int] = Field(default_factory=dict)
    """the part's total of each bel used, as nextpnr reports it (so every device gets a share, not only the
    ones :mod:`micae.report.devices` lists)"""


def _path_summary(path: list[dict]) -> PnrCriticalPath:
    logic = sum(float(s["delay"]) for s in path if s["type"] != "routing")
    routing = sum(float(s["delay"]) for s in path if s["type"] == "routing")
    start = path[0]["from"]["cell"]
    end = path[-1]["to"]["cell"]
    carries = len(
        {s["from"]["cell"].split("$")[0] for s in path if s["type"] == "logic" and "CCU2" in s["from"]["cell"]}
    )
    return PnrCriticalPath(
        logic_ns=round(logic, 3),
        routing_ns=round(routing, 3),
        total_ns=round(logic + routing, 3),
        from_=start,
        to=end,
        launch=classify_register(start),
        capture=classify_register(end),
        segments=len(path),
        carry_cells=carries,
    )


def _clock_entry(report: dict) -> tuple[str, float]:
    fmax = report.get("fmax") or {}
    if not fmax:
        raise ToolError("the nextpnr report has no 'fmax' entry (no clocked paths?)", "check pnr.log for the clock net")
    name = min(fmax, key=lambda k: float(fmax[k]["achieved"]))
    return name, float(fmax[name]["achieved"])


def parse_report(report: dict, clock_ns: float) -> NextpnrTiming:
    """Timing and utilization of one nextpnr run, against the requested ``clock_ns``: the clock, Fmax, period,
    slack, met, the critical path (one line, and split into logic/routing with its launching stage) and the
    bels used."""
    clock, fmax = _clock_entry(report)
    period = 1000.0 / fmax
    paths = [p for p in report.get("critical_paths", []) if p.get("path")]
    same = [p for p in paths if clock in p.get("from", "") and clock in p.get("to", "")]
    crit = None
    text = "no register-to-register path reported"
    if same or paths:
        crit = _path_summary((same or paths)[0]["path"])
        text = (
            f"{crit.total_ns:.2f} ns = {crit.logic_ns:.2f} ns logic + {crit.routing_ns:.2f} ns routing, "
            f"{crit.launch} -> {crit.capture} ({crit.carry_cells} carry cells; "
            f"from {crit.from_} to {crit.to})"
        )
    used = {k: v for k, v in (report.get("utilization") or {}).items() if int(v.get("used", 0)) > 0}
    util = {k: int(v["used"]) for k, v in used.items()}
    available = {k: int(v["available"]) for k, v in used.items() if int(v.get("available", 0)) > 0}
    return NextpnrTiming(
        clock=clock,
        fmax_mhz=round(fmax, 2),
        period_ns=round(period, 3),
        slack_ns=round(clock_ns - period, 3),
        met=period <= clock_ns,
        critical_path=text,
        critical=crit,
        utilization=util,
        available=available,
    )
