"""Test vectors that exercise what breaks bit-exactness: the grid, saturation and rounding ties.

All vectors are integer codes of the encoder's input type. The QKeras model
sees ``codes * 2**-frac``, which is exactly representable in float32. The
searches work on the live inputs only; masked inputs (cells that never carry a
value) stay zero in every vector. Every stage of any encoder graph is covered:
ties at every half-even quantizer, saturation (and clipping) at every stage.
"""

from __future__ import annotations

import numpy as np

from micae.fixed.graph import IntegerEncoder


def _random_live(encoder: IntegerEncoder, n: int, rng: np.random.Generator) -> np.ndarray:
    t = encoder.input_type
    return rng.integers(t.min_int, t.max_int + 1, size=(n, encoder.n_live), dtype=np.int64)


def to_full_width(encoder: IntegerEncoder, live_codes: np.ndarray) -> np.ndarray:
    """Live-input codes -> ``(n, n_inputs)`` codes with the masked inputs zero."""
    live_codes = np.asarray(live_codes, dtype=np.int64).reshape(len(live_codes), encoder.n_live)
    if not encoder.masked:
        return live_codes
    full = np.zeros((len(live_codes), encoder.n_inputs), dtype=np.int64)
    full[:, encoder.live_columns] = live_codes
    return full


def zero_masked(encoder: IntegerEncoder, codes: np.ndarray) -> np.ndarray:
    """Full-width codes with the masked inputs set to zero (they never carry a value)."""
    return to_full_width(encoder, encoder.live(codes))


def random_grid(encoder: IntegerEncoder, n: int, rng: np.random.Generator) -> np.ndarray:
    return to_full_width(encoder, _random_live(encoder, n, rng))


def _candidate_values(encoder: IntegerEncoder, k: int, rng: np.random.Generator) -> np.ndarray:
    t = encoder.input_type
    span = t.max_int - t.min_int + 1
    if span <= k:
        return np.arange(t.min_int, t.max_int + 1, dtype=np.int64)
    inner = rng.choice(np.arange(t.min_int + 1, t.max_int, dtype=np.int64), size=k - 2, replace=False)
    return np.concatenate([[t.min_int, t.max_int], inner])


def _stage_acc(encoder: IntegerEncoder, codes: np.ndarray, stage: int) -> np.ndarray:
    return encoder.accumulators(codes)[stage]


def saturation_vectors(
    encoder: IntegerEncoder, rng: np.random.Generator, sweeps: int = 3, values: int = 24
) -> np.ndarray:
    """For every neuron of every stage, inputs that drive its accumulator to its max and to its min.

    Coordinate ascent over the input codes, evaluated with the exact integer model.
    """
    found = [
        np.full((1, encoder.n_live), encoder.input_type.max_int, dtype=np.int64),
        np.full((1, encoder.n_live), encoder.input_type.min_int, dtype=np.int64),
    ]
    cands = _candidate_values(encoder, values, rng)
    k = len(cands)
    for s_idx, stage in enumerate(encoder.stages):
        # every (neuron, sign) search of the stage at once: one integer-model call per input and sweep
        # instead of one per search (5.4 -> 0.3 s on the reference encoder); same start points, drawn
        # in the same order, so the same vectors
        neurons = np.repeat(np.arange(stage.n_out), 2)
        signs = np.tile(np.array([1, -1], dtype=np.int64), stage.n_out)
        x = np.concatenate([_random_live(encoder, 1, rng) for _ in neurons])
        rows = np.arange(len(neurons))
        for _ in range(sweeps):
            for j in range(encoder.n_live):
                trial = np.repeat(x, k, axis=0)
                trial[:, j] = np.tile(cands, len(neurons))
                acc = _stage_acc(encoder, trial, s_idx).reshape(len(neurons), k, -1)
                score = signs[:, None] * acc[rows[:, None], np.arange(k)[None, :], neurons[:, None]]
                x = trial.reshape(len(neurons), k, -1)[rows, np.argmax(score, axis=1)]
        found.append(x)
    return to_full_width(encoder, np.unique(np.concatenate(found), axis=0))


def tie_mask(encoder: IntegerEncoder, codes: np.ndarray, accs: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Per stage, which accumulators sit exactly half an output LSB between two codes.

    ``accs`` (``encoder.accumulators(codes)``) may be passed when the caller has them already.
    """
    masks = []
    accs = encoder.accumulators(codes) if accs is None else accs
    for stage, in_t, acc in zip(encoder.stages, encoder.stage_input_types(), accs):
        q = stage.quantizer
        masks.append(np.zeros_like(acc, dtype=bool) if q is None else q.ties(acc, stage.acc_frac(in_t)))
    return masks


def tie_vectors(
    encoder: IntegerEncoder, n: int, rng: np.random.Generator, bases: int = 400, values: int = 48
) -> np.ndarray:
    """Vectors whose accumulators hit exact rounding ties, covering every (stage, neuron, parity) reachable.

    Ties where the rounded value saturates anyway are not counted: they test nothing.
    """
    picked: list[np.ndarray] = []
    covered: set = set()
    cands = _candidate_values(encoder, values, rng)
    for _ in range(bases):
        if len(picked) >= n:
            break
        base = _random_live(encoder, 1, rng)[0]
        trial = np.repeat(base[None, :], encoder.n_live * len(cands), axis=0)
        rows = np.arange(len(trial))
        trial[rows, rows // len(cands)] = np.tile(cands, encoder.n_live)
        accs = encoder.accumulators(trial)
        masks = tie_mask(encoder, trial, accs)
        keep = np.zeros(len(trial), dtype=bool)
        for s_idx, (stage, in_t, mask, acc) in enumerate(zip(encoder.stages, encoder.stage_input_types(), masks, accs)):
            q = stage.quantizer
            if q is None or not q.can_tie(stage.acc_frac(in_t)):
                continue
            lacc, lfrac = q.leaked(acc, stage.acc_frac(in_t))
            floor = lacc >> (lfrac - q.out.frac)
            inside = (floor >= q.lo_code) & (floor < q.hi_code)
            real = mask & inside
            for r, c in zip(*np.nonzero(real)):
                key = (s_idx, int(c), int(floor[r, c] & 1))
                if key not in covered:
                    covered.add(key)
                    keep[r] = True
            if not keep.any() and real.any():
                keep[int(np.flatnonzero(real.any(axis=1))[0])] = True
        picked.extend(trial[keep])
    if not picked:
        return np.zeros((0, encoder.n_inputs), dtype=np.int64)
    return to_full_width(encoder, np.unique(np.asarray(picked[:n]), axis=0))


def coverage(encoder: IntegerEncoder, codes: np.ndarray) -> list[dict]:
    """Per stage: how many values hit a rounding tie and how many saturate high/low."""
    out = []
    accs = encoder.accumulators(codes)
    masks = tie_mask(encoder, codes, accs)
    for stage, in_t, acc, mask in zip(encoder.stages, encoder.stage_input_types(), accs, masks):
        q = stage.quantizer  # None: a max-pool, which neither rounds nor saturates
        rounded = acc if q is None else q.rounded(acc, stage.acc_frac(in_t))
        lo, hi = (stage.out.min_int, stage.out.max_int) if q is None else (q.lo_code, q.hi_code)
        out.append(
            {
                "stage": stage.name,
                "quantizer": stage.quantizer_name,
                "tie_values": int(mask.sum()),
                "vectors_with_ties": int(mask.any(axis=1).sum()),
                "saturated_high": int((rounded > hi).sum()),
                "saturated_low": int((rounded < lo).sum()),
                "vectors_saturating": int(((rounded > hi) | (rounded < lo)).any(axis=1).sum()),
            }
        )
    return out


def build_vector_set(
    encoder: IntegerEncoder,
    n_total: int,
    *,
    test_codes: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, slice]]:
    """Concatenate: test split (up to half the budget), saturation, ties, then random grid to fill.

    Returns the codes and the slice of each source, for reporting where a mismatch happened.
    """
    rng = np.random.default_rng(seed)
    parts: list[tuple[str, np.ndarray]] = []
    if test_codes is not None and len(test_codes):
        test = np.asarray(test_codes, dtype=np.int64).reshape(len(test_codes), -1)[: n_total // 2]
        parts.append(("test_split", zero_masked(encoder, test)))
    parts.append(("saturation", saturation_vectors(encoder, rng)))
    parts.append(("ties", tie_vectors(encoder, max(n_total // 10, 64), rng)))
    used = sum(len(p) for _, p in parts)
    parts.append(("random_grid", random_grid(encoder, max(n_total - used, 0), rng)))
    slices, start = {}, 0
    for name, arr in parts:
        slices[name] = slice(start, start + len(arr))
        start += len(arr)
    return np.concatenate([a for _, a in parts]), slices
