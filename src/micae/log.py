"""Progress messages for long steps, on stderr so stdout stays parseable; their seconds go to the run's timings."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Timings:
    """Seconds per announced step of one run (thread-safe: a run's steps execute on several threads)."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, step: str, seconds: float) -> None:
        with self._lock:
            self._seconds[step] = self._seconds.get(step, 0.0) + seconds

    def as_dict(self) -> dict[str, float]:
        with self._lock:
            return {k: round(v, 3) for k, v in self._seconds.items()}


_current: ContextVar[Timings | None] = ContextVar("micae_timings", default=None)


def info(message: str) -> None:
    print(f"[micae] {message}", file=sys.stderr, flush=True)


@contextmanager
def recording(timings: Timings) -> Iterator[Timings]:
    """Within this block (on this thread), :func:`progress` records its seconds into ``timings``."""
    token = _current.set(timings)
    try:
        yield timings
    finally:
        _current.reset(token)


@contextmanager
def progress(step: str) -> Iterator[None]:
    """Announce a step, time it, and record the seconds under its name in the run's timings (if one records)."""
    info(f"{step} ...")
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        timings = _current.get()
        if timings is not None:
            timings.add(step, seconds)
        info(f"{step}: {seconds:.1f} s")
