"""Run a sweep: train + synthesize every grid point in parallel local processes, resumably.

Each point runs ``scripts/train_qat.py`` then ``scripts/synthesize.py`` as
subprocesses (``sys.executable``), logging to ``points/<point>/log.txt``. A
point is *finished* when its ``done.json`` (written last) says ok or mismatch,
its ``metrics.json`` and ``report.json`` exist and its fingerprint (run config
+ synthesize options) still matches the sweep file; finished points are
skipped. Anything else is redone from scratch, or with ``resume=True`` a
finished training is kept and an interrupted one continues from its checkpoint.
A failing point is recorded (status, error line) and retried on the next run;
it never stops the sweep.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import yaml

from micae.errors import ConfigError
from micae.log import info
from micae.outputs import staging_path
from micae.sweep.grid import Point, SweepSpec, fingerprint, synth_args
from micae.sweep.layout import PointPaths, point_paths, sweep_dir
from micae.sweep.pareto import mark_fronts, plot_pareto
from micae.sweep.results import columns, point_row, write_csv

FINISHED = ("ok", "mismatch")


@dataclass
class SweepOutcome:
    root: Path
    rows: list[dict]
    ran: list[str]
    skipped_finished: list[str]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out


def rtl_route_available() -> bool:
    """The open-source RTL route (``micae.rtl.route``) is being added separately; it may be missing."""
    return importlib.util.find_spec("micae.rtl.route") is not None


def effective_synth(opts: dict) -> dict:
    """The synthesize options actually used: ``rtl: auto`` becomes ``off`` while the RTL route is missing."""
    out = dict(opts)
    if out["rtl"] != "off" and not rtl_route_available():
        if out["rtl"] == "on":
            raise ConfigError(
                "synth.rtl is 'on' but the RTL route (micae.rtl.route) is not installed", "use rtl: auto or rtl: off"
            )
        out["rtl"] = "off"
    return out


def point_fingerprint(point: Point, synth: dict) -> str:
    return fingerprint(point.config.raw, synth)


def is_finished(point: Point, paths: PointPaths, fp: str) -> bool:
    try:
        done = json.loads(paths.done.read_text())
    except (OSError, ValueError):
        return False
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


def _script(name: str, module: str) -> list[str]:
    """``scripts/<name>`` of the source tree when present, else ``python -m <module>``."""
    import micae

    script = Path(micae.__file__).resolve().parents[2] / "scripts" / name
    return [sys.executable, str(script)] if script.is_file() else [sys.executable, "-m", module]


def subprocess_env(jobs: int) -> dict:
    """Quiet TensorFlow and share the cores between the ``jobs`` parallel points."""
    env = dict(os.environ)
    threads = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    for key in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        env.setdefault(key, threads)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _error_line(log: Path, offset: int) -> str:
    """The ``error: ...`` line a micae CLI printed (else the last line) in the log since ``offset``."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    line = errors[-1][len("error:") :].strip() if errors else (lines[-1] if lines else "no output")
    return line[:400]


class _Procs:
    """Running subprocesses, so Ctrl-C can stop exactly the ones this sweep started."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()

    def run(self, args: list[str], log: Path, env: dict) -> tuple[int | None, int]:
        """Run to completion; returns (exit code or None if cancelled, log offset where its output starts)."""
        if self.cancel.is_set():
            return None, 0
        with log.open("ab") as f:
            f.write(f"\n$ {' '.join(args)}\n".encode())
            f.flush()
            offset = f.tell()
            proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
            with self._lock:
                self._procs.add(proc)
            try:
                rc = proc.wait()
            finally:
                with self._lock:
                    self._procs.discard(proc)
        interrupted = rc in (130, -2, -15)  # Ctrl-C reaches the children too: never record it as a failure
        return (None if self.cancel.is_set() or interrupted else rc), offset

    def stop_all(self) -> None:
        self.cancel.set()
        with self._lock:
            procs = list(self._procs)
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _clean_point(paths: PointPaths) -> None:
    for sub in (paths.models, paths.hls, paths.firmware):
        if sub.exists():
            shutil.rmtree(sub)
    for f in (paths.done, paths.log):
        f.unlink(missing_ok=True)


def _write_done(paths: PointPaths, record: dict) -> None:
    tmp = paths.done.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tmp.replace(paths.done)


def run_point(point: Point, paths: PointPaths, synth: dict, *, resume: bool, procs: _Procs, env: dict) -> dict | None:
    """Train and synthesize one point; returns its done record (None when cancelled)."""
    start = time.perf_counter()
    fp = point_fingerprint(point, synth)
    reuse = resume and _same_config(paths.config, point.config.raw)
    if not reuse:
        _clean_point(paths)
    paths.done.unlink(missing_ok=True)
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(point.config.to_yaml())
    record = {"point": point.name, "values": point.values, "fingerprint": fp, "synth": synth, "error": None}
    seconds = {"train": 0.0, "synth": 0.0}

    trained = reuse and paths.metrics.exists() and _same_config(paths.run / "config.yaml", point.config.raw)
    if not trained:
        train = [*_script("train_qat.py", "micae.cli.train"), "--config", str(paths.config), "--out", str(paths.models)]
        t0 = time.perf_counter()
        if reuse and staging_path(paths.run).exists():
            rc, offset = procs.run([*train, "--resume"], paths.log, env)
            if rc not in (0, None):  # a checkpoint that cannot be continued: start that training over
                with paths.log.open("a") as f:
                    f.write("\n[sweep] resuming the training failed; training from scratch\n")
                rc, offset = procs.run([*train, "--force"], paths.log, env)
        else:
            rc, offset = procs.run([*train, "--force"], paths.log, env)
        seconds["train"] = round(time.perf_counter() - t0, 1)
        if rc is None:
            return None
        if rc != 0 or not paths.metrics.exists():
            record.update(status="failed", error=f"train: {_error_line(paths.log, offset)}")
    if "status" not in record:
        t0 = time.perf_counter()
        rc, offset = procs.run(
            [
                *_script("synthesize.py", "micae.cli.synth"),
                "--model",
                str(paths.run),
                "--hls-root",
                str(paths.hls),
                "--firmware-root",
                str(paths.firmware),
                "--force",
                *synth_args(synth),
            ],
            paths.log,
            env,
        )
        seconds["synth"] = round(time.perf_counter() - t0, 1)
        if rc is None:
            return None
        if rc == 0 and paths.report.exists():
            record["status"] = "ok"
        elif rc == 1 and paths.report.exists():
            record.update(status="mismatch", error=f"synthesize: {_error_line(paths.log, offset)}")
        else:
            record.update(status="failed", error=f"synthesize: {_error_line(paths.log, offset)}")
    seconds["total"] = round(time.perf_counter() - start, 1)
    record["seconds"] = seconds
    _write_done(paths, record)
    return record


class _Lock:
    """One sweep at a time per folder (a second one would redo the same points)."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pid = self.path.read_text().strip()
            if pid.isdigit() and _alive(int(pid)):
                raise ConfigError(
                    f"sweep folder {self.path.parent} is in use by process {pid}",
                    "wait for that sweep to finish, or use another --out",
                ) from None
            self.path.unlink(missing_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_results(spec: SweepSpec, root: Path) -> list[dict]:
    """results.csv, pareto_front.csv and pareto.png from the points' files (rerunnable at any time)."""
    rows = [point_row(p, point_paths(root, p.name)) for p in spec.points]
    mark_fronts(rows)
    cols = columns(spec.grid_keys)
    write_csv(root / "results.csv", rows, cols)
    write_csv(root / "pareto_front.csv", [r for r in rows if r.get("pareto") == 1], cols)
    plot_pareto(rows, root / "pareto.png", title=f"sweep {spec.name}")
    return rows


def _describe(spec: SweepSpec, synth: dict) -> dict:
    return {
        "name": spec.name,
        "source": str(spec.source) if spec.source else None,
        "base": str(spec.base),
        "set": spec.fixed,
        "grid_keys": spec.grid_keys,
        "labels": spec.labels,
        "synth": synth,
        "points": [{"name": p.name, "values": p.values, "skip": p.skip, "config": p.config.raw} for p in spec.points],
    }


def plan(spec: SweepSpec, out: str | Path, *, force: bool = False) -> list[tuple[str, str]]:
    """(point, state) for every point: skipped (why), finished, partial or pending."""
    root = sweep_dir(Path(out), spec.name)
    synth = effective_synth(spec.synth)
    states = []
    for p in spec.points:
        paths = point_paths(root, p.name)
        if p.skip:
            state = f"skipped: {p.skip}"
        elif not force and is_finished(p, paths, point_fingerprint(p, synth)):
            state = "finished"
        elif paths.root.exists():
            state = "partial or outdated (will be redone; --resume keeps a finished training)"
        else:
            state = "pending"
        states.append((p.name, state))
    return states


def _summary(point: Point, record: dict | None, row: dict) -> str:
    if record is None:
        return f"{point.name}: interrupted"
    parts = [f"{point.name}: {record['status']}"]
    if row.get("emd_mean") not in ("", None):
        parts.append(f"EMD {row['emd_mean']:.3f}")
    elif row.get("test_mse") not in ("", None):
        parts.append(f"MSE {row['test_mse']:.4g}")
    if row.get("LUT") not in ("", None):
        parts.append(f"LUT {row['LUT']}")
    if row.get("cycles") not in ("", None):
        parts.append(f"{row['cycles']} cycles")
    parts.append(f"{record['seconds']['total']:.0f} s")
    if record.get("error"):
        parts.append(record["error"])
    return ", ".join(parts)


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    jobs: int = 2,
    force: bool = False,
    resume: bool = False,
    say: Callable[[str], None] = info,
) -> SweepOutcome:
    """Run every unfinished point of ``spec`` under ``<out>/<name>/`` and write the results."""
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs} must be >= 1", "use e.g. --jobs 2")
    root = sweep_dir(Path(out), spec.name)
    synth = effective_synth(spec.synth)
    if synth["rtl"] != spec.synth["rtl"]:
        say("note: the RTL route is not available, synthesizing with --rtl off (LUT/cycle cells stay empty)")
    with _Lock(root):
        (root / "sweep.json").write_text(json.dumps(_describe(spec, synth), indent=2, default=str) + "\n")
        todo, finished = [], []
        for p in spec.points:
            paths = point_paths(root, p.name)
            if p.skip:
                say(f"{p.name}: skipped: {p.skip}")
            elif not force and is_finished(p, paths, point_fingerprint(p, synth)):
                finished.append(p.name)
            else:
                todo.append(p)
        if finished:
            say(f"{len(finished)} point(s) finished earlier, skipped: {', '.join(finished)}")
        if todo:
            say(f"running {len(todo)} point(s) with {min(jobs, len(todo))} parallel job(s) in {root}")
        else:
            say(f"nothing to run in {root}")
        procs, env = _Procs(), subprocess_env(jobs)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                pool.submit(run_point, p, point_paths(root, p.name), synth, resume=resume, procs=procs, env=env): p
                for p in todo
            }
            try:
                for k, fut in enumerate(as_completed(futures), 1):
                    point = futures[fut]
                    record = fut.result()
                    row = point_row(point, point_paths(root, point.name))
                    say(f"[{k}/{len(todo)}] {_summary(point, record, row)}")
                    write_results(spec, root)
            except BaseException:
                procs.stop_all()
                for f in futures:
                    f.cancel()
                raise
        rows = write_results(spec, root)
    return SweepOutcome(root=root, rows=rows, ran=[p.name for p in todo], skipped_finished=finished)
