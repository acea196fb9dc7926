"""Run the generated testbench in Icarus Verilog on given vectors and summarize the mismatches."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from micae.errors import ConfigError, ToolError
from micae.fixed.types import FixedType
from micae.results.levels import SimulationResult
from micae.results.rtl import Port, RtlDesign
from micae.rtl.build import SOURCES_LIST, load_manifest
from micae.rtl.testbench import parse_sim_output, unpack_bus, write_vectors
from micae.tools import require_tool, run_tool, tail

FIRST_MISMATCHES = 10
MIN_CHUNK = 1000


def _port_type(port: Port) -> FixedType:
    return FixedType(port.width, port.frac, port.signed)


def _remaining(deadline: float, what: str, timeout_s: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ToolError(f"{what} not started: the {timeout_s:g} s simulation budget is used up", "raise timeout_s")
    return left


def simulate_rtl(
    rtl_dir: str | Path,
    x_codes: np.ndarray,
    expected_codes: np.ndarray,
    timeout_s: float = 600.0,
    *,
    jobs: int | None = None,
) -> SimulationResult:
    """Simulate ``rtl_dir`` (written by ``write_rtl``) on ``x_codes`` and compare with ``expected_codes``.

    Returns a :class:`~micae.results.levels.SimulationResult`: ``vectors``, ``mismatches`` (vectors with any
    wrong latent), ``max_abs_lsb_error`` (over all latents, in latent LSBs; None if some output was X),
    ``first_mismatches`` ([index, expected, got], ...), ``mismatch_rows`` (every mismatching index),
    ``seconds``, ``jobs`` and ``simulator``. The
    pipeline holds no state between vectors, so the vectors are split into
    ``jobs`` chunks (default: one per CPU, at most 8, >= 1000 vectors each)
    simulated in parallel; Icarus runs roughly 150 vectors/s per core on the
    ECON-T-sized encoder. Never raises
    on a mismatch; raises :class:`ToolError` if iverilog/vvp are missing,
    fail, time out, or the testbench gives no verdict.
    """
    rtl_dir = Path(rtl_dir).resolve()
    man = load_manifest(rtl_dir)
    top = man.top
    t_in, t_out = port_types(man)
    n_lat = man.ports.output.count
    x, exp = port_vectors(man, x_codes, expected_codes)
    require_tool("iverilog")
    require_tool("vvp")
    sources = [str(rtl_dir / s) for s in (rtl_dir / SOURCES_LIST).read_text().split()]
    sources.append(str(rtl_dir / f"{top}_tb.v"))

    start = time.monotonic()
    deadline = start + timeout_s
    n_jobs = max(1, min(jobs or _default_jobs(), -(-len(x) // MIN_CHUNK)))
    bounds = np.linspace(0, len(x), n_jobs + 1).astype(int)
    chunks = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]

    def run_chunk(lo: int, hi: int) -> tuple[list, dict]:
        with tempfile.TemporaryDirectory(prefix="micae_sim_") as tmp:
            work = Path(tmp)
            write_vectors(work / "in.hex", x[lo:hi], t_in)
            write_vectors(work / "out.hex", exp[lo:hi], t_out)
            cmd = [
                "iverilog",
                "-g2005",
                f"-P{top}_tb.N_VECTORS={hi - lo}",
                "-o",
                "sim.vvp",
                "-s",
                f"{top}_tb",
                *sources,
            ]
            run_tool(cmd, cwd=work, timeout_s=_remaining(deadline, "iverilog", timeout_s))
            text = run_tool(
                ["vvp", "-n", "sim.vvp", f"+vin={work / 'in.hex'}", f"+vout={work / 'out.hex'}"],
                cwd=work,
                timeout_s=_remaining(deadline, "vvp", timeout_s),
            )
        parsed = parse_sim_output(text)
        verdict = parsed["verdict"]
        if verdict is None or verdict["vectors"] != hi - lo:
            raise ToolError(
                f"the testbench of {top} gave no PASS/FAIL verdict; last lines:\n{tail(text)}",
                "rerun run_sim.sh and read its output",
            )
        return [(i + lo, g, e) for i, g, e in parsed["mismatches"]], verdict

    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        results = list(pool.map(lambda c: run_chunk(*c), chunks))
    mismatches = [m for res, _ in results for m in res]
    verdict = {
        "vectors": sum(v["vectors"] for _, v in results),
        "errors": sum(v["errors"] for _, v in results),
    }
    out = summarize(mismatches, verdict, exp, t_out, n_lat, time.monotonic() - start)
    return SimulationResult(**out, jobs=len(chunks), simulator=f"icarus {icarus_version()}")


def port_types(man: RtlDesign) -> tuple[FixedType, FixedType]:
    """The input and output element types of an RTL manifest (``rtl.json``)."""
    return _port_type(man.ports.input), _port_type(man.ports.output)


def port_vectors(man: RtlDesign, x_codes: np.ndarray, expected_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(n, port inputs)`` and ``(n, latents)`` int64 codes for the top module of ``man``.

    When the manifest lists ``input_columns`` (the live flat inputs, in port order), ``x_codes``
    are full-width input codes and the port is driven with ``x_codes[:, input_columns]``.
    """
    t_in, t_out = port_types(man)
    n_port, n_lat = man.ports.input.count, man.ports.output.count
    x = np.asarray(x_codes, dtype=np.int64).reshape(len(x_codes), -1)
    exp = np.asarray(expected_codes, dtype=np.int64).reshape(len(expected_codes), -1)
    if man.input_columns is not None:
        cols = np.asarray(man.input_columns, dtype=np.int64)
        if len(cols) != n_port or (len(cols) and (cols.min() < 0 or cols.max() >= x.shape[1])):
            raise ConfigError(
                f"rtl.json lists {len(cols)} input_columns up to {cols.max(initial=-1)} for a {n_port}-input port, "
                f"but the input codes have {x.shape[1]} columns",
                "pass the full-width input codes of the encoder (before masking)",
            )
        x = x[:, cols]
    if len(x) == 0 or x.shape[1] != n_port or exp.shape != (len(x), n_lat):
        raise ConfigError(
            f"vectors of shape {x.shape} / {exp.shape} do not fit ports ({n_port} inputs, {n_lat} latents)",
            "pass (n, n_inputs) input codes and (n, n_latent) expected codes, n >= 1",
        )
    for name, arr, t in (("input", x, t_in), ("expected", exp, t_out)):
        if arr.min() < t.min_int or arr.max() > t.max_int:
            raise ConfigError(
                f"{name} codes span [{arr.min()}, {arr.max()}], outside {t.describe()} [{t.min_int}, {t.max_int}]",
                "pass integer codes of the port types (see rtl.json)",
            )
    return x, exp


@functools.cache
def icarus_version() -> str:
    try:
        out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    m = re.search(r"version\s+(\S+)", out)
    return m.group(1) if m else "unknown"


def crosscheck_subset(sources: dict[str, slice], n_total: int, limit: int = 1000, seed: int = 0) -> np.ndarray:
    """Sorted row indices for the Icarus cross-check: every tie and saturation vector, random others up to ``limit``.

    ``sources`` are the slices of :func:`micae.verify.vectors.build_vector_set` (a source counts as a
    tie/saturation source when its name contains ``tie`` or ``satur``). Those rows are always all
    included, even beyond ``limit``; the remaining budget is drawn without replacement from the rest.
    """
    if n_total < 0 or limit < 0:
        raise ConfigError(f"n_total {n_total} and limit {limit} must be >= 0", "pass non-negative counts")
    must = np.zeros(n_total, dtype=bool)
    for name, sl in sources.items():
        if "tie" in name.lower() or "satur" in name.lower():
            must[sl] = True
    picked = np.flatnonzero(must)
    rest = np.flatnonzero(~must)
    k = min(len(rest), max(limit - len(picked), 0))
    extra = np.random.default_rng(seed).choice(rest, size=k, replace=False) if k else rest[:0]
    return np.sort(np.concatenate([picked, extra])).astype(np.int64)


def _default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def summarize(mismatches, verdict: dict, exp: np.ndarray, t_out: FixedType, n_lat: int, seconds: float) -> dict:
    first = []
    max_err: int | None = 0
    for idx, got_hex, _ in mismatches:
        got = unpack_bus(got_hex, t_out, n_lat)
        want = [int(v) for v in exp[idx]]
        if any(g is None for g in got):
            max_err = None
        elif max_err is not None:
            max_err = max(max_err, max(abs(g - w) for g, w in zip(got, want)))
        if len(first) < FIRST_MISMATCHES:
            first.append([idx, want, got])
    if verdict["errors"] > len(mismatches):  # outputs that never arrived
        max_err = None
    return {
        "vectors": int(verdict["vectors"]),
        "mismatches": int(verdict["errors"]),
        "max_abs_lsb_error": max_err,
        "first_mismatches": first,
        "mismatch_rows": sorted(idx for idx, _, _ in mismatches),
        "seconds": round(seconds, 2),
    }
