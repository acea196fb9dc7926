"""Logic-level static timing analysis per pipeline stage: yosys ``synth_xilinx`` + ``sta``.

da4ml writes each pipeline stage as its own combinational module
(``<core>_stage<k>``) between two register banks. One yosys process
synthesizes the whole top with those modules kept as separate hierarchy,
counts cells (``stat``), loads the Xilinx cell timing from the ``specify``
blocks of yosys' ``cells_sim.v`` and runs ``sta`` on every stage module. The
delay of a stage is its latest arrival time, input port to output port (when
yosys' latest path ends on an unused net: the lower edge of the top bin of its
endpoint arrival histogram, still a lower bound).

What this is: a lower bound. Cell delays only (yosys' ``cells_sim.v`` figures,
which come from 7-series prjxray data, whatever the family), no routing, no
register clock-to-out or setup. Real designs after place-and-route are slower.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

from micae.cache import ToolCache, input_key
from micae.errors import ConfigError, ToolError
from micae.log import info
from micae.results.hardware import CacheUse, LogicStaAnalysis, Resources, ToolInfo
from micae.rtl.build import SOURCES_LIST
from micae.rtl.yosys import _version, family_for_part, parse_stat, summarize_cells
from micae.tools import require_tool, run_tool, tail

NOTE = "cell delays only, no routing"
CACHE_KIND = "yosys-sta"
_ARRIVAL = re.compile(r"^Latest arrival time in '(?P<module>[^']+)' is (?P<ps>\d+):\s*$")
_STEP = re.compile(r"^\s*(?P<ps>\d+)\s+(?P<cell>\S.*?)\s+\((?P<type>[A-Za-z0-9_]+)\.(?P<arc>\S+)\)\s*$")
_START = re.compile(r"^\s*0\s+(?P<net>\\?\S+(?: \[\d+\])?)\s+\(<primary input>\)\s*$")
_END = re.compile(r"^\s*\d+\s+\((?P<kind><[^>]+>)\)\s*$")
_NET = re.compile(r"^\s{6,}(?P<net>\S.*?)\s*$")
_STAGE = re.compile(r"_stage(\d+)$")
_BIN = re.compile(r"^\(\s*(?P<hi>-?\d+),\s*(?P<lo>-?\d+)\] \|(?P<bar>[*+]*)")


def parse_sta(text: str) -> dict[str, dict]:
    """Per module, from a yosys log: the latest path and the slowest endpoint.

    ``{"delay_ps", "start", "end", "end_kind", "cells": {type: n}, "dangling", "endpoint_bin_ps", "endpoint_ps"}``.
    ``dangling`` is True when yosys warned that its latest path ends on a net that is no endpoint
    (an unused carry output, say): ``delay_ps`` then overstates the slowest real endpoint, which
    lies in the top non-empty bin ``endpoint_bin_ps = [lo, hi)`` of yosys' arrival histogram.
    ``endpoint_ps`` is ``delay_ps`` for a real endpoint, else ``lo`` (a lower bound).
    """
    out: dict[str, dict] = {}
    current: dict | None = None
    last: dict | None = None
    for line in text.splitlines():
        m = _ARRIVAL.match(line)
        if m:
            current = {"delay_ps": int(m["ps"]), "start": None, "end": None, "end_kind": None, "cells": {}}
            current.update(dangling=False, endpoint_bin_ps=None)
            out[m["module"]] = last = current
            continue
        b = _BIN.match(line)
        if b and last is not None and b["bar"] and last["endpoint_bin_ps"] is None:
            last["endpoint_bin_ps"] = [int(b["lo"]), int(b["hi"])]  # bins print from the top down
            continue
        if current is None:
            continue
        if "does not terminate in a recognised endpoint" in line:
            current["dangling"] = True
        elif (e := _END.match(line)) and current["end_kind"] is None:
            current["end_kind"] = e["kind"]
        elif (s := _STEP.match(line)) is not None:
            current["cells"][s["type"]] = current["cells"].get(s["type"], 0) + 1
        elif (st := _START.match(line)) is not None:
            current["start"] = st["net"]
            current = None  # the path ends at its start point
        elif (n := _NET.match(line)) and current["end"] is None and not line.strip().startswith("Warning"):
            current["end"] = n["net"]
    for path in out.values():
        bin_ps = path["endpoint_bin_ps"]
        path["endpoint_ps"] = bin_ps[0] if path["dangling"] and bin_ps else path["delay_ps"]
    return out


def stage_modules(sources: list[str]) -> list[str]:
    """The da4ml stage modules (``*_stage<k>.v``), in stage order."""
    stems = [Path(s).stem for s in sources if _STAGE.search(Path(s).stem)]
    return sorted(stems, key=lambda s: int(_STAGE.search(s).group(1)))


def synth_sta(rtl_dir: str | Path, top: str, part: str, *, timeout_s: float = 900.0) -> dict:
    """One yosys run: ``synth_xilinx`` with every stage kept as its own module, ``stat``, ``sta`` per stage.

    Returns ``{"stages": [module, ...], "sta": parse_sta(...), "cells": {...}, "family", "version",
    "seconds", "log"}``.
    """
    family = family_for_part(part)
    require_tool("yosys")
    rtl_dir = Path(rtl_dir).resolve()
    listing = rtl_dir / SOURCES_LIST
    if not listing.is_file():
        raise ConfigError(f"{listing} not found", "point at a folder written by micae.rtl.write_rtl")
    sources = listing.read_text().split()
    stages = stage_modules(sources)
    if not stages:
        raise ConfigError(f"no <core>_stage<k>.v module in {listing}", "write the RTL with micae.rtl.write_rtl")
    start = time.monotonic()
    version = _version(timeout_s)
    lines = _script(rtl_dir, sources, stages, top, family)
    cache = ToolCache(CACHE_KIND)
    key = input_key(CACHE_KIND, version, "\n".join(lines).replace(str(rtl_dir), "<rtl>"), *_texts(rtl_dir, sources))
    hit = cache.get(key)
    if hit is not None:
        log = (hit.path / "yosys.log").read_text(errors="replace")
        info(f"yosys sta: cached result {key} (made {hit.stored} in {hit.seconds} s; MICAE_CACHE=off to rerun)")
    else:
        log = _run_yosys(lines, timeout_s)
    if "Executing STA pass" not in log:
        raise ToolError(f"yosys did not reach its sta pass; last lines:\n{tail(log)}", "read the yosys log")
    if hit is None:
        cache.put(key, {"yosys.log": log}, seconds=round(time.monotonic() - start, 2))
    sta = parse_sta(log)
    for m in stages:  # no arrival line: the stage is wires only (yosys found no timed cell)
        sta.setdefault(m, {"delay_ps": 0, "endpoint_ps": 0, "start": None, "end": None, "end_kind": None})
        sta[m].setdefault("cells", {})
        sta[m].setdefault("dangling", False)
    return {
        "stages": stages,
        "sta": sta,
        "cells": parse_stat(log.split("Executing STA")[0]),
        "family": family,
        "version": version,
        "seconds": round(time.monotonic() - start, 2),
        "log": log,
        "cache": CacheUse(**hit.describe(CACHE_KIND)) if hit else None,
    }


def _script(rtl_dir: Path, sources: list[str], stages: list[str], top: str, family: str) -> list[str]:
    lines = [*(f'read_verilog "{rtl_dir / s}"' for s in sources), f"hierarchy -top {top}"]
    lines += [f"setattr -mod -set keep_hierarchy 1 {m}" for m in stages]
    lines += [f"synth_xilinx -flatten -noiopad -family {family} -top {top}", f"stat -top {top}"]
    # splitnets: yosys 0.23's sta copies a wire's whole arrival vector on every update; one-bit
    # wires make it ~9x faster (27 -> 3 s CPU on the reference encoder), same arrival times.
    lines += [f"splitnets -ports {' '.join(stages)}", "read_verilog -lib -specify +/xilinx/cells_sim.v"]
    return [*lines, "sta " + " ".join(stages)]


def _texts(rtl_dir: Path, sources: list[str]) -> list[bytes]:
    return [name.encode() + b"\0" + (rtl_dir / name).read_bytes() for name in sources]


def _run_yosys(lines: list[str], timeout_s: float) -> str:
    with tempfile.TemporaryDirectory(prefix="micae_sta_") as tmp:
        script = Path(tmp) / "sta.ys"
        script.write_text("\n".join(lines) + "\n")
        run_tool(["yosys", "-q", "-l", "yosys.log", "-s", str(script)], cwd=Path(tmp), timeout_s=timeout_s)
        return (Path(tmp) / "yosys.log").read_text(errors="replace")


def timing_entry(run: dict, part: str, clock_ns: float) -> LogicStaAnalysis:
    """The ``logic-sta`` timing analysis from a :func:`synth_sta` run."""
    delays = [run["sta"][m]["endpoint_ps"] / 1000.0 for m in run["stages"]]
    worst = max(range(len(delays)), key=delays.__getitem__)
    path = run["sta"][run["stages"][worst]]
    cells = ", ".join(f"{n} {t}" for t, n in sorted(path["cells"].items(), key=lambda kv: -kv[1]))
    text = (
        f"stage {worst} ({run['stages'][worst]}): {path['start']} -> {path['end']}, "
        f"{delays[worst]:.3f} ns through {sum(path['cells'].values())} cells ({cells})"
    )
    if path["dangling"] and path.get("endpoint_bin_ps"):
        lo, hi = path["endpoint_bin_ps"]
        text = (
            f"stage {worst} ({run['stages'][worst]}): slowest endpoint between {lo / 1000:.3f} and "
            f"{min(hi, path['delay_ps']) / 1000:.3f} ns (yosys' latest path, {path['delay_ps'] / 1000:.3f} ns "
            f"from {path['start']}, ends on an unused net)"
        )
    return LogicStaAnalysis(
        target=part,
        tool=ToolInfo(name="yosys sta", version=run["version"]),
        clock_ns=float(clock_ns),
        fmax_mhz=round(1000.0 / delays[worst], 1) if delays[worst] > 0 else None,
        slack_ns=round(clock_ns - delays[worst], 3),
        met=bool(delays[worst] <= clock_ns),
        critical_path=text,
        stage_delays_ns=[round(d, 3) for d in delays],
        lower_bound=True,
        note=NOTE + f"; cell delays from yosys cells_sim.v (7-series figures), family {run['family']}; "
        "register clock-to-out and setup not included",
        seconds=run["seconds"],
        cache=run.get("cache"),
    )


def logic_sta(
    rtl_dir: str | Path, top: str, part: str, clock_ns: float, *, timeout_s: float = 900.0
) -> LogicStaAnalysis:
    """Per-stage logic STA of the RTL in ``rtl_dir``: a ``logic-sta`` timing entry (a lower bound, see module)."""
    if clock_ns <= 0:
        raise ConfigError(f"clock period must be positive, got {clock_ns}", "pass clock_ns > 0 (e.g. 5.0)")
    return timing_entry(synth_sta(rtl_dir, top, part, timeout_s=timeout_s), part, clock_ns)


def logic_sta_and_resources(
    rtl_dir: str | Path, top: str, part: str, clock_ns: float, *, timeout_s: float = 900.0
) -> tuple[LogicStaAnalysis, Resources]:
    """:func:`logic_sta` and the cell counts of the same yosys run (saves a second ``synth_xilinx``).

    The counts come from a synthesis that keeps each stage as its own module, so yosys cannot
    optimize across the stage registers; they can differ slightly from :func:`yosys_resources`.
    """
    run = synth_sta(rtl_dir, top, part, timeout_s=timeout_s)
    resources = Resources(
        estimator=f"yosys {run['version']} synth_xilinx -flatten -noiopad -family {run['family']} "
        "(stages kept as modules)",
        part=part,
        family=run["family"],
        **summarize_cells(run["cells"]),
        cells=run["cells"],
        cache=run.get("cache"),
    )
    return timing_entry(run, part, clock_ns), resources
