"""The timing chart: per-pipeline-stage delays of every timing analysis against the requested clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.report.draw import figure, save
from micae.results.hardware import AnyAnalysis

KIND_COLOURS = {"place-and-route": "tab:blue", "vendor": "tab:purple", "logic-sta": "tab:cyan", "estimate": "0.6"}


def analysis_label(a: AnyAnalysis) -> str:
    return f"{a.target}: {a.tool.name} ({a.kind})"


def plot_stage_delays(analyses: list[AnyAnalysis], path: Path) -> bool:
    """Grouped bars: one group per pipeline stage, one bar per analysis; a dashed line at each clock period.

    Bars above their analysis' clock line are drawn hatched (that stage misses
    timing). Returns False (and draws nothing) when no analysis has stage delays.
    """
    shown = [a for a in analyses if a.stage_delays_ns]
    if not shown:
        return False
    n_stages = max(len(a.stage_delays_ns) for a in shown)
    width = 0.8 / len(shown)
    fig, ax = figure(1, 1, figsize=(min(3.0 + 0.9 * n_stages * len(shown), 11.0), 3.9))
    for k, a in enumerate(shown):
        delays = np.asarray(a.stage_delays_ns, dtype=float)
        pos = np.arange(len(delays)) + (k - (len(shown) - 1) / 2) * width
        colour = KIND_COLOURS.get(a.kind, f"C{k}")
        clock = a.clock_ns
        late = delays > clock if clock else np.zeros(len(delays), bool)
        ax.bar(pos[~late], delays[~late], width * 0.92, color=colour, label=analysis_label(a), alpha=0.85)
        if late.any():
            ax.bar(pos[late], delays[late], width * 0.92, color=colour, hatch="//", edgecolor="tab:red", alpha=0.85)
    for clock in sorted({float(a.clock_ns) for a in shown if a.clock_ns}):
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
    ax.set_xticks(np.arange(n_stages))
    ax.set_xticklabels([f"stage {i + 1}" for i in range(n_stages)], fontsize=8)
    ax.set_ylabel("delay (ns)")
    ax.set_title("Delay of each pipeline stage (hatched: longer than the clock period)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="upper left", framealpha=0.9)
    top = max(max(max(a.stage_delays_ns) for a in shown), max((a.clock_ns or 0) for a in shown))
    ax.set_ylim(0, top * 1.25)
    save(fig, path)
    return True
