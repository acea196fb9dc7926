"""Parse vendor HLS / Vivado reports into one schema.

Three report kinds are read:

* ``<top>_csynth.xml`` (Vivado HLS) or ``csynth.xml`` (Vitis HLS): the C-synthesis
  estimate, preferred because it is machine-readable;
* ``<top>_csynth.rpt`` / ``csynth.rpt``: the same numbers as a text report, used as
  a fallback when the XML is missing or broken. Both parsers return the same schema
  and the same numbers for the same run;
* ``vivado_synth.rpt``: Vivado ``report_utilization`` after logic synthesis
  (written by hls4ml's ``vivado_synth.tcl`` when the ``vsynth`` step runs).

csynth schema::

    {"source": str, "tool": "vivado_hls 2020.1", "part": str, "top": str,
     "clock_ns": float (target), "estimated_clock_ns": float,
     "clock_uncertainty_ns": float | None,
     "resources": {"estimator": "vivado_hls csynth 2020.1",
                   "LUT", "FF", "DSP", "BRAM" (BRAM_18K), "URAM",
                   "available_LUT", "available_FF", "available_DSP",
                   "available_BRAM", "available_URAM"},
     "latency": {"cycles_min", "cycles_max", "interval" (min II), "interval_max",
                 "clock_ns", "ns" (= cycles_max * clock_ns)}}

Latency and interval values are ``None`` when the tool could not bound them
(it prints ``?`` / ``undef`` for loops with unknown trip counts).

Vivado utilization schema::

    {"source": str, "tool": "vivado 2020.1", "device": str,
     "resources": {"estimator": "vivado synth 2020.1", "LUT", "FF", "DSP", "BRAM",
                   "CARRY", "available_LUT", "available_FF", "available_DSP",
                   "available_BRAM"}}

Vivado counts block RAM in 36K tiles, each holding two 18K halves. To compare with
the HLS estimate (which counts ``BRAM_18K``) ``BRAM`` is given in 18K units:
``2 * RAMB36 + RAMB18``, and ``available_BRAM = 2 * Block RAM Tile``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from micae.errors import DataError
from micae.results.hardware import Latency, Resources
from micae.results.vendor import CsynthReport, VendorReports, VivadoUtilization

RESOURCE_KEYS = ("LUT", "FF", "DSP", "BRAM", "URAM")


# --------------------------------------------------------------------------- helpers


def _read_text(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(
            f"cannot read {what} {path}: {exc.strerror or exc}",
            "check the path points at the report the vendor tool wrote",
        ) from exc
    if not text.strip():
        raise DataError(f"{what} {path} is empty", "rerun the vendor tool; the run was probably interrupted")
    return text


def _malformed(path: Path, what: str, detail: str) -> DataError:
    return DataError(
        f"{what} {path} is malformed or truncated: {detail}",
        "rerun the vendor tool to regenerate it (the run may have been interrupted)",
    )


def _number(text: str | None) -> float | None:
    """First decimal number in ``text`` (``'5.00 ns'`` -> 5.0); None for '?', 'undef', '-'."""
    if text is None:
        return None
    match = re.search(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)
    return float(match.group()) if match else None


def _int(text: str | None) -> int | None:
    value = _number(text)
    return None if value is None else int(round(value))


def _count(text: str | None) -> int:
    """A resource count: ``'-'`` or blank means none used."""
    value = _int(text)
    return 0 if value is None else value


def _latency(cycles_min, cycles_max, ii_min, ii_max, clock_ns: float) -> Latency:
    return Latency(
        cycles_min=cycles_min,
        cycles_max=cycles_max,
        interval=ii_min,
        interval_max=ii_max,
        clock_ns=clock_ns,
        ns=None if cycles_max is None else cycles_max * clock_ns,
    )


def _hls_tool_name(dsp_column: str) -> str:
    """Vivado HLS calls the DSP column ``DSP48E``; Vitis HLS calls it ``DSP``."""
    return "vivado_hls" if dsp_column.upper().startswith("DSP48") else "vitis_hls"


def _table_blocks(lines: list[str]) -> list[list[list[list[str]]]]:
    """ASCII tables in ``lines``: each table is a list of segments (runs of ``|`` rows
    between ``+---+`` borders), each segment a list of rows, each row a list of cells.

    A table that does not end on a border line was cut short and is left out, so a
    truncated report reads as "table missing" rather than as smaller numbers.
    """
    tables: list[list[list[list[str]]]] = []
    segments: list[list[list[str]]] | None = None
    segment: list[list[str]] = []
    closed, width = False, 0

    def finish() -> None:
        if segments and closed:
            tables.append(segments)

    for raw in lines:
        line = raw.strip()
        if line.startswith("+") and set(line) <= set("+-="):
            if segments is None:
                segments, width = [], len(line)
            if segment:
                segments.append(segment)
                segment = []
            closed = len(line) == width  # a shorter border was cut short
        elif line.startswith("|") and line.endswith("|") and len(line) > 1 and segments is not None:
            # A row without its closing bar is cut short: it ends the table instead.
            segment.append([cell.strip() for cell in line[1:-1].split("|")])
            closed = False
        else:
            finish()
            segments, segment, closed = None, [], False
    finish()
    return tables


# --------------------------------------------------------------------------- csynth XML


def parse_csynth_xml(path: str | Path) -> CsynthReport:
    """Parse a Vivado/Vitis HLS ``*csynth.xml`` into the csynth schema (see module doc)."""
    path = Path(path)
    what = "HLS csynth XML report"
    text = _read_text(path, what)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise _malformed(path, what, f"XML error {exc}") from exc

    def field(xpath: str) -> str:
        node = root.find(xpath)
        if node is None or node.text is None or not node.text.strip():
            raise _malformed(path, what, f"missing <{xpath.strip('./')}>")
        return node.text.strip()

    def number(xpath: str) -> float:
        value = _number(field(xpath))
        if value is None:
            raise _malformed(path, what, f"<{xpath.strip('./')}> is not a number")
        return value

    version = field("./ReportVersion/Version")
    clock_ns = number("./UserAssignments/TargetClockPeriod")
    uncertainty = root.find("./UserAssignments/ClockUncertainty")
    latency_node = "./PerformanceEstimates/SummaryOfOverallLatency/"

    used = root.find("./AreaEstimates/Resources")
    avail = root.find("./AreaEstimates/AvailableResources")
    if used is None or avail is None or len(used) == 0:
        raise _malformed(path, what, "missing <AreaEstimates>")
    dsp_tag = next((child.tag for child in used if child.tag.upper().startswith("DSP")), None)
    if dsp_tag is None:
        raise _malformed(path, what, "no DSP entry in <AreaEstimates>")
    tool = f"{_hls_tool_name(dsp_tag)} {version}"
    tags = {"LUT": "LUT", "FF": "FF", "DSP": dsp_tag, "BRAM": "BRAM_18K", "URAM": "URAM"}

    resources: dict = {"estimator": f"{tool.split()[0]} csynth {version}"}
    for key, tag in tags.items():
        node = used.find(tag)
        if node is None and key != "URAM":
            raise _malformed(path, what, f"missing <AreaEstimates><Resources><{tag}>")
        resources[key] = _count(node.text if node is not None else None)
    for key, tag in tags.items():
        node = avail.find(tag)
        resources[f"available_{key}"] = _count(node.text if node is not None else None)

    return CsynthReport(
        source=str(path),
        tool=tool,
        part=field("./UserAssignments/Part"),
        top=field("./UserAssignments/TopModelName"),
        clock_ns=clock_ns,
        estimated_clock_ns=number("./PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"),
        clock_uncertainty_ns=_number(uncertainty.text) if uncertainty is not None else None,
        resources=Resources(**resources),
        latency=_latency(
            _int(field(latency_node + "Best-caseLatency")),
            _int(field(latency_node + "Worst-caseLatency")),
            _int(field(latency_node + "Interval-min")),
            _int(field(latency_node + "Interval-max")),
            clock_ns,
        ),
    )


# --------------------------------------------------------------------------- csynth text


def _section(lines: list[str], title: str) -> list[str]:
    """Lines of the ``== <title>`` section of a csynth.rpt, up to the next ``== `` header."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith("== "):
            if start is not None:
                return lines[start:i]
            if line[3:].strip().startswith(title):
                start = i + 1
    return lines[start:] if start is not None else []


def parse_csynth_rpt(path: str | Path) -> CsynthReport:
    """Parse a Vivado/Vitis HLS ``*csynth.rpt`` text report into the csynth schema.

    The text report is a fallback for a missing/broken XML; it holds the same numbers.
    """
    path = Path(path)
    what = "HLS csynth text report"
    lines = _read_text(path, what).splitlines()

    head = "\n".join(line.strip() for line in lines[:30])
    header = re.search(r"^== (Vivado|Vitis) HLS Report for '([^']+)'", head, re.M)
    version_line = re.search(r"^\*\s*Version:\s*(\S+)", head, re.M)
    part = re.search(r"^\*\s*Target device:\s*(\S+)", head, re.M)
    if header is None or version_line is None or part is None:
        raise _malformed(path, what, "missing the 'HLS Report for' header with Version and Target device")

    perf = _section(lines, "Performance Estimates")
    timing = _table_blocks(perf)
    timing_row = next((seg[0] for table in timing for seg in table[1:2] if seg and len(seg[0]) >= 3), None)
    if not timing or timing_row is None:
        raise _malformed(path, what, "no timing summary table under 'Performance Estimates'")
    clock_ns, estimated = _number(timing_row[1]), _number(timing_row[2])
    uncertainty = _number(timing_row[3]) if len(timing_row) > 3 else None
    if clock_ns is None or estimated is None:
        raise _malformed(path, what, f"unreadable timing row {timing_row}")

    latency_at = next((i for i, line in enumerate(perf) if line.strip().startswith("+ Latency")), None)
    latency_tables = _table_blocks(perf[latency_at:]) if latency_at is not None else []
    if not latency_tables or len(latency_tables[0]) < 2 or len(latency_tables[0][1][0]) < 6:
        raise _malformed(path, what, "no latency summary table under 'Performance Estimates'")
    row = latency_tables[0][1][0]

    util_tables = _table_blocks(_section(lines, "Utilization Estimates"))
    if not util_tables:
        raise _malformed(path, what, "no table under 'Utilization Estimates'")
    util = util_tables[0]
    columns = util[0][0]
    rows = {r[0]: r for seg in util[1:] for r in seg}
    if "Total" not in rows or "Available" not in rows:
        raise _malformed(path, what, "the utilization table has no 'Total'/'Available' row")
    dsp_column = next((c for c in columns if c.upper().startswith("DSP")), None)
    if dsp_column is None:
        raise _malformed(path, what, f"no DSP column in the utilization table {columns}")
    version = version_line.group(1)
    tool = f"{_hls_tool_name(dsp_column)} {version}"
    names = {"LUT": "LUT", "FF": "FF", "DSP": dsp_column, "BRAM": "BRAM_18K", "URAM": "URAM"}

    for row_name in ("Total", "Available"):
        if len(rows[row_name]) != len(columns):
            raise _malformed(path, what, f"the utilization '{row_name}' row has the wrong number of cells")

    def cell(row_name: str, column: str) -> int:
        if column not in columns:
            if column == "URAM":
                return 0
            raise _malformed(path, what, f"no {column} column in the utilization table")
        return _count(rows[row_name][columns.index(column)])

    resources: dict = {"estimator": f"{tool.split()[0]} csynth {version}"}
    resources.update({key: cell("Total", col) for key, col in names.items()})
    resources.update({f"available_{key}": cell("Available", col) for key, col in names.items()})

    return CsynthReport(
        source=str(path),
        tool=tool,
        part=part.group(1),
        top=header.group(2),
        clock_ns=clock_ns,
        estimated_clock_ns=estimated,
        clock_uncertainty_ns=uncertainty,
        resources=Resources(**resources),
        latency=_latency(_int(row[0]), _int(row[1]), _int(row[4]), _int(row[5]), clock_ns),
    )


# --------------------------------------------------------------------------- Vivado utilization


def parse_vivado_utilization(path: str | Path) -> VivadoUtilization:
    """Parse Vivado ``report_utilization`` text (hls4ml's ``vivado_synth.rpt``).

    Handles 7-series names (``Slice LUTs``, ``Slice Registers``, ``CARRY4``) and
    UltraScale names (``CLB LUTs``, ``CLB Registers``, ``CARRY8``). ``BRAM`` is in 18K
    units: ``2 * RAMB36 + RAMB18``; see the module docstring.
    """
    path = Path(path)
    what = "Vivado utilization report"
    text = _read_text(path, what)
    version = re.search(r"Tool Version\s*:\s*Vivado v\.?(\S+)", text)
    device = re.search(r"^\|\s*Device\s*:\s*(\S+)", text, re.M)
    if version is None or device is None:
        raise _malformed(path, what, "missing the 'Tool Version' / 'Device' header")

    sites: dict[str, dict[str, str]] = {}
    primitives: dict[str, int] | None = None
    for table in _table_blocks(text.splitlines()):
        head = table[0][0]
        body = [r for seg in table[1:] for r in seg]
        if head and head[0] == "Site Type":
            for r in body:
                name = r[0].rstrip("*").strip()
                sites.setdefault(name, dict(zip(head, r)))
        elif head[:2] == ["Ref Name", "Used"] and "Functional Category" in head and primitives is None:
            primitives = {r[0]: _count(r[1]) for r in body if len(r) >= 2}

    def site(names: tuple[str, ...], column: str = "Used") -> int:
        for name in names:
            if name in sites:
                return _count(sites[name].get(column))
        raise _malformed(path, what, f"no '{names[0]}' row")

    if not primitives:  # a synthesized design always has primitives (at least its I/O buffers)
        raise _malformed(path, what, "no 'Primitives' table (Ref Name / Used / Functional Category)")

    luts, regs = ("Slice LUTs", "CLB LUTs"), ("Slice Registers", "CLB Registers")
    ramb36, ramb18 = ("RAMB36/FIFO",), ("RAMB18",)
    tiles, dsps = ("Block RAM Tile",), ("DSPs",)
    resources = {
        "estimator": f"vivado synth {version.group(1)}",
        "LUT": site(luts),
        "FF": site(regs),
        "DSP": site(dsps),
        "BRAM": 2 * site(ramb36) + site(ramb18),
        "CARRY": sum(n for ref, n in primitives.items() if ref.startswith("CARRY")),
        "available_LUT": site(luts, "Available"),
        "available_FF": site(regs, "Available"),
        "available_DSP": site(dsps, "Available"),
        "available_BRAM": 2 * site(tiles, "Available"),
    }
    if "URAM" in sites:
        resources["URAM"] = site(("URAM",))
        resources["available_URAM"] = site(("URAM",), "Available")
    return VivadoUtilization(
        source=str(path), tool=f"vivado {version.group(1)}", device=device.group(1), resources=Resources(**resources)
    )


# --------------------------------------------------------------------------- locating


def _project_top(prj_dir: Path) -> str | None:
    """Top function of an HLS project folder: from ``vivado_hls.app`` / ``vitis_hls.app``,
    else from the ``<top>_prj`` folder name."""
    for app in ("vivado_hls.app", "vitis_hls.app", "hls.app"):
        app_path = prj_dir / app
        if app_path.is_file():
            match = re.search(r'\btop="([^"]+)"', app_path.read_text(encoding="utf-8", errors="replace"))
            if match:
                return match.group(1)
    return prj_dir.name[: -len("_prj")] if prj_dir.name.endswith("_prj") else None


def _project_name(project_dir: Path) -> str | None:
    """``project_name`` from hls4ml's ``project.tcl``, when the project has one."""
    tcl = project_dir / "project.tcl"
    if tcl.is_file():
        match = re.search(r'^\s*set\s+project_name\s+"?([^"\s]+)"?', tcl.read_text(errors="replace"), re.M)
        if match:
            return match.group(1)
    return None


def _hls_project_dirs(project_dir: Path) -> list[Path]:
    """``*_prj`` folders, the one named in project.tcl first (hls4ml may leave others)."""
    found = sorted(p for p in project_dir.glob("*_prj") if p.is_dir())
    name = _project_name(project_dir)
    return sorted(found, key=lambda p: p.name != f"{name}_prj")


def _solution_dirs(prj_dir: Path) -> list[Path]:
    sols = sorted(p for p in prj_dir.iterdir() if p.is_dir() and (p / "syn").is_dir())
    return sorted(sols, key=lambda p: p.name != "solution1")


def find_vendor_reports(project_dir: str | Path) -> dict[str, Path]:
    """Locate vendor reports in an hls4ml project folder, for any top-function name.

    Returns a subset of ``{"csynth_xml", "csynth_rpt", "vivado_synth", "csim_log"}``.
    Looks in ``<project>/<top>_prj/<solution>/syn/report/`` for ``<top>_csynth.xml``
    (Vivado HLS) or ``csynth.xml`` (Vitis HLS), same for ``.rpt``, and for
    ``<project>/vivado_synth.rpt``. Per-module ``<module>_csynth.*`` files in the same
    folder are never taken for the top.
    """
    project_dir = Path(project_dir)
    found: dict[str, Path] = {}
    if not project_dir.is_dir():
        return found
    for prj in _hls_project_dirs(project_dir):
        top = _project_top(prj)
        for sol in _solution_dirs(prj):
            report_dir = sol / "syn" / "report"
            stems = ([f"{top}_csynth"] if top else []) + ["csynth"]
            for key, ext in (("csynth_xml", ".xml"), ("csynth_rpt", ".rpt")):
                hit = next((report_dir / (s + ext) for s in stems if (report_dir / (s + ext)).is_file()), None)
                if hit is not None and key not in found:
                    found[key] = hit
            csim_report = sol / "csim" / "report"
            if "csim_log" not in found and csim_report.is_dir():
                logs = sorted(csim_report.glob(f"{top}_csim.log" if top else "*_csim.log")) or sorted(
                    csim_report.glob("*csim.log")
                )
                if logs:
                    found["csim_log"] = logs[0]
        if "csynth_xml" in found or "csynth_rpt" in found:
            break
    vsynth = project_dir / "vivado_synth.rpt"
    if vsynth.is_file():
        found["vivado_synth"] = vsynth
    return found


def collect_vendor_reports(project_dir: str | Path, *, newer_than: float | None = None) -> VendorReports:
    """Parse whatever vendor reports the project holds.

    Returns :class:`~micae.results.vendor.VendorReports` (``project_dir``, ``files`` {key: path}, ``csynth``,
    ``vivado_synth`` (None when absent), ``warnings``). The csynth XML is preferred; the
    text report is parsed when the XML is missing or broken (a warning says so). With
    ``newer_than`` (a ``time.time()`` value) files older than it are ignored and
    reported in ``warnings``, so a run never reports an earlier run's numbers.
    """
    files = find_vendor_reports(project_dir)
    warnings: list[str] = []
    if newer_than is not None:
        for key, file in list(files.items()):
            if file.stat().st_mtime < newer_than:
                warnings.append(f"ignored {file}: older than this run (left over from an earlier run)")
                del files[key]

    csynth: CsynthReport | None = None
    if "csynth_xml" in files:
        try:
            csynth = parse_csynth_xml(files["csynth_xml"])
        except DataError as exc:
            if "csynth_rpt" not in files:
                raise
            warnings.append(f"{exc.problem}; using the text report instead")
    if csynth is None and "csynth_rpt" in files:
        csynth = parse_csynth_rpt(files["csynth_rpt"])
    vsynth = parse_vivado_utilization(files["vivado_synth"]) if "vivado_synth" in files else None
    return VendorReports(
        project_dir=str(project_dir),
        files={key: str(file) for key, file in files.items()},
        csynth=csynth,
        vivado_synth=vsynth,
        warnings=warnings,
    )
