"""One sweep point on a Dask worker: its training, then its synthesis, each in a child process.

Each step gets its validated input as a JSON job file (``train.job.json``: the run config;
``synth.job.json``: the :class:`~micae.flow.request.SynthRequest`), runs in ``python -m micae.sweep.child``
(TensorFlow state and crashes stay in it) and writes its outcome (``<step>.result.json``: exit code and the
one-line error) for the point's record.

A point is *finished* when its ``done.json`` (written last, atomically) says ok
or mismatch, its ``metrics.json`` and ``report.json`` exist and its fingerprint
(run config + synthesize options) still matches. Training and synthesis write
their folders through ``micae.outputs.staged_output`` (``<name>.incomplete/``
until done), so a killed attempt never leaves a folder that looks finished.
``started.json`` marks an attempt in progress; a rerun that finds it (worker
lost, Ctrl-C) records it as ``previous_attempt``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from micae.errors import ConfigError, ToolError
from micae.outputs import staging_path
from micae.sweep.grid import fingerprint
from micae.sweep.layout import PointPaths, point_paths
from micae.tools import ToolStopped, run_tool

FINISHED = ("ok", "mismatch")
STEP_TIMEOUT_S = 7 * 24 * 3600.0  # a step is never cut short by micae; batch systems have their own limits


def point_fingerprint(config_raw: dict, synth: dict) -> str:
    """The run config (without its ``synth:`` block, which is ``synth`` itself) and the synth settings."""
    return fingerprint({k: v for k, v in config_raw.items() if k != "synth"}, synth)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_finished(paths: PointPaths, fp: str) -> bool:
    done = read_json(paths.done) or {}
    return (
        done.get("status") in FINISHED
        and done.get("fingerprint") == fp
        and paths.metrics.exists()
        and paths.report.exists()
    )


def _same_config(path: Path, raw: dict) -> bool:
    try:
        return yaml.safe_load(path.read_text()) == raw
    except (OSError, yaml.YAMLError):
        return False


def _child(paths: PointPaths, job: dict) -> list[str]:
    """The command of one step: its job (validated input, as JSON) in the point folder, run by micae.sweep.child."""
    job_file = paths.root / f"{job['step']}.job.json"
    result = paths.root / f"{job['step']}.result.json"
    result.unlink(missing_ok=True)
    job_file.write_text(json.dumps({**job, "result": str(result)}, indent=1, default=str) + "\n")
    return [sys.executable, "-m", "micae.sweep.child", str(os.getpid()), str(job_file)]


def _outcome(paths: PointPaths, step: str, code: int, out: str) -> tuple[int, str]:
    """(exit code, one-line error) of a step: from its result file, else (a crash) from its output."""
    result = read_json(paths.root / f"{step}.result.json")
    if result is not None and result.get("exit_code") == code:
        return code, result.get("error") or ""
    return code, error_line(out) if code else ""


def subprocess_env(threads: int | None = None) -> dict:
    """Quiet TensorFlow; ``threads`` per point (default: this machine's cores over the worker's threads)."""
    env = dict(os.environ)
    if threads is None:
        try:
            from distributed import get_worker

            per_worker = get_worker().state.nthreads
        except (ImportError, ValueError):
            per_worker = 1
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // max(1, per_worker))
    for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        env.setdefault(key, str(threads))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def error_line(text: str) -> str:
    """The ``error: ...`` line a step printed (else its last line): for a step that died without its result file."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    line = errors[-1][len("error:") :].strip() if errors else (lines[-1] if lines else "no output")
    return line[:400]


def _step(args: list[str], paths: PointPaths, env: dict, stop: Callable[[], bool]) -> tuple[int, str]:
    """Run one step, its output appended live to the point's log; (exit code, its output)."""
    offset = paths.log.stat().st_size if paths.log.exists() else 0
    try:
        out = run_tool(
            args, cwd=paths.root, timeout_s=STEP_TIMEOUT_S, log_path=paths.log, env=env, append_log=True, stop=stop
        )
        return 0, out
    except ToolStopped:
        raise
    except ToolError as exc:
        code = getattr(exc, "returncode", None)
        if code is None:
            raise
        if code in (130, -2, -15):  # Ctrl-C or SIGTERM reached the step: an interruption, not a result
            raise ToolStopped(f"{Path(args[-1]).name} was interrupted", "run the sweep again") from exc
        with paths.log.open("rb") as f:
            f.seek(offset)
            return code, f.read().decode(errors="replace")


def _clean_point(paths: PointPaths) -> None:
    for sub in (paths.models, paths.hls, paths.firmware):
        if sub.exists():
            shutil.rmtree(sub)
    for f in (paths.done, paths.log):
        f.unlink(missing_ok=True)


def _write_json(path: Path, record: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def _train(paths: PointPaths, config_raw: dict, reuse: bool, env: dict, stop) -> tuple[int, str]:
    job = {"step": "train", "config": config_raw, "out": str(paths.models)}
    if reuse and staging_path(paths.run).exists():
        rc, out = _step(_child(paths, {**job, "resume": True}), paths, env, stop)
        if rc == 0:
            return _outcome(paths, "train", rc, out)
        with paths.log.open("a") as f:  # a checkpoint that cannot be continued: start that training over
            f.write("\n[sweep] resuming the training failed; training from scratch\n")
    rc, out = _step(_child(paths, {**job, "force": True}), paths, env, stop)
    return _outcome(paths, "train", rc, out)


def _synthesize(paths: PointPaths, synth: dict, env: dict, stop) -> tuple[int, str]:
    from micae.flow.request import SynthRequest

    request = SynthRequest(
        model=paths.run,
        hls_root=paths.hls,
        firmware_root=paths.firmware,
        force=True,
        options=synth,
        sources={k: "sweep" for k in synth},
    )
    rc, out = _step(_child(paths, {"step": "synth", "request": request.model_dump(mode="json")}), paths, env, stop)
    return _outcome(paths, "synth", rc, out)


def run_point(
    name: str,
    values: dict,
    config_raw: dict,
    paths: PointPaths,
    synth: dict,
    *,
    resume: bool = False,
    env: dict | None = None,
    stop: Callable[[], bool] = lambda: False,
    where: dict | None = None,
) -> dict:
    """Train and synthesize one point; returns its done record (raises ToolStopped when stopped)."""
    start = time.perf_counter()
    fp = point_fingerprint(config_raw, synth)
    env = env or subprocess_env()
    previous = read_json(paths.root / "started.json") if not paths.done.exists() else None
    reuse = resume and _same_config(paths.config, config_raw)
    if not reuse:
        _clean_point(paths)
    paths.done.unlink(missing_ok=True)
    paths.root.mkdir(parents=True, exist_ok=True)
    where = where or {"worker": "", "host": ""}
    _write_json(paths.root / "started.json", {**where, "time": time.time()})
    if previous:
        with paths.log.open("a") as f:
            f.write(
                f"\n[sweep] an earlier attempt on {previous.get('worker') or previous.get('host')} did not finish\n"
            )
    paths.config.write_text(yaml.safe_dump(config_raw, sort_keys=False))
    record = {"point": name, "values": values, "fingerprint": fp, "synth": synth, "error": None, **where}
    if previous:
        record["previous_attempt"] = previous
    seconds = {"train": 0.0, "synth": 0.0}
    if not (reuse and paths.metrics.exists() and _same_config(paths.run / "config.yaml", config_raw)):
        t0 = time.perf_counter()
        rc, error = _train(paths, config_raw, reuse, env, stop)
        seconds["train"] = round(time.perf_counter() - t0, 1)
        if rc != 0 or not paths.metrics.exists():
            record.update(status="failed", error=f"train: {error or 'no metrics.json written'}")
    if "status" not in record:
        t0 = time.perf_counter()
        rc, error = _synthesize(paths, synth, env, stop)
        seconds["synth"] = round(time.perf_counter() - t0, 1)
        if rc == 0 and paths.report.exists():
            record["status"] = "ok"
        elif rc == 1 and paths.report.exists():
            record.update(status="mismatch", error=f"synth: {error}")
        else:
            record.update(status="failed", error=f"synth: {error or 'no report.json written'}")
    seconds["total"] = round(time.perf_counter() - start, 1)
    record["seconds"] = seconds
    _write_json(paths.done, record)
    (paths.root / "started.json").unlink(missing_ok=True)
    return record


def run_point_task(
    name: str, values: dict, config_raw: dict, root: str, synth: dict, resume: bool, threads: int | None
) -> dict:
    """The Dask task of one point (plain arguments, so any worker can unpickle them)."""
    from micae.sweep.cluster import stop_requested_check, worker_identity

    root_path = Path(root)
    where = worker_identity()
    if not (root_path / "sweep.json").is_file():
        raise ConfigError(
            f"Dask worker {where['worker']} on {where['host']} cannot see the sweep folder {root}",
            "put --out on a filesystem every worker mounts at the same path",
        )
    return run_point(
        name,
        values,
        config_raw,
        point_paths(root_path, name),
        synth,
        resume=resume,
        env=subprocess_env(threads),
        stop=stop_requested_check(),
        where=where,
    )
