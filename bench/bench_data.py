"""Data speed: hgcal-synth wafers/s, and ECON-T CSV rows/s read by ``micae.data.econt_csv``.

Usage:
  python bench/bench_data.py [n_wafers] [seed]           generate 10^6 wafers (legacy preset) and print wafers/s
  python bench/bench_data.py --preset pileup [n] [seed]  the same for a named preset
  python bench/bench_data.py --csv [n_rows]              write a 10^6-row CSV with a shuffled CALQ header and three
                                                         metadata columns (float, string, int) to a temporary
                                                         folder, read it back and print rows/s; then the shared
                                                         public files when ../shared is present
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from micae.data import hgcal_synth
from micae.data.econt_csv import read_econt_csv

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "econt-public"


def bench_synth(n: int, seed: int, preset: str) -> None:
    t0 = time.perf_counter()
    hgcal_synth._tc_response_tables(hgcal_synth.SynthParams().moliere_radius_cm)
    t1 = time.perf_counter()
    charges, aux = hgcal_synth.generate(n, seed=seed, preset=preset)
    t2 = time.perf_counter()
    print(f"transverse tables: {t1 - t0:.2f} s (once per process)")
    print(f"preset {preset}: generated {n} wafers in {t2 - t1:.2f} s: {n / (t2 - t1):,.0f} wafers/s")
    lit = (charges > 0).sum(1).mean()
    print(f"charges {charges.shape} {charges.dtype}, max {charges.max()}, lit TCs per wafer {lit:.2f}")


def write_csv(path: Path, n: int, seed: int = 0) -> None:
    """``n`` generated wafers under a header with the CALQ columns shuffled and tc_eta, ModType, layer between them."""
    rng = np.random.default_rng(seed)
    charges, _ = hgcal_synth.generate(n, seed=seed, preset="nopileup")
    names = [f"CALQ_{k}" for k in range(48)]
    order = rng.permutation(48)
    cols = [str(v) for v in np.round(rng.uniform(1.5, 3.0, n), 4)], np.where(rng.random(n) < 0.3, "HD", "LD")
    layer = rng.integers(1, 27, n).astype(str)
    table = np.column_stack([charges[:, order].astype(str), cols[0], cols[1], layer])
    header = [names[k] for k in order] + ["tc_eta", "ModType", "layer"]
    with path.open("w") as fh:
        fh.write(",".join(header) + "\n")
        for start in range(0, n, 100_000):
            fh.write("\n".join(",".join(row) for row in table[start : start + 100_000]) + "\n")


def time_read(path: Path) -> None:
    t0 = time.perf_counter()
    table = read_econt_csv(path)
    dt = time.perf_counter() - t0
    rows = table.info["rows_read"]
    size = path.stat().st_size / 1e6
    print(
        f"{path.name}: {rows:,} rows, {size:.1f} MB, {len(table.columns)} metadata columns: {dt:.2f} s, "
        f"{rows / dt:,.0f} rows/s ({table.info['rows_dropped_zero_sum']} all-zero rows dropped)"
    )


def bench_csv(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wafers.csv"
        t0 = time.perf_counter()
        write_csv(path, n)
        print(f"wrote {n:,} rows in {time.perf_counter() - t0:.1f} s (not timed below)")
        time_read(path)
    for name in ("CALQ_output_head.csv", "ttbar_0PU.csv"):
        if (SHARED / name).is_file():
            time_read(SHARED / name)
        else:
            print(f"{SHARED / name}: not found (clone shared/ beside the repo), skipped")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--csv"]:
        bench_csv(int(argv[1]) if len(argv) > 1 else 1_000_000)
        return
    preset = "legacy"
    if argv[:1] == ["--preset"]:
        preset, argv = argv[1], argv[2:]
    n = int(argv[0]) if argv else 1_000_000
    seed = int(argv[1]) if len(argv) > 1 else 0
    bench_synth(n, seed, preset)


if __name__ == "__main__":
    main(sys.argv[1:])
