"""The Best Choice sorting network: a 48-input Batcher odd-even merge sort in Knuth's merge-exchange form.

Datapath doc C2 (emulator ``bestchoice.py:15-33``). Knuth's Algorithm M (TAOCP vol. 3, 5.2.2) with
``t = ceil(log2 48) = 6``: for ``p = 32, 16, .., 1`` and, inside, ``q = 32, 16, .., p`` it compares positions
``i`` and ``i + d`` for every ``i < 48 - d`` with ``i & p == r`` (``d = p, r = 0`` on the first pass of a ``p``,
then ``d = q - p, r = p``). Each pass is one stage of disjoint comparators: 367 comparators in 21 stages.

A comparator moves the larger value to the lower position and swaps **only when the lower position holds a
strictly smaller value**, so equal values never swap and the order among ties is the network's, not the
channel index: equal charges on channels 10 and 40 rank 40 first; an all-zero input ranks 0, 1, 2, 3 first.

:func:`batcher_rank` applies the network to all wafers at once (one vectorised step per stage).
"""

from __future__ import annotations

from functools import cache

import numpy as np

N_INPUTS = 48
_ADDRESS_BITS = 6  # channel numbers 0..47 ride below the value in one int64


@cache
def merge_exchange_stages(n: int = N_INPUTS) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The network as stages of ``(lower positions, upper positions)``; comparators in a stage are disjoint."""
    t = max(int(n - 1).bit_length(), 1)
    stages = []
    p = 1 << (t - 1)
    while p >= 1:
        q, r, d = 1 << (t - 1), 0, p
        while True:
            lo = np.array([i for i in range(n - d) if i & p == r], dtype=np.int64)
            if len(lo):
                stages.append((lo, lo + d))
            if q == p:
                break
            d, q, r = q - p, q >> 1, p
        p >>= 1
    for lo, hi in stages:
        touched = np.concatenate([lo, hi])
        if len(np.unique(touched)) != len(touched):  # a stage must be a set of disjoint comparators
            raise AssertionError("merge-exchange stage with overlapping comparators")
        lo.setflags(write=False)
        hi.setflags(write=False)
    return tuple(stages)


def comparator_count(n: int = N_INPUTS) -> int:
    """Comparators in the network (367 for 48 inputs)."""
    return sum(len(lo) for lo, _ in merge_exchange_stages(n))


def batcher_rank(values: np.ndarray) -> np.ndarray:
    """``(N, 48)`` integers in 0..2**57-1 -> ``(N, 48)`` channel indices, largest first, as the chip ranks them.

    Values and their channel numbers travel together as ``value << 6 | channel``; a comparator swaps when the
    value part at the lower position is strictly smaller.
    """
    v = np.asarray(values, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != N_INPUTS:
        raise ValueError(f"batcher_rank: expected (N, {N_INPUTS}) values, got {v.shape}")
    if (v < 0).any() or (v >= (1 << (63 - _ADDRESS_BITS))).any():
        raise ValueError("batcher_rank: values must lie in 0 .. 2**57 - 1")
    # channel-major layout: each stage gathers whole rows of N wafers (contiguous), not scattered columns
    packed = np.ascontiguousarray(((v << _ADDRESS_BITS) | np.arange(N_INPUTS, dtype=np.int64)[None, :]).T)
    for lo, hi in merge_exchange_stages(N_INPUTS):
        upper, lower = packed[lo], packed[hi]
        swap = (upper >> _ADDRESS_BITS) < (lower >> _ADDRESS_BITS)
        np.copyto(upper, packed[hi], where=swap)
        np.copyto(lower, packed[lo], where=swap)
        packed[lo], packed[hi] = upper, lower
    return np.ascontiguousarray((packed & ((1 << _ADDRESS_BITS) - 1)).T)
