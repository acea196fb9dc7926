"""Benchmark the open-source RTL route against da4ml's stock flow on the same weights.

Flows (same encoder, same yosys synth_xilinx, same part):

* ``micae``     -- micae.rtl.write_rtl defaults: exact QKeras requantizer (half-even
                   as ``acc + half - eps + lsb*eps``, truncated-compare saturation),
                   latency cutoff from the clock.
* ``tiemux``    -- same, half-even by a tie detector and an LSB mux (fewer carry cells).
* ``textbook``  -- same rounding sum, then da4ml's own SAT (full-width comparisons).
* ``baseline``  -- da4ml's default flow (``da4ml convert`` defaults: HWConfig(1,-1,-1),
                   hard_dc=2, latency cutoff 5, retiming) with its native quantizer
                   ``quantize(..., 'SAT', 'RND')``: round half *up*, so not bit-exact.

Prints LUT/FF/CARRY/DSP, pipeline cycles, wall time per step, ratios vs the
baseline, and whether the goals (<= 5 cycles at 5 ns, 0 DSP, fewer LUTs than
the baseline) are met. The micae flow is also simulated in Icarus on
``--vectors`` stress vectors; the others are checked with da4ml's interpreter.

Usage: python bench/bench_rtl.py [--seeds 0 1 2] [--vectors 10000] [--encoder module:function]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from micae.rtl.build import write_rtl
from micae.rtl.simulate import simulate_rtl
from micae.rtl.trace import evaluate, trace_encoder
from micae.rtl.yosys import yosys_resources
from micae.verify.vectors import build_vector_set

sys.path.insert(0, str(Path(__file__).parent))
from reference_encoders import conv_dense_encoder  # noqa: E402  (bench/ beside this script)

FLOWS = {
    "micae": {"rounding": "half_even", "solver": None, "cutoff": None},
    "tiemux": {"rounding": "half_even_tiemux", "solver": None, "cutoff": None},
    "textbook": {"rounding": "half_even_textbook", "solver": None, "cutoff": None},
    "baseline": {"rounding": "da4ml_native", "solver": {"hard_dc": 2}, "cutoff": 5.0},
}


def load_trained(path: str):
    """The integer model of a trained encoder (a run folder such as models/econt, or an .h5)."""
    from micae.models.extract import extract_encoder
    from micae.models.io import load_model

    p = Path(path)
    return extract_encoder(load_model(p / "encoder.h5" if p.is_dir() else p), name=p.stem).encoder


def load_encoder(spec: str | None, seed: int, model: str | None = None):
    if model:
        return load_trained(model)
    if not spec:
        return conv_dense_encoder(seed=seed, name=f"econt_like_s{seed}")
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func or "encoder")()


def run_flow(enc, flow: str, out: Path, x: np.ndarray, want: np.ndarray, args) -> dict:
    cfg = FLOWS[flow]
    t = {}
    t0 = time.perf_counter()
    traced = trace_encoder(enc, rounding=cfg["rounding"], solver_options=cfg["solver"])
    t["trace_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sec = write_rtl(
        enc, out, latency_cutoff=cfg["cutoff"], clock_ns=args.clock_ns, vectors_in=x, vectors_out=want, traced=traced
    ).to_json()
    t["pipeline_write_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    interp_bad = int((evaluate(traced, x) != want).any(axis=1).sum())
    t["da4ml_interp_s"] = time.perf_counter() - t0
    sim = None
    if flow == "micae" and not args.no_sim:
        t0 = time.perf_counter()
        sim = simulate_rtl(out, x, want, timeout_s=3600).to_json()
        t["icarus_sim_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = yosys_resources(out, sec["top"], args.part, timeout_s=3600).to_json()
    t["yosys_s"] = time.perf_counter() - t0
    return {
        "flow": flow,
        "LUT": res["LUT"],
        "INV": res["cells"].get("INV", 0),
        "FF": res["FF"],
        "CARRY": res["CARRY"],
        "DSP": res["DSP"],
        "BRAM": res["BRAM"],
        "stages": sec["da4ml"]["stages"],
        "cycles": sec["latency_cycles"],
        "cutoff": sec["da4ml"]["latency_cutoff"],
        "adder_levels": sec["da4ml"]["adder_levels"],
        "da4ml_cost": sec["da4ml"]["cost"],
        "interp_mismatching_vectors": interp_bad,
        "sim": sim,
        "seconds": {k: round(v, 2) for k, v in t.items()},
        "estimator": res["estimator"],
    }


def ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "-"


def report(seed: int, n_vec: int, rows: dict[str, dict], clock_ns: float) -> list[str]:
    base = rows["baseline"]
    lines = [
        f"\n== seed {seed}: {n_vec} vectors, clock {clock_ns:g} ns, {base['estimator']}",
        f"{'flow':<10}{'LUT':>7}{'(+INV)':>8}{'FF':>7}{'CARRY':>7}{'DSP':>5}{'stages':>7}{'cycles':>7}"
        f"{'cutoff':>7}{'levels':>7}{'da4ml':>9}{'exact?':>16}",
    ]
    for r in rows.values():
        exact = "yes" if r["interp_mismatching_vectors"] == 0 else f"no ({r['interp_mismatching_vectors']} bad)"
        lines.append(
            f"{r['flow']:<10}{r['LUT']:>7}{r['LUT'] + r['INV']:>8}{r['FF']:>7}{r['CARRY']:>7}{r['DSP']:>5}"
            f"{r['stages']:>7}{r['cycles']:>7}{r['cutoff']:>7g}{r['adder_levels']:>7g}{r['da4ml_cost']:>9.0f}{exact:>16}"
        )
    lines.append("ratios vs baseline (LUT, LUT+INV, FF, CARRY, cycles):")
    for r in rows.values():
        if r is base:
            continue
        lut_inv = ratio(r["LUT"] + r["INV"], base["LUT"] + base["INV"])
        lines.append(
            f"  {r['flow']:<10}{ratio(r['LUT'], base['LUT']):>7}{lut_inv:>8}"
            f"{ratio(r['FF'], base['FF']):>7}{ratio(r['CARRY'], base['CARRY']):>7}"
            f"{ratio(r['cycles'], base['cycles']):>7}"
        )
    lines.append("seconds per step:")
    for r in rows.values():
        lines.append(f"  {r['flow']:<10}" + ", ".join(f"{k} {v:.1f}" for k, v in r["seconds"].items()))
    m = rows["micae"]
    if m["sim"]:
        s = m["sim"]
        lines.append(
            f"Icarus: {s['vectors']} vectors, {s['mismatches']} mismatches, max |err| {s['max_abs_lsb_error']} LSB, "
            f"{s['seconds']:.1f} s on {s['jobs']} job(s) = {s['vectors'] / s['seconds']:.0f} vectors/s"
        )
    goals = {
        f"<= 5 cycles at {clock_ns:g} ns": m["cycles"] <= 5,
        "0 DSP": m["DSP"] == 0,
        "fewer LUTs than baseline": m["LUT"] < base["LUT"],
        "bit-exact (interpreter" + (" and Icarus)" if m["sim"] else ")"): m["interp_mismatching_vectors"] == 0
        and (not m["sim"] or m["sim"]["mismatches"] == 0),
    }
    lines += [f"goal {k}: {'MET' if ok else 'NOT MET'}" for k, ok in goals.items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--vectors", type=int, default=10000)
    p.add_argument("--clock-ns", type=float, default=5.0)
    p.add_argument("--part", default="xcvu13p-flga2577-2-e")
    p.add_argument(
        "--encoder", help="module:function returning an IntegerEncoder (default: ECON-T-like random weights)"
    )
    p.add_argument("--model", help="trained encoder: run folder (e.g. models/econt) or .h5; default: random weights")
    p.add_argument("--flows", nargs="+", default=list(FLOWS), choices=list(FLOWS))
    p.add_argument("--no-sim", action="store_true", help="skip the Icarus run")
    p.add_argument("--out", help="keep the generated folders here (default: a temporary folder)")
    p.add_argument("--json", help="also write all figures to this JSON file")
    args = p.parse_args(argv)
    if "baseline" not in args.flows or "micae" not in args.flows:
        p.error("--flows must include micae and baseline")

    everything = []
    with tempfile.TemporaryDirectory(prefix="micae_bench_rtl_") as tmp:
        root = Path(args.out or tmp)
        for seed in args.seeds:
            enc = load_encoder(args.encoder, seed, args.model)
            t0 = time.perf_counter()
            x, _ = build_vector_set(enc, args.vectors, seed=seed)
            want = enc.latents(x)
            print(f"[seed {seed}] {len(x)} stress vectors in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            rows = {}
            for flow in args.flows:
                print(f"[seed {seed}] flow {flow} ...", file=sys.stderr, flush=True)
                rows[flow] = run_flow(enc, flow, root / f"seed{seed}" / flow, x, want, args)
            print("\n".join(report(seed, len(x), rows, args.clock_ns)), flush=True)
            everything.append({"seed": seed, "encoder": enc.name, "vectors": int(len(x)), "flows": rows})
    if len(everything) > 1:
        r = [e["flows"]["micae"]["LUT"] / e["flows"]["baseline"]["LUT"] for e in everything]
        print(f"\nLUT ratio micae/baseline over seeds {args.seeds}: " + ", ".join(f"{v:.3f}" for v in r))
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
