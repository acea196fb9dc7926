"""The ECON-T encoder on real wafers, per e-link count: bench/econt_real.md.

For each L it trains (or reuses) the run of the real-file recipe

    micae train --config models/econt_real.yaml --data CALQ_output_head.csv --elinks L --name econt_real_L<L>

(pre-training on generated pileup wafers, fine-tuning on the file's first 80% of rows), or with
``--recipe models/econt.yaml`` the generated-data recipe, and judges it with
``micae evaluate`` at its L against the chip's algorithms on

* real pile-up wafers it never saw: the file's last 20% of rows (``--rows 0.8:``);
* real wafers without pile-up: ``ttbar_0PU.csv`` (every row, or ``--ttbar-rows``);
* generated wafers: 10,000 fresh hgcal-synth pileup wafers (seed 101, not the run's pre-training seed), or
  for a generated-data run its own test split.

It writes the Markdown tables (every figure with its data, rows and command) to ``--md``:

    python bench/econt_real.py --runs /tmp/real/runs --md bench/econt_real.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

PUBLIC = Path(__file__).resolve().parents[2] / "shared" / "data" / "econt-public"
ORDER = ("ae", "ae_float", "bc", "stc4", "stc16", "stc4_7", "ctc4_7", "threshold", "lit_bc", "lit_stc16")
STC_NAMES = ("stc4", "stc16", "stc4_7", "ctc4_7")


def _micae(args: list[str]) -> float:
    """Run ``micae ARGS``; its wall time in seconds (the command fails loudly)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "micae", *args], check=True)
    return time.perf_counter() - t0


def train(runs: Path, L: int, recipe: str, pileup: Path) -> tuple[Path, str]:
    """The run of ``recipe`` at ``L`` in ``runs`` (trained now unless its metrics.json exists) and a line saying
    how it was trained: the command and its time (metrics.json ``seconds_total``, the run's own clock)."""
    import json

    run = runs / f"{Path(recipe).stem}_L{L}"
    cmd = ["train", "--config", recipe, "--elinks", str(L), "--name", run.name, "--out", str(runs), "--force"]
    if recipe.endswith("_real.yaml"):
        cmd += ["--data", str(pileup)]
    shown = cmd[:5] + (["--data", pileup.name] if recipe.endswith("_real.yaml") else [])
    if not (run / "metrics.json").is_file():
        _micae(cmd)
    m = json.loads((run / "metrics.json").read_text())
    phases = ", ".join(f"{k} {v['epochs_run']} epochs" for k, v in m["training"].items())
    zero, dead = m["zero_codes"]["fraction"], len(m["dead_latents"])
    return run, (
        f"`micae {' '.join(shown)}`: "
        f"{m['seconds_total']:.0f} s on 2 shared cores ({phases}); zero codes {100 * zero:.1f}%, dead latents {dead}"
    )


def datasets(recipe: str, pileup: Path, ttbar: Path, ttbar_rows: str) -> dict[str, list[str]]:
    """The real held-out rows, ttbar, and generated wafers (the run's own test split for a generated-data run)."""
    generated = (
        {"generated pileup preset": ["--dataset", "hgcal-synth", "--preset", "pileup", "--n", "10000", "--seed", "101"]}
        if recipe.endswith("_real.yaml")
        else {"generated, the run's test split": ["--dataset", "hgcal-synth"]}
    )
    return {
        "real pile-up, held out": ["--data", str(pileup), "--rows", "0.8:"],
        "real ttbar, no pile-up": ["--data", str(ttbar), "--rows", ttbar_rows],
        **generated,
    }


def evaluate(run: Path, L: int, label: str, args: list[str], reuse: bool) -> Path:
    """``micae evaluate`` of ``run`` at ``L`` on ``args``' data into ``<run>/bench/<label>`` (kept with ``reuse``)."""
    out = run / "bench" / label.replace(" ", "_").replace(",", "").replace("'", "")
    if not (reuse and (out / "evaluation.json").is_file()):
        _micae(["evaluate", "--model", str(run), "--elinks", str(L), "--out", str(out), "--force", *args])
    return out


def table(ev, L: int) -> list[str]:
    """One row per algorithm: frame bits, mean / median EMD, >= 16 lit cells, energy kept, mean EMD per lit bin."""
    rows = ev.elinks[L]
    bins = [f"{b.lit_min}-{b.lit_max} ({b.n})" for b in next(iter(rows.values())).by_occupancy]
    head = "| algorithm | bits | mean EMD | median EMD | >= 16 lit (wafers) | energy kept | "
    lines = [head + " | ".join(f"lit {b}" for b in bins) + " |"]
    lines += ["|---" * (6 + len(bins)) + "|"]
    for name in [n for n in ORDER if n in rows] + sorted(set(rows) - set(ORDER)):
        r = rows[name]
        ge16 = "-" if r.lit_ge16.emd_mean is None else f"{r.lit_ge16.emd_mean:.3f} ({r.lit_ge16.n})"
        per_bin = " | ".join("-" if b.emd_mean is None else f"{b.emd_mean:.2f}" for b in r.by_occupancy)
        lines.append(
            f"| {name} | {r.bits_per_wafer} | {r.emd_mean:.3f} | {r.emd_median:.3f} | {ge16} | {r.energy_kept:.3f} | "
            f"{per_bin} |"
        )
    return lines


def verdict(ev, L: int) -> tuple[str, float, float, str, float]:
    """(verdict, AE EMD, chip BC EMD, best STC name, its EMD): AE must beat BC and every STC form."""
    rows = ev.elinks[L]
    ae, bc = rows["ae"].emd_mean, rows["bc"].emd_mean
    stc = min((n for n in STC_NAMES if n in rows), key=lambda n: rows[n].emd_mean)
    best = min(bc, rows[stc].emd_mean)
    text = "AE better" if ae < best else f"missed by {ae - best:.3f} ({100 * (ae - best) / best:.0f}%)"
    return text, ae, bc, stc, rows[stc].emd_mean


def main(argv: list[str] | None = None) -> int:
    from micae.evaluate import load_evaluation

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, required=True, help="folder of the <recipe>_L<L> runs (trained if missing)")
    p.add_argument("--recipe", default="models/econt_real.yaml", help="run config (models/econt.yaml: generated data)")
    p.add_argument("--pileup", type=Path, default=PUBLIC / "CALQ_output_head.csv")
    p.add_argument("--ttbar", type=Path, default=PUBLIC / "ttbar_0PU.csv")
    p.add_argument("--ttbar-rows", default=":", help="rows of ttbar_0PU.csv to score (default: all)")
    p.add_argument("--elinks", default="2,3,4,5")
    p.add_argument("--md", type=Path, help="write the Markdown here (default: print it)")
    p.add_argument("--reuse", action="store_true", help="keep evaluations already in <run>/bench/ (else redo them)")
    a = p.parse_args(argv)
    out, summary = [], []
    for L in (int(v) for v in a.elinks.split(",")):
        run, trained = train(a.runs, L, a.recipe, a.pileup)
        out += [f"## L = {L}: run {run.name}", "", f"Trained with {trained}.", ""]
        for label, args in datasets(a.recipe, a.pileup, a.ttbar, a.ttbar_rows).items():
            ev = load_evaluation(evaluate(run, L, label, args, a.reuse))
            shown = " ".join(Path(v).name if "/" in v else v for v in args)
            out += [f"### {label}: {ev.data.description}", ""]
            out += [f"`micae evaluate --model {run.name} --elinks {L} {shown}` (scoring {ev.seconds:.0f} s);"]
            out += [f"{ev.data.wafers_evaluated} non-empty wafers; seen in training: {ev.data.seen_in_training}.", ""]
            out += [*table(ev, L), ""]
            summary.append((L, label, *verdict(ev, L)))
    head = ["| L | data | AE (QAT) | chip BC | best chip STC form | verdict (AE vs the better of BC and STC) |"]
    head += ["|---|---|---|---|---|---|"]
    head += [f"| {L} | {lab} | {ae:.3f} | {bc:.3f} | {s} {se:.3f} | {v} |" for L, lab, v, ae, bc, s, se in summary]
    text = "\n".join(["# Verdict (mean EMD)", "", *head, "", *out])
    if a.md:
        a.md.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
