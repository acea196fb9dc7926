"""Run one sweep step from its job file, so that it dies with the Dask worker that started it.

``python -m micae.sweep.child <worker pid> <job.json>`` sets Linux's parent-death signal (SIGKILL) and then
runs the job: ``{"step": "train", "config": {...}, "out": ..., "force"/"resume": ...}`` trains a run config,
``{"step": "synth", "request": {...}}`` synthesizes a :class:`~micae.flow.request.SynthRequest`. Both inputs
are validated again by their schemas here (a job file is a file). A worker that is killed mid-point (lost node,
OOM, scancel) takes its training or synthesis with it, and the point's rerun elsewhere never races a stale
process. The outcome (exit code, the one-line error) goes to the job's ``result`` file; errors print as the
``micae`` commands print them.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the step outlives a killed worker
        return
    if os.getppid() != parent:  # the worker died before the signal was armed
        raise SystemExit(137)


def _train(job: dict) -> int:
    from micae.cli.train import train_config
    from micae.train.config import config_from_raw

    cfg = config_from_raw(job["config"], fix=lambda key: f"correct {key} in the sweep file")
    return train_config(cfg, Path(job["out"]), force=bool(job.get("force")), resume=bool(job.get("resume")))


def _synth(job: dict) -> int:
    from micae.cli.common import quiet_tensorflow
    from micae.flow.request import SynthRequest

    quiet_tensorflow()
    from micae.flow import synthesize
    from micae.report.summary import console_summary

    request = SynthRequest.parse(job["request"], fix="correct the sweep file's synth: block")
    request.validate()
    print(console_summary(synthesize(request)), flush=True)
    return 0


STEPS = {"train": _train, "synth": _synth}


def run_job(job: dict) -> tuple[int, str]:
    """Run a job; (exit code, one-line error or "") as ``micae`` would exit and print."""
    from micae.cli.common import run_cli

    errors: list[str] = []
    stderr_write = sys.stderr.write

    def capture(text: str) -> int:
        errors.extend(line[len("error: ") :] for line in text.splitlines() if line.startswith("error: "))
        return stderr_write(text)

    sys.stderr.write = capture  # run_cli prints the one line; keep it for the result file too
    try:
        code = run_cli(lambda _argv: STEPS[job["step"]](job), [])
    finally:
        sys.stderr.write = stderr_write
    return code, (errors[-1] if errors else "")


def main(argv: list[str]) -> None:
    parent, job_file = argv
    die_with_parent(int(parent))
    job = json.loads(Path(job_file).read_text())
    code, error = run_job(job)
    if job.get("result"):
        Path(job["result"]).write_text(json.dumps({"exit_code": code, "error": error}) + "\n")
    sys.stdout.flush()
    raise SystemExit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
