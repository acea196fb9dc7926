"""The saturation search runs every (neuron, sign) search of a stage at once: the same vectors as one search at a
time (the plain coordinate ascent below is the definition), and each drives its accumulator to the extreme."""

from __future__ import annotations

import numpy as np
from bench.reference_encoders import conv_dense_encoder

from micae.verify.vectors import _candidate_values, _random_live, saturation_vectors, to_full_width


def _one_search_at_a_time(encoder, rng, sweeps=3, values=24):
    found = [
        np.full((1, encoder.n_live), encoder.input_type.max_int, dtype=np.int64),
        np.full((1, encoder.n_live), encoder.input_type.min_int, dtype=np.int64),
    ]
    cands = _candidate_values(encoder, values, rng)
    for s_idx, stage in enumerate(encoder.stages):
        for neuron in range(stage.n_out):
            for sign in (1, -1):
                x = _random_live(encoder, 1, rng)[0]
                for _ in range(sweeps):
                    for j in range(encoder.n_live):
                        trial = np.repeat(x[None, :], len(cands), axis=0)
                        trial[:, j] = cands
                        score = sign * encoder.accumulators(trial)[s_idx][:, neuron]
                        x = trial[int(np.argmax(score))]
                found.append(x[None, :].copy())
    return to_full_width(encoder, np.unique(np.concatenate(found), axis=0))


def test_batched_saturation_search_finds_the_same_vectors():
    enc = conv_dense_encoder(seed=3, input_shape=(3, 3, 2), filters=3, n_latent=4)
    got = saturation_vectors(enc, np.random.default_rng(7))
    want = _one_search_at_a_time(enc, np.random.default_rng(7))
    assert got.dtype == want.dtype and np.array_equal(got, want)
    # and they reach the extremes: for every latent, some vector drives its accumulator to the max found anywhere
    acc = enc.accumulators(got)[-1]
    rand = enc.accumulators(_random_live(enc, 2000, np.random.default_rng(1)))[-1]
    assert np.all(acc.max(axis=0) >= rand.max(axis=0)) and np.all(acc.min(axis=0) <= rand.min(axis=0))
