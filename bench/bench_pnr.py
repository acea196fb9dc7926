"""Place-and-route the reference encoder: micae's timing-driven pipeline vs da4ml's adder-level rule.

Flows (same encoder, same exact rounding, same nextpnr family/device/seed; only the stage cut differs):

* ``baseline`` -- the pipeline micae wrote before issue 10: ``emit.cutoff_for_clock`` (da4ml's
                  "5 adder levels per 5 ns" rule of thumb), da4ml's retiming.
* ``micae``    -- ``write_rtl(..., family=...)``: the fewest balanced stages the family's delay
                  model (micae.rtl.delay_model) says meet ``--clock-ns``.

For each: Fmax from place-and-route (nextpnr, six-pin wrapper), cycles, latency in ns at the
achieved clock (cycles x 1000/Fmax), LUT/CARRY/FF of the netlist (FF without the wrapper's),
and the model's estimate next to the measurement. ``--refine`` closes the loop once: if
place-and-route misses the clock, the model's routing terms are scaled by measured/predicted and
the micae flow is cut and placed again. ``--calibrate 2 3 5`` instead places da4ml cuts at
those adder-level cutoffs and fits the family's routing terms (delay_model.fit_routing).

Usage: python bench/bench_pnr.py [--model models/econt | --seed 0] [--family nexus] [--clock-ns 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from micae.da4ml_api import load_pipeline
from micae.rtl import emit
from micae.rtl.build import write_rtl
from micae.rtl.delay_model import CELL_DELAYS, corrected_model, fit_routing, model_for
from micae.rtl.pnr import FAMILIES, place_and_route
from micae.rtl.trace import trace_encoder

sys.path.insert(0, str(Path(__file__).parent))
from bench_rtl import load_encoder  # noqa: E402


def run(enc, traced, out: Path, args, *, cutoff=None, model=None) -> dict:
    """``cutoff`` (adder levels) for da4ml's rule; None cuts with ``model`` (default: the family's)."""
    x = np.zeros((2, enc.n_inputs), dtype=np.int64)
    t0 = time.perf_counter()
    sec = write_rtl(
        enc,
        out,
        clock_ns=args.clock_ns,
        vectors_in=x,
        traced=traced,
        latency_cutoff=cutoff,
        family=model or args.family,
    ).to_json()
    est = sec["timing_estimate"]
    t_write = time.perf_counter() - t0
    pnr = place_and_route(
        out, family=args.family, device=args.device, clock_ns=args.clock_ns, seed=args.pnr_seed, work_dir=out / "pnr"
    ).to_json()
    period = 1000.0 / pnr["fmax_mhz"]
    cycles = sec["latency_cycles"]
    return {
        "cycles": cycles,
        "stages": sec["da4ml"]["stages"],
        "cutoff": sec["da4ml"]["latency_cutoff"],
        "pipelining": sec["da4ml"]["pipelining"],
        "fmax_mhz": pnr["fmax_mhz"],
        "met": pnr["met"],
        "ns": round(cycles * period, 2),
        "LUT": pnr["resources"]["LUT"],
        "CARRY": pnr["resources"]["CARRY"],
        "FF_encoder": pnr["resources"]["FF"] - pnr["wrapper_ff"],
        "critical_path": pnr["critical_path"],
        "estimate_stage_ns": est["stage_delays_ns"],
        "estimate_period_ns": est["predicted_period_ns"],
        "measured_period_ns": round(period, 3),
        "pnr": pnr,
        "seconds": {"write": round(t_write, 1), "pnr": pnr["seconds"]},
    }


def table(rows: dict[str, dict], clock_ns: float) -> list[str]:
    lines = [
        f"{'flow':<10}{'cycles':>7}{'Fmax MHz':>10}{'met':>5}{'ns':>8}{'LUT':>7}{'CARRY':>7}{'FF':>7}"
        f"{'est. ns':>9}{'meas. ns':>9}  critical path"
    ]
    for name, r in rows.items():
        lines.append(
            f"{name:<10}{r['cycles']:>7}{r['fmax_mhz']:>10.1f}{'yes' if r['met'] else 'no':>5}{r['ns']:>8.1f}"
            f"{r['LUT']:>7}{r['CARRY']:>7}{r['FF_encoder']:>7}{r['estimate_period_ns']:>9.2f}"
            f"{r['measured_period_ns']:>9.2f}  {r['critical_path'][:90]}"
        )
    base = rows.get("baseline")
    for name, r in rows.items():
        if base is None or r is base:
            continue
        ratio = {k: r[k] / base[k] for k in ("fmax_mhz", "cycles", "ns", "LUT", "CARRY", "FF_encoder")}
        lines.append(f"{name}/baseline: " + ", ".join(f"{k} {v:.3f}" for k, v in ratio.items()))
    lines.append(f"requested clock {clock_ns:g} ns; Fmax and ns from place-and-route, est. from the delay model")
    return lines


def calibrate(enc, traced, root: Path, args) -> dict:
    samples, runs = [], {}
    for c in args.calibrate:
        r = run(enc, traced, root / f"cal_c{c:g}", args, cutoff=c)
        pipe = emit.make_pipeline(traced.comb, c)
        samples.append((pipe, r["measured_period_ns"]))
        runs[f"c{c:g}"] = r
        print(f"[calibrate] cutoff {c:g}: {r['fmax_mhz']} MHz, {r['critical_path']}", file=sys.stderr, flush=True)
    model, resid = fit_routing(CELL_DELAYS[args.family], samples, args.family)
    print(f"fitted {model}\nresiduals {resid}")
    return {"model": model.describe(), "residuals": resid, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="trained encoder run folder or .h5 (default: conv_dense_encoder(seed))")
    p.add_argument("--seed", type=int, default=0, help="reference encoder weights seed")
    p.add_argument("--encoder", help="module:function returning an IntegerEncoder (instead of the reference)")
    p.add_argument("--family", default="nexus", choices=sorted(FAMILIES))
    p.add_argument("--device", help="default: the family's (LIFCL-40-9BG400C, LFE5U-85F-6)")
    p.add_argument("--clock-ns", type=float, default=5.0)
    p.add_argument("--pnr-seed", type=int, default=1)
    p.add_argument("--flows", nargs="+", default=["baseline", "micae"], choices=["baseline", "micae"])
    p.add_argument("--refine", action="store_true", help="re-cut and re-place micae once if the clock is missed")
    p.add_argument("--calibrate", type=float, nargs="+", help="fit the model on da4ml cuts at these cutoffs")
    p.add_argument("--out", help="keep the folders here (default: temporary)")
    p.add_argument("--json", help="write all figures to this file")
    args = p.parse_args(argv)

    enc = load_encoder(args.encoder, args.seed, args.model)
    traced = trace_encoder(enc)
    with tempfile.TemporaryDirectory(prefix="micae_bench_pnr_") as tmp:
        root = Path(args.out or tmp)
        if args.calibrate:
            result = calibrate(enc, traced, root, args)
        else:
            rows = {}
            for flow in args.flows:
                print(f"[{flow}] write + place-and-route ...", file=sys.stderr, flush=True)
                cut = None if flow == "micae" else emit.cutoff_for_clock(args.clock_ns)
                rows[flow] = run(enc, traced, root / flow, args, cutoff=cut)
            m = rows.get("micae")
            if args.refine and m and not m["met"]:
                pipe = load_pipeline(root / "micae" / "da4ml_pipeline.json")
                model = corrected_model(model_for(args.family), pipe, m["measured_period_ns"])
                print(f"[micae-refined] {model}", file=sys.stderr, flush=True)
                rows["refined"] = run(enc, traced, root / "refined", args, model=model)
            print(
                f"\n== {enc.name}, {args.family} {args.device or FAMILIES[args.family]['device']}, "
                f"nextpnr seed {args.pnr_seed}"
            )
            print("\n".join(table(rows, args.clock_ns)))
            result = {"encoder": enc.name, "family": args.family, "clock_ns": args.clock_ns, "flows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
