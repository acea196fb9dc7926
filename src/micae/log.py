"""Progress messages for long steps, on stderr so stdout stays parseable."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_timings: dict[str, float] = {}


def info(message: str) -> None:
    print(f"[micae] {message}", file=sys.stderr, flush=True)


@contextmanager
def progress(step: str) -> Iterator[None]:
    """Announce a step, time it, and record the seconds under its name."""
    info(f"{step} ...")
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        _timings[step] = _timings.get(step, 0.0) + seconds
        info(f"{step}: {seconds:.1f} s")


def timings(reset: bool = False) -> dict[str, float]:
    out = {k: round(v, 3) for k, v in _timings.items()}
    if reset:
        _timings.clear()
    return out
