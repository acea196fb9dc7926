"""Pareto fronts (quality against hardware cost) and the sweep's Pareto plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path


def _number(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def pareto_front(points: Sequence[tuple]) -> list[bool]:
    """For (cost, loss) pairs, both minimised: True where no other point dominates.

    A point is dominated when another is no worse in both and strictly better in
    one; equal points are all on the front. Pairs with a missing (None/NaN)
    value are never on it.
    """
    vals = [(_number(a), _number(b)) for a, b in points]
    front = []
    for i, (a, b) in enumerate(vals):
        if a is None or b is None:
            front.append(False)
            continue
        dominated = any(
            j != i and c is not None and d is not None and c <= a and d <= b and (c < a or d < b)
            for j, (c, d) in enumerate(vals)
        )
        front.append(not dominated)
    return front


def quality_key(rows: list[dict]) -> str:
    """EMD when every finished point has one, else MSE."""
    done = [r for r in rows if r.get("status") in ("ok", "mismatch")]
    if done and all(_number(r.get("emd_mean")) is not None for r in done):
        return "emd_mean"
    return "test_mse"


def latency_key(rows: list[dict]) -> str:
    """Latency in ns when every point with cycles has it, else cycles."""
    with_cycles = [r for r in rows if _number(r.get("cycles")) is not None]
    if with_cycles and all(_number(r.get("ns")) is not None for r in with_cycles):
        return "ns"
    return "cycles"


def cost_key(rows: list[dict]) -> str:
    """LUTs when any point has them, else the nonzero-weight count (a proxy, until an RTL route runs)."""
    if any(_number(r.get("LUT")) is not None for r in rows):
        return "LUT"
    return "weights_nz"


def mark_fronts(rows: list[dict]) -> dict[str, list[bool]]:
    """Front membership of every row in the quality-LUT and quality-latency planes.

    Without any LUT numbers (no RTL/vendor route ran) the cost plane uses the
    nonzero-weight count ``weights_nz`` instead.

    Sets ``row["pareto"]`` to 1 on either front, 0 if the point has data for a
    plane but is dominated there, and "" when it has no cost numbers at all.
    """
    q, cost, lat = quality_key(rows), cost_key(rows), latency_key(rows)
    ok = [r.get("status") in ("ok", "mismatch") for r in rows]
    fronts = {}
    for plane, key in (("LUT", cost), ("latency", lat)):
        pairs = [(r.get(key), r.get(q)) if good else (None, None) for r, good in zip(rows, ok)]
        fronts[plane] = pareto_front(pairs)
    for i, row in enumerate(rows):
        has = (
            ok[i]
            and _number(row.get(q)) is not None
            and (_number(row.get(cost)) is not None or _number(row.get(lat)) is not None)
        )
        row["pareto"] = int(fronts["LUT"][i] or fronts["latency"][i]) if has else ""
    return fronts


def plot_pareto(rows: list[dict], path: Path, *, title: str = "", label_key: str = "point") -> None:
    """Quality against LUTs and against latency; front points joined and every point annotated."""
    from micae.report.draw import figure, save

    q, cost, lat = quality_key(rows), cost_key(rows), latency_key(rows)
    fronts = mark_fronts([dict(r) for r in rows])
    cost_label = "LUTs" if cost == "LUT" else "nonzero weights (proxy: no LUT numbers)"
    fig, axes = figure(1, 2, figsize=(11, 4.3), squeeze=False)
    for ax, (plane, key, xlabel) in zip(axes[0], (("LUT", cost, cost_label), ("latency", lat, f"latency ({lat})"))):
        pts = [
            (i, _number(r.get(key)), _number(r.get(q)))
            for i, r in enumerate(rows)
            if r.get("status") in ("ok", "mismatch")
        ]
        pts = [(i, x, y) for i, x, y in pts if x is not None and y is not None]
        ax.set_xlabel(xlabel)
        ax.set_ylabel("EMD mean" if q == "emd_mean" else "test MSE")
        ax.set_title(f"{'EMD' if q == 'emd_mean' else 'MSE'} vs {xlabel.split(' (')[0]}")
        if not pts:
            ax.text(
                0.5,
                0.5,
                f"no {xlabel} numbers\n(RTL route off or not available)",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="0.4",
            )
            continue
        on = [(x, y) for i, x, y in pts if fronts[plane][i]]
        off = [(x, y) for i, x, y in pts if not fronts[plane][i]]
        if off:
            ax.scatter(*zip(*off), color="0.6", label="dominated", zorder=2)
        if on:
            on.sort()
            ax.plot(*zip(*on), "-o", color="C3", label="Pareto front", zorder=3)
        for i, x, y in pts:
            ax.annotate(str(rows[i].get(label_key, i)), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    save(fig, path)
