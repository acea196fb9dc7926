"""The timing chart: per-pipeline-stage delays of every timing analysis against the requested clock, and the
critical path of a place-and-route (nextpnr reports one path, not a delay per stage) at the stage it starts in.

Stages are numbered as the RTL names them (``<top>_core_stage0.v`` is stage 0), the numbering of the critical
paths' text and of the logic-only STA's report: one numbering everywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from micae.report.draw import figure, save
from micae.results.hardware import AnyAnalysis, PnrAnalysis

KIND_COLOURS = {"place-and-route": "tab:blue", "vendor": "tab:purple", "logic-sta": "tab:cyan", "estimate": "0.6"}
_STAGE = re.compile(r"stage (\d+)$")


def analysis_label(a: AnyAnalysis) -> str:
    return f"{a.target}: {a.tool.name} ({a.kind})"


def critical_stage(a: AnyAnalysis) -> int | None:
    """The pipeline stage a place-and-route critical path starts in (None: a wrapper or output register)."""
    crit = a.critical if isinstance(a, PnrAnalysis) else None
    m = _STAGE.match(crit.launch) if crit is not None else None
    return int(m.group(1)) if m else None


def _routed_paths(analyses: list[AnyAnalysis]) -> list[PnrAnalysis]:
    return [a for a in analyses if isinstance(a, PnrAnalysis) and a.critical is not None and not a.stage_delays_ns]


def plot_stage_delays(analyses: list[AnyAnalysis], path: Path, *, top: str | None = None) -> dict | None:
    """Grouped bars: one group per pipeline stage, one bar per analysis with stage delays, and each
    place-and-route's critical path (logic + routing, stacked) at its launching stage; a dashed line at each
    clock period. Bars longer than their clock are hatched. Returns what was drawn (None: nothing to draw)."""
    shown = [a for a in analyses if a.stage_delays_ns]
    routed = _routed_paths(analyses)
    if not shown and not routed:
        return None
    n_stages = max([len(a.stage_delays_ns) for a in shown] + [(critical_stage(a) or 0) + 1 for a in routed])
    io_group = any(critical_stage(a) is None for a in routed)
    n_groups = n_stages + io_group
    slots = len(shown) + len(routed)
    width = 0.8 / slots
    fig, ax = figure(1, 1, figsize=(min(3.5 + 0.9 * n_groups * slots, 11.0), 4.1))
    late_any = False
    for k, a in enumerate(shown):
        delays = np.asarray(a.stage_delays_ns, dtype=float)
        pos = np.arange(len(delays)) + (k - (slots - 1) / 2) * width
        colour = KIND_COLOURS.get(a.kind, f"C{k}")
        late = delays > a.clock_ns if a.clock_ns else np.zeros(len(delays), bool)
        late_any |= bool(late.any())
        ax.bar(pos[~late], delays[~late], width * 0.92, color=colour, label=analysis_label(a), alpha=0.85)
        if late.any():
            ax.bar(pos[late], delays[late], width * 0.92, color=colour, hatch="//", edgecolor="tab:red", alpha=0.85)
    for j, a in enumerate(routed):
        crit = a.critical
        assert crit is not None
        stage = critical_stage(a)
        x = (n_stages if stage is None else stage) + (len(shown) + j - (slots - 1) / 2) * width
        colour = KIND_COLOURS["place-and-route"]
        late = crit.total_ns > a.clock_ns
        late_any |= late
        label = f"{a.target}: {a.tool.name} critical path, logic"
        ax.bar([x], [crit.logic_ns], width * 0.92, color=colour, label=label, hatch="//" if late else None)
        ax.bar(
            [x],
            [crit.routing_ns],
            width * 0.92,
            bottom=[crit.logic_ns],
            color=colour,
            alpha=0.4,
            label=f"{a.target}: {a.tool.name} critical path, routing",
            hatch="//" if late else None,
        )
        ax.annotate(
            f"{crit.total_ns:.2f} ns",
            (x, crit.total_ns),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )
    clocks = sorted({float(a.clock_ns) for a in shown + routed if a.clock_ns})
    for clock in clocks:
        ax.axhline(clock, color="tab:red", ls="--", lw=1.2)
        ax.annotate(
            f"requested clock {clock:g} ns",
            (1.0, clock),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color="tab:red",
        )
    names = [f"stage {i}" + (f"\n{top}_core_stage{i}" if top else "") for i in range(n_stages)]
    ax.set_xticks(np.arange(n_groups))
    ax.set_xticklabels(names + (["I/O register"] if io_group else []), fontsize=7)
    ax.set_ylabel("delay (ns)")
    title = "Delay of each pipeline stage against the requested clock"
    ax.set_title(title + (" (hatched: longer than the clock)" if late_any else ""), fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    tops = [max(a.stage_delays_ns) for a in shown] + [a.critical.total_ns for a in routed if a.critical]
    ax.set_ylim(0, max(tops + clocks) * 1.35)
    save(fig, path)
    return {"stages": n_stages, "routed": [a.target for a in routed], "hatched": late_any}
