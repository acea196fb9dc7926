"""The ECON-T encoder per e-link count: one table from the runs ``micae train --config models/econt.yaml --elinks L``.

Reads each run folder's ``metrics.json`` (test split) and, for the wafer-sum error, its ``micae.h5`` on the kept
test wafers (``test_data.npz``, the first 5000). Prints a Markdown table (bench/econt_quality.md has the figures):

    python bench/econt_elinks.py models/econt_l2 models/econt_l3 models/econt_l4 models/econt_l5 models/econt_l2sum
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def wafer_sum_error(run: Path) -> float:
    """Mean |sum(reconstruction) - sum(input)| / sum(input) of the QAT model on the kept test wafers."""
    from micae.models.io import load_model
    from micae.train.shared import model_inputs

    data = np.load(run / "test_data.npz")
    x = data["x"]
    model = load_model(run / "micae.h5")
    sums = data["aux_module_sum"] if len(model.inputs) > x.shape[1] else None
    out = model.predict(model_inputs(x, sums), batch_size=4096, verbose=0)
    true, got = x.reshape(len(x), -1).sum(axis=1), out.reshape(len(out), -1).sum(axis=1)
    return float(np.mean(np.abs(got - true) / true))


def row(run: Path) -> list[str]:
    m = json.loads((run / "metrics.json").read_text())
    q, f = m["quantized"], m["baselines"].get("float", {})
    zero = m["zero_codes"]
    budget = m["bit_budget"]
    module_sum = bool((_config(run).get("decoder") or {}).get("module_sum"))
    train_s = sum(p["seconds"] for p in m["training"].values())
    return [
        run.name,
        str(budget.get("elinks", "-")),
        f"16 x {budget['latent_bits_each']}",
        str(budget.get("frame_bits", "-")),
        "yes" if module_sum else "no",
        f"{100 * zero['fraction']:.1f}%",
        str(len(m["dead_latents"])),
        f"{q['emd_mean']:.3f} / {q['emd_median']:.3f}",
        f"{f['emd_mean']:.3f} / {f['emd_median']:.3f}" if f else "-",
        f"{q['mse']:.2e}",
        f"{100 * wafer_sum_error(run):.1f}%",
        f"{m['training']['micae']['epochs_run']}",
        f"{train_s:.0f} / {m['seconds_total']:.0f}",
    ]


def _config(run: Path) -> dict:
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text()) or {}


HEAD = [
    "run",
    "L",
    "latents",
    "frame bits",
    "module sum to decoder",
    "zero codes",
    "dead latents",
    "QAT EMD mean / median",
    "float twin EMD mean / median",
    "QAT MSE",
    "QAT wafer-sum error",
    "QAT epochs",
    "train s / run s",
]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path, help="run folders written by micae train")
    args = p.parse_args(argv)
    rows = [row(r) for r in args.runs]
    print("| " + " | ".join(HEAD) + " |")
    print("|" + "---|" * len(HEAD))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
