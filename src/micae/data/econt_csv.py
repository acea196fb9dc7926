"""Loader for the public ECON-T training CSV format.

Headerless, comma-separated; columns 0-47 are CALQ_0..CALQ_47 (TC charges),
further columns are ignored (but every row must have the same number of
columns). Rows whose 48 charges sum to zero are dropped.

Error messages count lines from 1 (as editors do) and columns from 0 (so
column k is CALQ_k).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from micae.data.dataset import file_sha256
from micae.data.geometry import N_TC
from micae.errors import DataError

_FIX_FORMAT = (
    "the ECON-T CSV has no header and one wafer per line: "
    "48 comma-separated charges CALQ_0..CALQ_47 (extra columns allowed)"
)


def _lines(path: Path) -> tuple[list[str], bool]:
    """Lines of the file without line terminators, and whether the file ends in a newline."""
    if not path.exists():
        raise DataError(f"{path}: file not found", "check the path passed as the data file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a CSV file", "pass the path of the CSV file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not a UTF-8 text file (byte {exc.start} cannot be decoded)",
            "pass a plain-text CSV file (is it compressed?)",
        ) from None
    ends_nl = text.endswith(("\n", "\r"))
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: file is empty", _FIX_FORMAT)
    return lines, ends_nl


def _check_columns(path: Path, lines: list[str], ends_nl: bool) -> int:
    for row, line in enumerate(lines):
        if not line.strip():
            raise DataError(f"{path}: line {row + 1} is empty", "remove blank lines inside the file")
    counts = np.fromiter((ln.count(",") + 1 for ln in lines), dtype=np.int64, count=len(lines))
    # Reference width: the most common one among all lines but the last (which may be
    # truncated); on a tie, line 1's width if it is among the most common.
    vals, freq = np.unique(counts[:-1] if len(lines) > 1 else counts, return_counts=True)
    common = vals[freq == freq.max()]
    n_cols = int(counts[0]) if counts[0] in common else int(common.max())
    bad = np.flatnonzero(counts != n_cols)
    if len(bad):
        row = int(bad[0])
        if row == len(lines) - 1 and counts[row] < n_cols:
            newline = "" if ends_nl else " and has no final newline"
            raise DataError(
                f"{path}: last line (line {row + 1}) is truncated: {counts[row]} columns instead of {n_cols}{newline}",
                "the file was cut short (interrupted download or write); "
                "fetch or write it again, or delete the last line",
            )
        raise DataError(
            f"{path}: ragged rows: line {row + 1} has {counts[row]} columns but most lines have {n_cols}",
            "every line must have the same number of comma-separated columns",
        )
    if n_cols < N_TC:
        raise DataError(f"{path}: line 1 has {n_cols} columns, fewer than the 48 TC charges needed", _FIX_FORMAT)
    return n_cols


def _scan_cell(path: Path, lines: list[str]) -> None:
    """Find and report the first cell among columns 0-47 that is not a finite non-negative number."""
    for row, line in enumerate(lines):
        for col, cell in enumerate(line.split(",", N_TC)[:N_TC]):
            where = f"{path}: line {row + 1}, column {col} (CALQ_{col})"
            try:
                val = float(cell)
            except ValueError:
                fix = (
                    "remove the header line: " + _FIX_FORMAT
                    if row == 0
                    else "replace it with a number (charges are plain decimal numbers)"
                )
                raise DataError(f"{where}: {cell.strip()!r} is not a number", fix) from None
            if not math.isfinite(val):
                raise DataError(
                    f"{where}: value {cell.strip()!r} is not finite", "replace NaN/inf by a real charge (0 if absent)"
                )
            if val < 0:
                raise DataError(
                    f"{where}: negative charge {val:g}", "TC charges are >= 0; fix the producer or clip to 0"
                )


def load_econt_csv(path: str | Path, max_rows: int | None = None) -> tuple[np.ndarray, dict]:
    """Read TC charges ``(N, 48)`` float64 from an ECON-T CSV; zero-sum rows dropped.

    ``max_rows`` keeps only the first so many non-zero rows. Returns
    ``(charges, info)``, info = path, sha256, rows_read, rows_dropped_zero_sum, n_columns.
    """
    path = Path(path)
    lines, ends_nl = _lines(path)
    n_cols = _check_columns(path, lines, ends_nl)
    try:
        data = np.loadtxt(lines, delimiter=",", usecols=range(N_TC), dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        _scan_cell(path, lines)
        raise  # _scan_cell always finds the cell loadtxt choked on
    if not np.all(np.isfinite(data)) or (data < 0).any():
        _scan_cell(path, lines)
    keep = data.sum(axis=1) > 0
    data = data[keep]
    if not len(data):
        raise DataError(
            f"{path}: all {len(lines)} rows have zero total charge", "pass a file with at least one non-empty wafer"
        )
    if max_rows is not None:
        data = data[: int(max_rows)]
    info = {
        "path": str(path.resolve()),
        "sha256": file_sha256(path),
        "rows_read": len(lines),
        "rows_dropped_zero_sum": int((~keep).sum()),
        "n_columns": n_cols,
    }
    return data, info
