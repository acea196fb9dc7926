"""Loader for the public ECON-T trigger-cell CSV formats.

Two forms, told apart by the first line:

* **With a header** (the public files, ``CALQ_0,...,CALQ_47``): the 48 charge columns are found by their
  names ``CALQ_0``..``CALQ_47``, in any order. Every further named column (``tc_eta``, ``ModType``,
  ``SimEnergyFraction``, ``layer``, ...) is per-wafer metadata: integer, float or string, whichever all
  its cells parse as. An unnamed column is called ``column_<j>``.
* **Headerless** (the older training files): columns 0-47 are CALQ_0..CALQ_47, further columns are ignored.

The first line is a header when one of its cells is a ``CALQ_<k>`` name or none of them is a number.
Every row must have the same number of columns. Rows whose 48 charges sum to zero are dropped (with their
metadata) and counted in the provenance.

Parsing is numpy's C reader (``np.loadtxt``), integers first (the public files hold integer CALQ), floats
when a cell is not an integer. Error messages count lines from 1 (as editors do) and columns from 0; for a
charge cell they name the column (``CALQ_k``).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from micae.data.dataset import file_sha256
from micae.data.geometry import N_TC
from micae.errors import DataError

CALQ_NAMES = tuple(f"CALQ_{k}" for k in range(N_TC))
_CALQ_RE = re.compile(r"^CALQ_(\d+)$")
_FIX_FORMAT = (
    "an ECON-T CSV holds one wafer per line: 48 comma-separated charges, either under a header that names "
    "them CALQ_0..CALQ_47 (further named columns become metadata), or without a header as columns 0-47"
)


@dataclass
class EcontCsv:
    """What :func:`read_econt_csv` returns: charges, metadata columns and provenance, aligned by row."""

    charges: np.ndarray
    """``(N, 48)`` float64 in CALQ_0..CALQ_47 order; all-zero rows already dropped."""
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    """Metadata per wafer (header files only): int64, float64 or unicode arrays of length N."""
    info: dict = field(default_factory=dict)
    """Provenance: path, sha256, rows_read, rows_dropped_zero_sum, rows_kept, header, metadata types."""


@dataclass(frozen=True)
class _Layout:
    """Where the charges are: file column of CALQ_k, the metadata columns, and the first data line."""

    calq_cols: tuple[int, ...]
    meta: tuple[tuple[int, str], ...]
    n_cols: int | None  # the header's width; None without a header (found from the rows)
    first_line: int  # 0-based index of the first data line
    source: str  # how the charge columns were found (provenance)


# ---------------------------------------------------------------- text and lines


def _read_text(path: Path) -> str:
    if not path.exists():
        raise DataError(f"{path}: file not found", "check the path passed as the data file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a CSV file", "pass the path of the CSV file")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not a UTF-8 text file (byte {exc.start} cannot be decoded)",
            "pass a plain-text CSV file (is it compressed?)",
        ) from None


def _lines(path: Path, text: str) -> tuple[list[str], bool]:
    """Lines without terminators (trailing blank lines removed), and whether the file ends in a newline."""
    ends_nl = text.endswith(("\n", "\r"))
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: file is empty", _FIX_FORMAT)
    for row, line in enumerate(lines):
        if not line.strip():
            raise DataError(f"{path}: line {row + 1} is empty", "remove blank lines inside the file")
    return lines, ends_nl


# ---------------------------------------------------------------- header


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _ranges(ks: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"CALQ_0..CALQ_2, CALQ_5"``."""
    parts, start = [], 0
    for i in range(1, len(ks) + 1):
        if i == len(ks) or ks[i] != ks[i - 1] + 1:
            lo, hi = ks[start], ks[i - 1]
            parts.append(f"CALQ_{lo}" if lo == hi else f"CALQ_{lo}..CALQ_{hi}")
            start = i
    return ", ".join(parts)


def _header_layout(path: Path, first: str) -> _Layout:
    """The layout of a file without a header, or read from its header line."""
    cells = first.split(",")
    names = [c.strip().strip('"').strip() for c in cells]
    if names == [str(j) for j in range(len(names))]:
        # pandas' to_csv of an unnamed frame: the header is the column numbers; charges are columns 0-47
        return _Layout(tuple(range(N_TC)), (), len(names), 1, "columns 0-47 (header of column numbers, skipped)")
    if not (any(_CALQ_RE.match(n) for n in names) or not any(_is_number(c) for c in cells)):
        return _Layout(tuple(range(N_TC)), (), None, 0, "columns 0-47 (no header)")
    names = [n or f"column_{j}" for j, n in enumerate(names)]
    seen: dict[str, int] = {}
    for j, n in enumerate(names):
        if n in seen:
            raise DataError(
                f"{path}: the header names column {n!r} twice (columns {seen[n]} and {j})",
                "give every column its own name",
            )
        seen[n] = j
    missing = [k for k, n in enumerate(CALQ_NAMES) if n not in seen]
    if missing:
        found = sum(1 for n in names if _CALQ_RE.match(n))
        raise DataError(
            f"{path}: the header (line 1) lacks {len(missing)} of the 48 charge columns: {_ranges(missing)}"
            + (f" (it names {found} CALQ columns)" if found else ""),
            "name the 48 charge columns CALQ_0..CALQ_47 in the header (any order), or remove the header "
            "line if the first 48 columns are the charges",
        )
    extra_calq = [n for n in names if _CALQ_RE.match(n) and n not in CALQ_NAMES]
    if extra_calq:
        raise DataError(
            f"{path}: the header names charge column(s) beyond CALQ_47: {', '.join(extra_calq)}",
            "an ECON-T wafer has 48 trigger cells CALQ_0..CALQ_47; rename or remove the others",
        )
    calq = tuple(seen[n] for n in CALQ_NAMES)
    meta = tuple((j, n) for j, n in enumerate(names) if n not in CALQ_NAMES)
    return _Layout(calq, meta, len(names), 1, "found by name CALQ_0..CALQ_47 in the header")


# ---------------------------------------------------------------- columns


def _column_counts(lines: list[str]) -> np.ndarray:
    return np.fromiter((ln.count(",") + 1 for ln in lines), dtype=np.int64, count=len(lines))


def _truncated(path: Path, line_no: int, got: int, want: int, ends_nl: bool) -> DataError:
    newline = "" if ends_nl else " and has no final newline"
    return DataError(
        f"{path}: last line (line {line_no}) is truncated: {got} columns instead of {want}{newline}",
        "the file was cut short (interrupted download or write); fetch or write it again, or delete the last line",
    )


def _check_columns(path: Path, lines: list[str], layout: _Layout, ends_nl: bool) -> int:
    """The number of columns every data line has (or a DataError naming the first line that differs)."""
    data = lines[layout.first_line :]
    if not data:
        raise DataError(f"{path}: the file has a header but no data lines", "add one wafer per line below the header")
    counts = _column_counts(data)
    if layout.n_cols is not None:
        n_cols, against = layout.n_cols, "the header has"
    else:
        # Reference width: the most common one among all lines but the last (which may be
        # truncated); on a tie, line 1's width if it is among the most common.
        vals, freq = np.unique(counts[:-1] if len(data) > 1 else counts, return_counts=True)
        common = vals[freq == freq.max()]
        n_cols = int(counts[0]) if counts[0] in common else int(common.max())
        against = "most lines have"
    bad = np.flatnonzero(counts != n_cols)
    if len(bad):
        row = int(bad[0])
        line_no = row + 1 + layout.first_line
        if row == len(data) - 1 and counts[row] < n_cols:
            raise _truncated(path, line_no, int(counts[row]), n_cols, ends_nl)
        raise DataError(
            f"{path}: ragged rows: line {line_no} has {counts[row]} columns but {against} {n_cols}",
            "every line must have the same number of comma-separated columns",
        )
    if n_cols < N_TC:
        raise DataError(f"{path}: line 1 has {n_cols} columns, fewer than the 48 TC charges needed", _FIX_FORMAT)
    return n_cols


def _scan_cells(path: Path, lines: list[str], layout: _Layout) -> None:
    """Report the first charge cell that is not a finite non-negative number (in file order)."""
    order = sorted(range(N_TC), key=lambda k: layout.calq_cols[k])
    for row, line in enumerate(lines[layout.first_line :]):
        cells = line.split(",")
        line_no = row + 1 + layout.first_line
        for k in order:
            col = layout.calq_cols[k]
            cell = cells[col]
            where = f"{path}: line {line_no}, column {col} (CALQ_{k})"
            try:
                val = float(cell)
            except ValueError:
                fix = "replace it with a number (charges are plain decimal numbers)"
                if line_no == 1:
                    fix += "; if line 1 is a header, name the charge columns CALQ_0..CALQ_47"
                raise DataError(f"{where}: {cell.strip()!r} is not a number", fix) from None
            if not math.isfinite(val):
                raise DataError(
                    f"{where}: value {cell.strip()!r} is not finite", "replace NaN/inf by a real charge (0 if absent)"
                )
            if val < 0:
                raise DataError(
                    f"{where}: negative charge {val:g}", "TC charges are >= 0; fix the producer or clip to 0"
                )


def _loadtxt(lines: list[str], cols, dtype):
    """``np.loadtxt`` of some columns; an integer parse refuses non-integer cells instead of truncating them."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy 1.2x parses "3.5" as int 3 with a warning
        return np.loadtxt(lines, delimiter=",", usecols=cols, dtype=dtype, comments=None, ndmin=2)


def _parse_charges(path: Path, lines: list[str], layout: _Layout) -> np.ndarray:
    data_lines = lines[layout.first_line :]
    try:
        data = _loadtxt(data_lines, layout.calq_cols, np.int64).astype(np.float64)
    except (ValueError, DeprecationWarning, OverflowError):
        try:
            data = _loadtxt(data_lines, layout.calq_cols, np.float64)
        except ValueError:
            _scan_cells(path, lines, layout)
            raise  # _scan_cells always finds the cell loadtxt choked on
    if not np.all(np.isfinite(data)) or (data < 0).any():
        _scan_cells(path, lines, layout)
    return data


def _parse_meta(lines: list[str], col: int) -> np.ndarray:
    """One metadata column: int64 if every cell is an integer, float64 if every cell is a number, else strings."""
    for dtype in (np.int64, np.float64):
        try:
            return _loadtxt(lines, [col], dtype)[:, 0]
        except (ValueError, DeprecationWarning, OverflowError):
            continue
    return np.array([ln.split(",")[col].strip().strip('"') for ln in lines])


# ---------------------------------------------------------------- entry points


def read_econt_csv(path: str | Path, max_rows: int | None = None, *, keep_zero_rows: bool = False) -> EcontCsv:
    """Read an ECON-T CSV (with a CALQ header or without one): charges, metadata columns and provenance.

    ``max_rows`` keeps only the first so many non-zero rows (after dropping the all-zero ones).
    ``keep_zero_rows``: keep every row in file order (``micae evaluate`` selects rows by their place in the
    file; the chip sees empty bunch crossings too), still counting the zero-sum ones in ``rows_dropped_zero_sum``.
    """
    path = Path(path)
    lines, ends_nl = _lines(path, _read_text(path))
    layout = _header_layout(path, lines[0])
    n_cols = _check_columns(path, lines, layout, ends_nl)
    charges = _parse_charges(path, lines, layout)
    data_lines = lines[layout.first_line :]
    columns = {name: _parse_meta(data_lines, col) for col, name in layout.meta}
    keep = charges.sum(axis=1) > 0
    if not keep.any():
        raise DataError(
            f"{path}: all {len(charges)} rows have zero total charge", "pass a file with at least one non-empty wafer"
        )
    stop = None if max_rows is None else int(max_rows)
    rows = slice(None) if keep_zero_rows else keep
    charges = charges[rows][:stop]
    columns = {k: v[rows][:stop] for k, v in columns.items()}
    info = {
        "path": str(path.resolve()),
        "sha256": file_sha256(path),
        "rows_read": len(data_lines),
        "rows_dropped_zero_sum": int((~keep).sum()),
        "rows_kept": len(charges),
        "n_columns": n_cols,
        "header": layout.first_line == 1,
        "charge_columns": layout.source,
        "metadata": {k: ("string" if v.dtype.kind == "U" else v.dtype.name) for k, v in columns.items()},
    }
    return EcontCsv(charges=charges, columns=columns, info=info)


def load_econt_csv(
    path: str | Path, max_rows: int | None = None, *, keep_zero_rows: bool = False
) -> tuple[np.ndarray, dict]:
    """Read TC charges ``(N, 48)`` float64 from an ECON-T CSV; zero-sum rows dropped.

    ``max_rows`` keeps only the first so many non-zero rows. Returns ``(charges, info)``; the metadata
    columns of a header file are in :func:`read_econt_csv`'s result.
    """
    table = read_econt_csv(path, max_rows=max_rows, keep_zero_rows=keep_zero_rows)
    return table.charges, table.info
