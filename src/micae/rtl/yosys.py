"""Resource estimates from open-source synthesis: ``yosys synth_xilinx`` and its ``stat``.

Part -> ``synth_xilinx -family`` (first match wins, on the lower-cased part name):

===================================================  ======  =======================
part prefix                                          family  device generation
===================================================  ======  =======================
xcvu*p, xcku*p, xczu*, xcau*, xcvp*/xcvc*/xcve*      xcup    UltraScale+ (Versal: closest available)
xcvu*, xcku* (no trailing ``p`` in the device)       xcu     UltraScale
xc7* (xc7a, xc7k, xc7v, xc7z, xc7s)                  xc7     7 series
xc6v*                                                xc6v    Virtex-6
xc6s*                                                xc6s    Spartan-6
xc5v*                                                xc5v    Virtex-5
===================================================  ======  =======================

Anything else is a :class:`ConfigError`. Counts are yosys' technology mapping
(no placement, no vendor optimizations): comparable between designs, not
equal to Vivado's numbers.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from micae.config.synth import DEFAULT_PART
from micae.errors import ConfigError, ToolError
from micae.results.hardware import Resources
from micae.rtl.build import SOURCES_LIST
from micae.tools import require_tool, run_tool, tail

_FAMILY_RULES: list[tuple[str, str]] = [
    (r"^xc(vu|ku)\d+p", "xcup"),
    (r"^xczu", "xcup"),
    (r"^xcau", "xcup"),
    (r"^xcv[pce]\d", "xcup"),
    (r"^xc(vu|ku)\d+", "xcu"),
    (r"^xc7", "xc7"),
    (r"^xc6v", "xc6v"),
    (r"^xc6s", "xc6s"),
    (r"^xc5v", "xc5v"),
]

_FF_CELLS = re.compile(r"^(FD[RSCP]E(_1)?|FD[RSCP]|FDE|FD)$")
_LUT_CELLS = re.compile(r"^LUT[1-6]$")
_CARRY_CELLS = re.compile(r"^(CARRY4|CARRY8|MUXCY|XORCY)$")
_DSP_CELLS = re.compile(r"^DSP")
_BRAM_CELLS = re.compile(r"^(RAMB|URAM)")
_STAT_LINE = re.compile(r"^\s+(\S+)\s+(\d+)\s*$")


def family_for_part(part: str) -> str:
    """The ``synth_xilinx -family`` value for a Xilinx part name (see the module table)."""
    p = part.strip().lower()
    for pattern, family in _FAMILY_RULES:
        if re.match(pattern, p):
            return family
    raise ConfigError(
        f"no yosys synth_xilinx family known for part {part!r}",
        "pass a Xilinx part such as xcvu13p-flga2577-2-e, xcku115-flvb2104-2-e or xc7a200t-fbg676-2",
    )


def parse_stat(text: str) -> dict[str, int]:
    """Cell counts of the last ``Number of cells`` block printed by ``stat``."""
    blocks = text.split("Number of cells:")
    if len(blocks) < 2:
        raise ToolError(
            f"yosys printed no 'stat' cell counts; last lines:\n{tail(text)}", "rerun yosys by hand and read its log"
        )
    cells: dict[str, int] = {}
    for line in blocks[-1].splitlines()[1:]:
        if not line.strip():
            if cells:
                break
            continue
        m = _STAT_LINE.match(line)
        if not m:
            break
        cells[m.group(1)] = int(m.group(2))
    return cells


def summarize_cells(cells: dict[str, int]) -> dict[str, int]:
    def total(rx: re.Pattern) -> int:
        return sum(n for c, n in cells.items() if rx.match(c))

    return {
        "LUT": total(_LUT_CELLS),
        "FF": total(_FF_CELLS),
        "CARRY": total(_CARRY_CELLS),
        "DSP": total(_DSP_CELLS),
        "BRAM": total(_BRAM_CELLS),
    }


def _version(timeout_s: float) -> str:
    out = run_tool(["yosys", "-V"], cwd=Path.cwd(), timeout_s=min(timeout_s, 60.0))
    m = re.search(r"Yosys\s+(\S+)", out)
    return m.group(1) if m else out.strip()


def yosys_resources(rtl_dir: str | Path, top: str, part: str = DEFAULT_PART, timeout_s: float = 900.0) -> Resources:
    """Synthesize ``top`` from ``rtl_dir/sources.f`` with yosys and count cells.

    Returns :class:`~micae.results.hardware.Resources` (estimator, part, family, LUT, FF, CARRY, DSP, BRAM,
    cells); LUT sums LUT1..LUT6, FF the FD* flip-flops, CARRY the CARRY4/CARRY8 chains.
    SRL shift registers and MUXF* wide-mux cells stay visible under ``cells``.
    """
    family = family_for_part(part)
    require_tool("yosys")
    rtl_dir = Path(rtl_dir).resolve()
    listing = rtl_dir / SOURCES_LIST
    if not listing.is_file():
        raise ConfigError(f"{listing} not found", "point at a folder written by micae.rtl.write_rtl")
    sources = [str(rtl_dir / s) for s in listing.read_text().split()]
    flags = f"synth_xilinx -flatten -noiopad -family {family} -top {top}"
    with tempfile.TemporaryDirectory(prefix="micae_yosys_") as tmp:
        script = Path(tmp) / "synth.ys"
        script.write_text(
            "\n".join([*(f'read_verilog "{s}"' for s in sources), flags, "stat"])
            + "\n"  # quoted: paths may hold spaces
        )
        text = run_tool(["yosys", "-q", "-l", "yosys.log", "-s", str(script)], cwd=Path(tmp), timeout_s=timeout_s)
        log = (Path(tmp) / "yosys.log").read_text(errors="replace")
    cells = parse_stat(log or text)
    return Resources(
        estimator=f"yosys {_version(timeout_s)} {flags.replace(f' -top {top}', '')}",
        part=part,
        family=family,
        **summarize_cells(cells),
        cells=cells,
    )
