"""Start a sweep step so that it dies with the Dask worker that started it.

``python -m micae.sweep.child <worker pid> <script.py | -m module> args...`` sets
Linux's parent-death signal (SIGKILL) and then runs the script. A worker that is
killed mid-point (lost node, OOM, scancel) thus takes its training or synthesis
with it, and the point's rerun elsewhere never races a stale process.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the step outlives a killed worker
        return
    if os.getppid() != parent:  # the worker died before the signal was armed
        raise SystemExit(137)


def main(argv: list[str]) -> None:
    parent, target, *rest = argv
    die_with_parent(int(parent))
    if target == "-m":
        sys.argv = rest
        runpy.run_module(rest[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *rest]
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
