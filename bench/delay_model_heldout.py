"""The delay model's error on held-out designs: predicted vs place-and-route period, per firmware folder.

``python bench/delay_model_heldout.py FIRMWARE_DIR [...] [--md FILE]``: every folder is a ``micae synth
--pnr <family>`` output (``report.json`` with a place-and-route analysis, ``rtl/da4ml_pipeline.json``).
The shipped model of the family (:data:`micae.rtl.delay_model.MODELS`) predicts the slowest stage of the
pipeline that was placed; the error is predicted - measured (ns; negative: the model is optimistic, the
closure loop would re-cut). None of these designs was used to fit the model (it was fitted to the
random-weight reference encoder at 5 ns, bench/README.md "bench_pnr.py"), so this is a held-out error.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from micae.da4ml_api import load_pipeline
from micae.rtl.delay_model import MODELS, pipeline_stage_delays


def heldout_row(folder: Path) -> dict:
    report = json.loads((folder / "report.json").read_text())
    pnr = next(t for t in report["timing"] if t.get("kind") == "place-and-route")
    pipe = load_pipeline(folder / "rtl" / "da4ml_pipeline.json")
    model = MODELS[pnr["family"]]
    predicted = max(pipeline_stage_delays(pipe, model))
    measured = pnr["period_ns"] or 1000.0 / pnr["fmax_mhz"]
    return {
        "design": folder.name,
        "model_file": report["model"].get("source") or report["model"].get("file"),
        "family": pnr["family"],
        "clock_ns": pnr["clock_ns"],
        "seed": pnr.get("seed"),
        "cycles": len(pipe.solutions),
        "predicted_ns": round(predicted, 3),
        "measured_ns": round(measured, 3),
        "error_ns": round(predicted - measured, 3),
        "error_pct": round(100 * (predicted - measured) / measured, 1),
    }


def summary(rows: list[dict]) -> dict:
    errs = [r["error_ns"] for r in rows]
    pct = [abs(r["error_pct"]) for r in rows]
    return {
        "designs": len(rows),
        "mean_error_ns": round(sum(errs) / len(errs), 3),
        "rms_error_ns": round(math.sqrt(sum(e * e for e in errs) / len(errs)), 3),
        "max_abs_error_ns": round(max(abs(e) for e in errs), 3),
        "mean_abs_error_pct": round(sum(pct) / len(pct), 1),
    }


def markdown(rows: list[dict], total: dict) -> str:
    lines = [
        "| design | family | clock ns | stages | predicted ns | measured ns (nextpnr) | error ns | error % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['design']} | {r['family']} | {r['clock_ns']:g} | {r['cycles']} | {r['predicted_ns']:.2f} | "
            f"{r['measured_ns']:.2f} | {r['error_ns']:+.2f} | {r['error_pct']:+.1f} |"
        )
    lines.append("")
    lines.append(
        f"{total['designs']} designs: mean error {total['mean_error_ns']:+.2f} ns, RMS {total['rms_error_ns']:.2f} ns, "
        f"worst {total['max_abs_error_ns']:.2f} ns, mean |error| {total['mean_abs_error_pct']:.1f} %"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--md", type=Path, help="write the table here too")
    args = ap.parse_args(argv)
    rows = [heldout_row(f) for f in args.folders]
    text = markdown(rows, summary(rows))
    print(text)
    if args.md:
        args.md.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
