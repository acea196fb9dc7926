"""Seconds per 10^4 wafers of ``micae evaluate``: the chip's algorithms, the autoencoder, the EMDs, the pages.

Data: the first ``--wafers`` rows of ``../shared/data/econt-public/ttbar_0PU.csv`` (real ttbar, 0 pile-up, median
1 lit cell), of ``CALQ_output_head.csv`` (real pile-up, median 15 lit cells; 4000 rows, so fewer) and
``--wafers`` hgcal-synth wafers (seed 0). Per data set, at L = 2..5: the chip's and the literature's algorithms
(every one that fits), the run's QAT model and float twin (``--model``, at the run's L), the EMD of every
reconstruction (``micae.evaluate.scoring.EmdCache``: a wafer sent identically at two L is solved once), and
the pages (JSON, md, html with two figures). ``emd()`` is also timed against POT's public ``ot.emd2`` per wafer
on the chip's BC reconstructions at L = 2 (the path micae used before). Times are wall seconds on whatever
machine runs it (the 2-core machine of the README is shared; run it under cpu-slot).

Usage: python bench/bench_evaluate.py [--model models/econt] [--wafers 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from micae.data import hgcal_synth

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "econt-public"
ELINKS = (2, 3, 4, 5)


def _datasets(n: int) -> dict[str, np.ndarray]:
    data = {}
    for name in ("ttbar_0PU.csv", "CALQ_output_head.csv"):
        if (SHARED / name).is_file():
            data[name] = np.loadtxt(SHARED / name, delimiter=",", skiprows=1, dtype=np.int64, max_rows=n)
        else:
            print(f"({name} not found in {SHARED}: skipped)")
    data["hgcal-synth"] = hgcal_synth.generate(n, seed=0)[0].astype(np.int64)
    return data


def _pot_per_wafer(calq: np.ndarray, recon: np.ndarray, n: int = 300) -> float:
    """Seconds per wafer of the old path: one public ot.emd2 call per wafer on its support."""
    import ot

    from micae.metrics.emd import ground_distance

    cost = np.ascontiguousarray(ground_distance())
    a, b = calq[:n].astype(float), recon[:n]
    ok = (a.sum(1) > 0) & (b.sum(1) > 0)
    t0 = time.perf_counter()
    for i in np.flatnonzero(ok):
        ia, ib = np.flatnonzero(a[i]), np.flatnonzero(b[i])
        ot.emd2(a[i, ia] / a[i].sum(), b[i, ib] / b[i].sum(), np.ascontiguousarray(cost[np.ix_(ia, ib)]))
    return (time.perf_counter() - t0) / max(int(ok.sum()), 1)


def _bench(name: str, calq: np.ndarray, run) -> dict:
    from micae.econt.algorithms import chip_algorithms, literature_algorithms
    from micae.evaluate.autoencoder import autoencoder_candidates
    from micae.evaluate.candidates import from_transmission
    from micae.evaluate.scoring import EmdCache, score
    from micae.metrics.emd import emd

    keep = calq.sum(axis=1) > 0
    scored = calq[keep]
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    sent = {L: {**chip_algorithms(calq, L), **literature_algorithms(calq, L)} for L in ELINKS}
    t["algorithms (all, L = 2..5)"] = time.perf_counter() - t0
    cands = {L: [from_transmission(s, keep) for s in sent[L].values()] for L in ELINKS}
    if run is not None and run.elinks in ELINKS:
        t0 = time.perf_counter()
        ae = autoencoder_candidates(run, scored)
        t["autoencoders (QAT + float, predict)"] = time.perf_counter() - t0
        cands[run.elinks] = ae + cands[run.elinks]
    cache = EmdCache(scored)
    t0 = time.perf_counter()
    n_rec = 0
    for L in ELINKS:
        for c in cands[L]:
            if c.family != "autoencoder":
                cache(c.name, c.recon)
                n_rec += 1
    t[f"EMD, chip + literature ({n_rec} reconstructions)"] = time.perf_counter() - t0
    for c in cands.get(getattr(run, "elinks", None), []):
        if c.family == "autoencoder":
            t0 = time.perf_counter()
            emd(scored, c.recon)
            t[f"EMD, {c.name}"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for L in ELINKS:
        for c in cands[L]:
            score(scored, c, cache(c.name, c.recon))
    t["figures per algorithm (after EMD)"] = time.perf_counter() - t0
    old = _pot_per_wafer(scored, from_transmission(sent[2]["bc"], keep).recon)
    new0 = time.perf_counter()
    emd(scored[:300], from_transmission(sent[2]["bc"], keep).recon[:300])
    new = (time.perf_counter() - new0) / min(300, len(scored))
    return {"times": t, "n": len(calq), "solved": cache.solved, "pot": old, "micae": new}


def _pages(calq: np.ndarray) -> float:
    from micae.evaluate.block import elinks_block
    from micae.evaluate.definitions import definitions
    from micae.evaluate.page import write_pages
    from micae.evaluate.schema import DataInfo, Evaluation

    block = elinks_block(calq, ELINKS)
    info = dict(kind="hgcal-synth", generated=True, description="bench", path=None, sha256=None, rows=None)
    info.update(split=None, generator=None, wafers_read=len(calq), wafers_dropped_zero=0)
    info.update(wafers_evaluated=len(calq), seen_in_training="unknown", seen_in_training_why="-", order="-")
    ev = Evaluation(
        micae_version="bench", created="-", seconds=0.0, data=DataInfo(**info), run=None,
        definitions=definitions(), elinks=block.results,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        (Path(tmp) / "evaluation.json").write_text(ev.to_json())
        write_pages(Path(tmp), ev, block)
        return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="a training run folder (its autoencoders are timed too)")
    p.add_argument("--wafers", type=int, default=10_000)
    a = p.parse_args()
    run = None
    if a.model:
        from micae.evaluate.autoencoder import open_run

        run = open_run(a.model)
    import ot  # noqa: F401 (import once, outside the timings: POT imports TensorFlow's backend)

    for name, calq in _datasets(a.wafers).items():
        r = _bench(name, calq, run)
        lit = np.median((calq > 0).sum(axis=1))
        print(f"\n### {name}: {r['n']} wafers (median {lit:.0f} lit cells); {r['solved']} transport problems solved")
        print("| step | s per 10^4 wafers |\n|---|---|")
        total = 0.0
        for step, sec in r["times"].items():
            print(f"| {step} | {sec * 1e4 / r['n']:.2f} |")
            total += sec
        print(f"| **total (without pages)** | **{total * 1e4 / r['n']:.2f}** |")
        print(f"\nEMD per wafer, BC at L = 2: micae {1e6 * r['micae']:.0f} us, POT ot.emd2 {1e6 * r['pot']:.0f} us")
    pages = _pages(hgcal_synth.generate(2000, seed=0)[0].astype(np.int64))
    print(f"\npages (JSON + md + html, two figures) on 2000 hgcal-synth wafers: {pages:.1f} s")


if __name__ == "__main__":
    main()
