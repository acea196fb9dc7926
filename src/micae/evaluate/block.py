"""The ``elinks`` block: every algorithm that fits at each e-link count, scored on the same wafers.

Shared by ``micae evaluate`` (any data file) and ``micae train`` (its own test split, at its L), so
evaluation.json and metrics.json hold the same figures in the same form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from micae.econt.algorithms import chip_algorithms, literature_algorithms
from micae.econt.links import check_elinks
from micae.evaluate.candidates import Candidate, from_transmission
from micae.evaluate.schema import AlgorithmResult
from micae.evaluate.scoring import EmdCache, lit_cells, score
from micae.log import info


@dataclass
class Block:
    """The scored ``elinks`` block and the per-wafer arrays behind it (for plots and per_wafer.npz)."""

    results: dict[int, dict[str, AlgorithmResult]] = field(default_factory=dict)
    emds: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)  # per L, name: (N,) EMD
    lit: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (N,) lit cells per wafer


def check_elinks_list(values: Iterable[int]) -> list[int]:
    """Distinct e-link counts, sorted; each 1..13 (ConfigError naming the bad one)."""
    out = sorted({check_elinks(int(v) if isinstance(v, np.integer) else v, what="--elinks") for v in values})
    return out


def elinks_block(
    calq_rows: np.ndarray,
    elinks: Iterable[int],
    autoencoders: Mapping[int, list[Candidate]] | None = None,
    *,
    module: str = "LD",
) -> Block:
    """Per L: the run's autoencoders (``autoencoders[L]``, scored on the non-empty rows), then the chip's
    algorithms, then the literature's forms, on ``calq_rows`` ((N, 48) integer CALQ, rows = consecutive
    bunch crossings). All-zero rows go through the chip (the Threshold-Sum buffer sees them) but are not scored.
    """
    calq_rows = np.asarray(calq_rows)
    keep = calq_rows.sum(axis=1) > 0
    calq = calq_rows[keep].astype(np.int64)
    cache = EmdCache(calq)
    out = Block(lit=lit_cells(calq))
    for L in check_elinks_list(elinks):
        cands = list((autoencoders or {}).get(L, []))
        sent = {**chip_algorithms(calq_rows, L, module=module), **literature_algorithms(calq_rows, L)}
        cands += [from_transmission(t, keep) for t in sent.values()]
        out.results[L], out.emds[L] = {}, {}
        for c in cands:
            if len(c.recon) != len(calq):
                raise ValueError(f"{c.name}: {len(c.recon)} reconstructions for {len(calq)} wafers")
            out.emds[L][c.name] = cache(c.name, c.recon)
            out.results[L][c.name] = score(calq, c, out.emds[L][c.name])
        said = ", ".join(f"{n} {r.emd_mean:.3f}" for n, r in out.results[L].items())
        info(f"L = {L} (mean EMD): {said}")
    return out
