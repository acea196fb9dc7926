"""One results row per sweep point, from the files the point left behind; results.csv.

The hardware cells are read from the point's typed report.json (:func:`micae.results.report.load_report`):
the headline route, its resources and the latency with its source are the ones the synthesize flow decided,
never re-picked here; a report.json of an older micae is carried over by the report's one migration."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from micae.errors import DataError
from micae.results.base import Plain, ResultModel, first_error
from micae.results.metrics import Metrics, load_metrics
from micae.results.report import SynthReport, load_report
from micae.sweep.layout import PointPaths

CHIP_COLUMNS = [
    "elinks",
    "ae_emd_ge16",
    "chip_bc_emd_mean",
    "chip_bc_emd_ge16",
    "chip_stc4_emd_mean",
    "chip_stc4_emd_ge16",
    "chip_stc16_emd_mean",
    "chip_threshold_emd_mean",
]
"""The run's e-link count and, on its test split at that L (metrics.json ``elinks``), the autoencoder's EMD on
wafers with >= 16 lit cells and the chip's Best Choice, STC4, STC16 and Threshold-Sum (mean, and >= 16 lit)."""
METRIC_COLUMNS = [
    "test_mse",
    "emd_mean",
    "emd_median",
    "float_mse",
    "float_emd_mean",
    "pca_tied_mse",
    "pca_tied_emd_mean",
    "pca_joint_mse",
    "pca_joint_emd_mean",
    "compression",
    "latent_bits",
    *CHIP_COLUMNS,
]
HW_COLUMNS = ["LUT", "FF", "DSP", "cycles", "ns", "ns_source", "route", "weights_nz", "mismatches"]


RUN_COLUMNS = ["seconds", "worker", "host"]
ROWS_SCHEMA_VERSION = 1
"""results.csv's schema_version column (the last one)."""


def columns(grid_keys: list[str]) -> list[str]:
    return [
        *grid_keys,
        "point",
        "status",
        *METRIC_COLUMNS,
        *HW_COLUMNS,
        *RUN_COLUMNS,
        "pareto",
        "error",
        "schema_version",
    ]


Cell = float | int | str | None


class SweepRow(ResultModel):
    """One row of results.csv, typed: the point's grid values, its status, the quality of its training run
    (metrics.json), the headline hardware figures the synthesize flow decided (report.json) and how it ran. An
    empty cell is None. :func:`load_rows` reads results.csv back into these."""

    schema_version: int = ROWS_SCHEMA_VERSION
    grid: dict[str, Plain]
    """grid key (e.g. encoder.latent) -> value"""
    point: str
    status: str
    """ok, mismatch, failed, skipped, pending (running, for a study's point)"""
    error: str = ""
    test_mse: float | None = None
    emd_mean: float | None = None
    emd_median: float | None = None
    float_mse: float | None = None
    float_emd_mean: float | None = None
    pca_tied_mse: float | None = None
    pca_tied_emd_mean: float | None = None
    pca_joint_mse: float | None = None
    pca_joint_emd_mean: float | None = None
    compression: float | None = None
    latent_bits: int | None = None
    # CHIP_COLUMNS: the run's e-link count and the chip's algorithms there (metrics.json elinks)
    elinks: int | None = None
    ae_emd_ge16: float | None = None
    chip_bc_emd_mean: float | None = None
    chip_bc_emd_ge16: float | None = None
    chip_stc4_emd_mean: float | None = None
    chip_stc4_emd_ge16: float | None = None
    chip_stc16_emd_mean: float | None = None
    chip_threshold_emd_mean: float | None = None
    LUT: int | None = None
    FF: int | None = None
    DSP: int | None = None
    cycles: int | None = None
    ns: float | None = None
    ns_source: str | None = None
    route: str | None = None
    weights_nz: int | None = None
    mismatches: int | None = None
    seconds: float | None = None
    worker: str | None = None
    host: str | None = None
    pareto: int | None = None

    def cells(self) -> dict[str, Cell]:
        """The row as results.csv cells (grid keys first; None as the empty string)."""
        data = self.model_dump(exclude={"grid"})
        return {**self.grid, **{k: ("" if v is None else v) for k, v in data.items()}}

    @classmethod
    def from_cells(cls, cells: dict[str, Any], grid_keys: list[str]) -> SweepRow:
        """A row from results.csv cells (text) or from a row's cells; unknown columns (a study's) are ignored."""
        known = set(cls.model_fields) - {"grid"}
        fields = cls.model_fields
        values = {
            k: (None if v in ("", None) and fields[k].default is None else v) for k, v in cells.items() if k in known
        }
        values.setdefault("schema_version", 0)
        return cls(grid={k: cells.get(k) for k in grid_keys}, **values)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_report(path: Path) -> SynthReport | None:
    """A point's report.json, typed; None when it is missing or cannot be read (the row says so in its error)."""
    try:
        return load_report(path)
    except DataError:
        return None


def hardware_cells(report: SynthReport | None) -> dict:
    """LUT/FF/DSP/cycles/ns/route/mismatches of the headline the flow decided; empty cells for what it lacks."""
    cells: dict = {k: "" for k in HW_COLUMNS}
    if report is None:
        return cells
    if report.resources is not None:
        cells.update(LUT=report.resources.LUT, FF=report.resources.FF, DSP=report.resources.DSP)
    lat = report.latency
    if lat is not None:
        cells.update(cycles=lat.cycles_max, ns=lat.ns, ns_source=lat.ns_source)
    cells["route"] = report.headline_route
    stages = report.model.stages or []
    if stages:  # constant multiplications in the unrolled encoder: a cost proxy that needs no synthesis
        cells["weights_nz"] = sum(s.unrolled_nonzero_weights for s in stages)
    compared = [level.mismatch_count for level in report.verification.values() if level.compared]
    cells["mismatches"] = max(compared, default="")
    return {k: ("" if v is None else v) for k, v in cells.items()}


def read_metrics(path: Path) -> Metrics | None:
    """A point's metrics.json, typed; None when it is missing or cannot be read."""
    try:
        return load_metrics(path)
    except DataError:
        return None


def metric_cells(metrics: Metrics | None) -> dict:
    cells: dict = {k: "" for k in METRIC_COLUMNS}
    if metrics is None:
        return cells
    q = metrics.quantized
    cells.update(test_mse=q.mse, emd_mean=q.emd_mean, emd_median=q.emd_median)
    for name, m in metrics.baselines.items():
        if f"{name}_mse" in cells:
            cells[f"{name}_mse"] = m.mse
            cells[f"{name}_emd_mean"] = m.emd_mean
    cells["compression"] = metrics.compression_factor
    cells["latent_bits"] = metrics.bit_budget.micae_latent_bits
    cells.update(chip_cells(metrics))
    return {k: ("" if v is None else v) for k, v in cells.items()}


def chip_cells(metrics: Metrics) -> dict:
    """:data:`CHIP_COLUMNS` from metrics.json's ``elinks`` block (None for runs without it, or an algorithm it
    lacks)."""
    cells: dict = dict.fromkeys(CHIP_COLUMNS)
    if not metrics.elinks:
        return cells
    L, algos = next(iter(metrics.elinks.items()))
    cells["elinks"] = int(L)

    def mean(name: str) -> float | None:
        r = algos.get(name)
        return r.emd_mean if r is not None else None

    def ge16(name: str) -> float | None:
        r = algos.get(name)
        return r.lit_ge16.emd_mean if r is not None else None

    cells["ae_emd_ge16"] = ge16("ae")
    for name in ("bc", "stc4", "stc16", "threshold"):
        cells[f"chip_{name}_emd_mean"] = mean(name)
    for name in ("bc", "stc4"):
        cells[f"chip_{name}_emd_ge16"] = ge16(name)
    return cells


def point_row(point, paths: PointPaths) -> dict:
    """A point's row as results.csv cells: grid values, status and error from done.json, metrics and hardware
    numbers (typed by :class:`SweepRow`: a cell of the wrong kind fails here)."""
    row: dict = {**point.values, "point": point.name}
    done = _read_json(paths.done) if paths.done.exists() else None
    if point.skip:
        row.update(status="skipped", error=point.skip)
        done = None
    elif done is None:
        row.update(status="pending", error="")
    else:
        row.update(status=done.get("status", ""), error=done.get("error") or "")
    metrics = read_metrics(paths.metrics) if done and paths.metrics.exists() else None
    report = read_report(paths.report) if done and paths.report.exists() else None
    row.update(metric_cells(metrics))
    row.update(hardware_cells(report))
    row["seconds"] = (done or {}).get("seconds", {}).get("total", "")
    row["worker"] = (done or {}).get("worker", "")
    row["host"] = (done or {}).get("host", "")
    return SweepRow.from_cells({**row, "schema_version": ROWS_SCHEMA_VERSION}, list(point.values)).cells()


def load_rows(path: str | Path, grid_keys: list[str]) -> list[SweepRow]:
    """results.csv (of a sweep whose grid has ``grid_keys``) as typed rows; a file of another schema version,
    or a cell of the wrong kind, is refused with one line naming the file."""
    path = Path(path)
    fix = "write it again with micae sweep --config <sweep.yaml> --resume (finished points are not rerun)"
    try:
        records = list(csv.DictReader(io.StringIO(path.read_text())))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}", fix) from None
    rows = []
    for i, cells in enumerate(records, start=2):
        version = cells.get("schema_version") or "0"
        if version != str(ROWS_SCHEMA_VERSION):
            raise DataError(
                f"{path} line {i} has schema_version {version}; this micae reads {ROWS_SCHEMA_VERSION}", fix
            )
        try:
            rows.append(SweepRow.from_cells(cells, grid_keys))
        except ValidationError as exc:
            raise DataError(f"{path} line {i}: {first_error(exc)}", fix) from None
    return rows


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


def to_csv(rows: list[dict], cols: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def write_csv(path: Path, rows: list[dict], cols: list[str]) -> None:
    """Write via a temporary file, so an interrupted write never leaves half a table."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(to_csv(rows, cols))
    tmp.replace(path)


def format_table(rows: list[dict], grid_keys: list[str], labels: dict[str, str]) -> str:
    """The terminal summary: grid values, status, quality, hardware numbers."""

    def num(v, fmt=".0f"):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return "-" if v in ("", None) else str(v)
        return str(v) if isinstance(v, int) else format(v, fmt)

    heads = [labels.get(k, k) for k in grid_keys] + [
        "status",
        "MSE",
        "EMD",
        "EMD med",
        "float EMD",
        "PCA EMD",
        "compr",
        "LUT",
        "FF",
        "cycles",
        "nz wts",
        "mism",
        "s",
        "front",
    ]
    chip = any(r.get("elinks") not in ("", None) for r in rows)
    if chip:
        heads[heads.index("PCA EMD") + 1 : heads.index("PCA EMD") + 1] = ["L", "BC", "STC4", "thr"]
    table = []
    for r in rows:
        chip_cols = [
            num(r.get("elinks")),
            num(r.get("chip_bc_emd_mean"), ".3f"),
            num(r.get("chip_stc4_emd_mean"), ".3f"),
            num(r.get("chip_threshold_emd_mean"), ".3f"),
        ]
        table.append(
            [_cell(r.get(k)) for k in grid_keys]
            + [
                str(r.get("status", "")),
                num(r.get("test_mse"), ".4g"),
                num(r.get("emd_mean"), ".3f"),
                num(r.get("emd_median"), ".3f"),
                num(r.get("float_emd_mean"), ".3f"),
                num(r.get("pca_tied_emd_mean"), ".3f"),
                *(chip_cols if chip else []),
                num(r.get("compression"), ".2f"),
                num(r.get("LUT")),
                num(r.get("FF")),
                num(r.get("cycles")),
                num(r.get("weights_nz")),
                num(r.get("mismatches")),
                num(r.get("seconds")),
                "*" if r.get("pareto") == 1 else "",
            ]
        )
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(heads, widths))]
    lines.append("-" * len(lines[0]))
    for r, t in zip(rows, table):
        lines.append("  ".join(c.rjust(w) for c, w in zip(t, widths)))
        if r.get("error") and r.get("status") != "ok":
            lines.append(f"    {r['point']}: {r['status']}: {r['error']}")
    from micae.sweep.pareto import cost_key, latency_key, quality_key

    cost = "LUTs" if cost_key(rows) == "LUT" else "nonzero weights (proxy: no LUT numbers)"
    q = "EMD" if quality_key(rows) == "emd_mean" else "MSE"
    lines.append(f"front (*): Pareto-optimal in {q} vs {cost} or {q} vs latency ({latency_key(rows)})")
    if chip:
        lines.append(
            "L, BC, STC4, thr: each run's e-link count and the chip's Best Choice, STC4 and Threshold-Sum there, "
            "mean EMD on the same test wafers (metrics.json elinks; EMD in half a trigger-cell pitch)"
        )
    return "\n".join(lines)


def status_counts(rows: list[dict]) -> dict[str, int]:
    """How many rows have each ``status`` (ok, failed, skipped, ...)."""
    out: dict[str, int] = {}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out
