"""The ``csim`` level: hls4ml's own testbench, built standalone with g++, on tb_data/.

It compiles exactly the sources Vivado/Vitis csim compiles (the testbench and
``firmware/<top>.cpp`` with the bundled ``ap_types``) and parses the results
exactly (the testbench is patched to print every digit).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from micae.errors import ToolError
from micae.log import progress
from micae.tools import run_tool

COMPILE_TIMEOUT_S = 900
RUN_TIMEOUT_S = 900


def build_csim(project_dir: Path, project_name: str) -> Path:
    exe = project_dir / "csim_tb"
    cmd = [
        "g++",
        "-O1",
        "-std=c++14",
        "-w",
        "-Ifirmware",
        "-Ifirmware/ap_types",
        # csim reads the weights from text files, as Vitis csim does from its copied weights/ folder
        '-DWEIGHTS_DIR="firmware/weights"',
        f"{project_name}_test.cpp",
        f"firmware/{project_name}.cpp",
        "-o",
        exe.name,
    ]
    with progress("csim: g++ compile"):
        run_tool(cmd, cwd=project_dir, timeout_s=COMPILE_TIMEOUT_S, log_path=project_dir / "csim_compile.log")
    return exe


def run_csim(project_dir: Path, exe: Path) -> Path:
    with progress("csim: run testbench"):
        run_tool([str(exe.resolve())], cwd=project_dir, timeout_s=RUN_TIMEOUT_S, log_path=project_dir / "csim_run.log")
    return project_dir / "tb_data" / "csim_results.log"


def parse_results(path: Path, frac: int, n_out: int) -> np.ndarray:
    """Exact integer codes from the testbench's decimal output."""
    if not path.exists():
        raise ToolError(f"the testbench wrote no {path.name}", f"see {path.parent.parent / 'csim_run.log'}")
    rows = []
    scale = 2**frac if frac >= 0 else Fraction(1, 2 ** (-frac))
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != n_out:
            raise ToolError(
                f"{path.name} line {lineno} has {len(tokens)} values, expected {n_out}", "re-run the testbench"
            )
        row = []
        for tok in tokens:
            value = Fraction(tok) * scale
            if value.denominator != 1:
                raise ToolError(
                    f"{path.name} line {lineno}: {tok} is not on the latent grid 2**-{frac} "
                    "(printed with too few digits?)",
                    "check that the testbench precision patch is in place",
                )
            row.append(int(value))
        rows.append(row)
    return np.asarray(rows, dtype=np.int64).reshape(-1, n_out)


def find_vendor_results(project_dir: Path, newer_than: float | None = None) -> dict[str, Path]:
    """The testbench outputs of a vendor run: csim's and cosim's ``tb_data/*results.log``.

    Vivado/Vitis run the testbench in ``<top>_prj/solution*/csim/build`` (csim) and
    ``<top>_prj/solution*/sim/wrapc`` (cosim), where ``tb_data/`` is copied; micae's own
    standalone csim writes to the project's ``tb_data/``, which is never taken here.
    """
    found: dict[str, Path] = {}
    patterns = {
        "csim": "*_prj/solution*/csim/build/tb_data/csim_results.log",
        "cosim": "*_prj/solution*/sim/*/tb_data/rtl_cosim_results.log",
    }
    for key, pattern in patterns.items():
        hits = [
            p for p in sorted(Path(project_dir).glob(pattern)) if newer_than is None or p.stat().st_mtime >= newer_than
        ]
        if hits:
            found[key] = hits[0]
    return found
