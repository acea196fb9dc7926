"""The ECON-T block's HLS C++ through the vendor tool: C simulation and synthesis (``econt_block/build_block.tcl``,
:mod:`micae.hls.econt_block`), when Vitis HLS or Vivado HLS is on PATH; a clear skip otherwise.

The tool runs in ``econt_block/`` (its ``econt_block_prj`` stays apart from the encoder's own vendor project).
Vitis HLS runs the testbench in ``econt_block_prj/solution1/csim/build`` on the shipped text vectors; its
``tb_data/block_csim_results.log`` is read back and every word compared as an integer. The csynth report is
parsed with micae's vendor report reader. A run counts as a vendor run only when the tool printed a Xilinx banner.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from micae.errors import ConfigError, ToolError
from micae.hls.econt_block import RESULTS, TCL, VECTORS_OUT
from micae.hls.reports import collect_vendor_reports
from micae.hls.vendor import ALL_TOOLS, BACKEND_TOOLS, DEFAULT_TIMEOUT_S, MODES, detect_vendor_tool, vendor_banner
from micae.results.vendor import CsynthReport
from micae.tools import run_tool

CSIM_RESULTS = f"*_prj/solution*/csim/build/{RESULTS}"


@dataclass(frozen=True)
class BlockVendorRun:
    """What the vendor run of the block gave: ``status`` ``skipped`` (with ``reason``) or ``ran``."""

    status: str
    reason: str = ""
    tool: str = ""
    banner: str | None = None
    log: str = ""
    error: str = ""
    """the tool's failure (non-zero exit: a csim mismatch or a synthesis error), empty when it passed"""
    csim_results: Path | None = None
    expected: Path | None = None
    csynth: CsynthReport | None = None

    @property
    def identified(self) -> bool:
        return self.banner is not None


def block_vendor_command(tool: Path) -> list[str]:
    """The command line (run in ``econt_block/``) for ``tool``: vitis-run, vitis_hls or vivado_hls."""
    if tool.name == "vitis-run":
        return [str(tool), "--mode", "hls", "--tcl", TCL]
    return [str(tool), "-f", TCL]


def _skip(backend: str, mode: str) -> BlockVendorRun:
    key = backend.strip().lower()
    wanted = "/".join(BACKEND_TOOLS.get(key, ()))
    if mode == "require":
        raise ToolError(
            f"--vendor require but no {wanted} on PATH for the ECON-T block's C simulation and synthesis",
            "source the Vitis HLS (or Vivado HLS) settings64.sh so the tool is on PATH, or use --vendor auto/off",
        )
    return BlockVendorRun(status="skipped", reason=f"no {ALL_TOOLS} on PATH (no vendor HLS tool on this machine)")


def run_block_vendor(
    block_dir: str | Path,
    backend: str,
    mode: str = "auto",
    *,
    log_path: str | Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> BlockVendorRun:
    """Vendor csim + csynth of the block in ``block_dir`` (``mode``: off, auto = when the tool is there, require)."""
    if mode not in MODES:
        raise ConfigError(f"unknown --vendor mode {mode!r}", f"use one of: {', '.join(MODES)}")
    if mode == "off":
        return BlockVendorRun(status="skipped", reason="--vendor off")
    tool = detect_vendor_tool(backend)
    if tool is None:
        return _skip(backend, mode)
    block_dir = Path(block_dir).resolve()
    log = Path(log_path) if log_path is not None else block_dir / "vendor.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    started = time.time() - 2.0  # slack for coarse modification times
    error = ""
    try:
        output = run_tool(block_vendor_command(tool), cwd=block_dir, timeout_s=timeout_s, log_path=log, append_log=True)
    except ToolError as exc:  # csim mismatches make the testbench, and so the tool, exit non-zero
        error, output = exc.problem, log.read_text(errors="replace")
    fresh = [p for p in sorted(block_dir.glob(CSIM_RESULTS)) if p.stat().st_mtime >= started]
    reports = collect_vendor_reports(block_dir, newer_than=started)
    return BlockVendorRun(
        status="ran",
        tool=tool.name,
        banner=vendor_banner(output),
        log=str(log),
        error=error,
        csim_results=fresh[0] if fresh else None,
        expected=block_dir / VECTORS_OUT,
        csynth=reports.csynth,
    )


def read_words(path: Path, elinks: int) -> np.ndarray:
    """``(N, L)`` e-link words of a text file (one bunch crossing per line, decimal)."""
    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    if any(len(r) != elinks for r in rows):
        raise ToolError(f"{path.name}: a line without {elinks} words", "re-run the vendor C simulation")
    return np.asarray(rows, dtype=np.int64).reshape(-1, elinks)
