"""Seconds per 10^4 wafers of each ECON-T algorithm (micae.econt.algorithms) at L = 2..5, and their figures.

Data: the first 10^4 rows of ``../shared/data/econt-public/ttbar_0PU.csv`` (real CMS ttbar, 0 pile-up) and 10^4
``hgcal-synth`` wafers (seed 0). Each algorithm is timed alone (``names=[...]``), best of ``--repeat`` runs,
after one warm-up; "all chip" / "all literature" time the full entry points. The second table gives, per L,
the lossless fractions (sel / exact), mean energy kept, and Threshold-Sum's mean / max bits and truncated
fraction on the same wafers (rows as consecutive bunch crossings).

Usage: python bench/bench_econt_algorithms.py [--wafers 10000] [--repeat 5] [--elinks 2 3 4 5]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from micae.data import hgcal_synth
from micae.econt.algorithms import CHIP_NAMES, LITERATURE_NAMES, chip_algorithms, literature_algorithms

TTBAR = Path(__file__).resolve().parents[2] / "shared" / "data" / "econt-public" / "ttbar_0PU.csv"


def _best_time(fn, repeat: int) -> float:
    fn()  # warm-up (caches, the sorting network's stage tables)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _datasets(n: int) -> dict[str, np.ndarray]:
    data = {}
    if TTBAR.is_file():
        data["ttbar_0PU"] = np.loadtxt(TTBAR, delimiter=",", skiprows=1, dtype=np.int64, max_rows=n)
    else:
        print(f"(ttbar_0PU.csv not found at {TTBAR}: timing hgcal-synth only)")
    charges, _ = hgcal_synth.generate(n, seed=0)
    data["hgcal-synth"] = charges.astype(np.int64)
    return data


def _timings(calq: np.ndarray, elinks: list[int], repeat: int) -> None:
    scale = 1e4 / len(calq)
    print("| algorithm | " + " | ".join(f"L = {L}" for L in elinks) + " |")
    print("|---|" + "---|" * len(elinks))
    rows = [(name, "chip") for name in CHIP_NAMES] + [(name, "lit") for name in LITERATURE_NAMES]
    rows += [("all chip", "chip"), ("all literature", "lit")]
    for name, family in rows:
        cells = []
        for L in elinks:
            run = chip_algorithms if family == "chip" else literature_algorithms
            names = None if name.startswith("all") else [name]
            if names and name not in run(calq[:2], L, names=names):
                cells.append("does not fit")
                continue
            cells.append(f"{_best_time(lambda: run(calq, L, names=names), repeat) * scale:.3f} s")  # noqa: B023
        print(f"| {name} | " + " | ".join(cells) + " |")


def _figures(calq: np.ndarray, elinks: list[int]) -> None:
    print("| L | algorithm | lossless sel | lossless exact | energy kept | bits mean / max | truncated |")
    print("|---|---|---|---|---|---|---|")
    for L in elinks:
        for name, t in {**chip_algorithms(calq, L), **literature_algorithms(calq, L)}.items():
            print(
                f"| {L} | {name} | {100 * t.lossless_sel_fraction:.2f} % | {100 * t.lossless_fraction:.2f} % | "
                f"{t.energy_kept.mean():.3f} | {t.bits_mean:.1f} / {t.bits_max} | {100 * t.truncated_fraction:.2f} % |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wafers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--elinks", type=int, nargs="+", default=[2, 3, 4, 5])
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)")
    for label, calq in _datasets(args.wafers).items():
        print(f"\n## {label}: {len(calq)} wafers, seconds per 10^4 wafers (best of {args.repeat})\n")
        _timings(calq, args.elinks, args.repeat)
        print(f"\n## {label}: figures\n")
        _figures(calq, args.elinks)


if __name__ == "__main__":
    main()
