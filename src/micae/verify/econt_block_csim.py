"""The ``block_csim`` level: the ECON-T block's HLS C++ (:mod:`micae.hls.econt_block`) compiled with g++ against
the hls4ml project's ap_types, run on the block vectors, every e-link word compared as an integer."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from micae.econt.block import N_CALQ
from micae.errors import ToolError
from micae.hls.econt_block import compile_command
from micae.log import progress
from micae.results.levels import Comparison
from micae.tools import run_tool
from micae.verify.compare import compare_codes

EXE = "econt_block_tb"
COMPILE_LOG = "block_csim_compile.log"
RUN_LOG = "block_csim_run.log"
COMPILE_TIMEOUT_S = 900.0
RUN_TIMEOUT_S = 3600.0


def build_block_csim(block_dir: Path, project_name: str) -> Path:
    """Compile the block, its testbench and the hls4ml encoder (the sources vendor csim compiles)."""
    block_dir = Path(block_dir)
    with progress("econt block: g++ the HLS block and its testbench"):
        run_tool(
            compile_command(project_name, EXE),
            cwd=block_dir,
            timeout_s=COMPILE_TIMEOUT_S,
            log_path=block_dir / COMPILE_LOG,
        )
    return block_dir / EXE


def run_block_csim(exe: Path, calq: np.ndarray, bx: np.ndarray, elinks: int) -> np.ndarray:
    """The ``(N, L)`` e-link words the compiled block gives for ``calq`` ``(N, 48)`` and ``bx`` ``(N,)``."""
    rows = np.concatenate([np.asarray(calq), np.asarray(bx).reshape(-1, 1)], axis=1)
    if rows.shape[1] != N_CALQ + 1 or rows.min(initial=0) < 0 or rows.max(initial=0) >= 1 << 32:
        raise ValueError("block csim: expected (N, 48) CALQ and (N,) BX, non-negative")
    exe = Path(exe).resolve()
    with tempfile.TemporaryDirectory(prefix="micae_block_csim_") as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        rows.astype("<u4").tofile(fin)
        run_tool(
            [str(exe), "--binary", str(fin), str(fout)],
            cwd=exe.parent,
            timeout_s=RUN_TIMEOUT_S,
            log_path=exe.parent / RUN_LOG,
        )
        words = np.fromfile(fout, dtype="<u4")
    if words.size != len(rows) * elinks:
        raise ToolError(
            f"the block testbench gave {words.size} words for {len(rows)} rows x {elinks} e-links",
            f"see {exe.parent / RUN_LOG}",
        )
    return words.reshape(len(rows), elinks).astype(np.int64)


def block_csim(
    block_dir: Path, project_name: str, calq: np.ndarray, bx: np.ndarray, words: np.ndarray
) -> tuple[Comparison, dict[str, float]]:
    """Build and run the block's C++ on every row; the comparison with ``words`` (the Python reference) and the
    seconds spent (``build_seconds``, ``run_seconds``)."""
    expected = np.asarray(words, dtype=np.int64)
    t0 = time.monotonic()
    exe = build_block_csim(block_dir, project_name)
    t1 = time.monotonic()
    with progress(f"econt block: the HLS block's C++ on {len(expected)} vectors"):
        got = run_block_csim(exe, calq, bx, expected.shape[1])
    seconds = {"build_seconds": round(t1 - t0, 2), "run_seconds": round(time.monotonic() - t1, 2)}
    return Comparison(**compare_codes(expected, got)), seconds
