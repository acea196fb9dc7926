"""Time hgcal-synth generation of 10^6 wafers (single process) and print wafers/s.

Usage: python bench/bench_data.py [n_wafers] [seed]
"""

from __future__ import annotations

import sys
import time

from micae.data import hgcal_synth


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    t0 = time.perf_counter()
    hgcal_synth._tc_response_tables(hgcal_synth.SynthParams().moliere_radius_cm)
    t1 = time.perf_counter()
    charges, aux = hgcal_synth.generate(n, seed=seed)
    t2 = time.perf_counter()
    print(f"transverse tables: {t1 - t0:.2f} s (once per process)")
    print(f"generated {n} wafers in {t2 - t1:.2f} s: {n / (t2 - t1):,.0f} wafers/s")
    print(
        f"charges {charges.shape} {charges.dtype}, max {charges.max()}, "
        f"wafers with showers {(aux['n_showers'] > 0).mean():.1%}"
    )


if __name__ == "__main__":
    main()
