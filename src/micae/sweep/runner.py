"""Run a sweep on a Dask cluster: every unfinished grid point is one task, resumably.

Each point's task runs its training then its synthesis
as subprocesses on a worker (``micae.sweep.point``). Finished points are
skipped; a failed point is recorded and tried again on the next run; a point
whose worker dies is rescheduled by Dask on another worker (up to the
scheduler's ``allowed-failures``, default 3, after which it is recorded as
failed). Only one sweep runs in a folder at a time (``.lock``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from micae.errors import ConfigError
from micae.log import info
from micae.sweep.grid import Point, SweepSpec
from micae.sweep.layout import point_paths, sweep_dir
from micae.sweep.pareto import mark_fronts, plot_pareto
from micae.sweep.point import is_finished, point_fingerprint
from micae.sweep.results import columns, point_row, status_counts, write_csv


@dataclass
class SweepOutcome:
    root: Path
    rows: list[dict]
    ran: list[str]
    skipped_finished: list[str]
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return status_counts(self.rows)


@contextmanager
def sweep_lock(root: Path) -> Iterator[None]:
    """One sweep at a time per folder (a second one would redo the same points)."""
    from filelock import FileLock, Timeout

    root.mkdir(parents=True, exist_ok=True)
    owner = root / ".lock.owner"
    lock = FileLock(str(root / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = owner.read_text().strip() if owner.exists() else "another process"
        raise ConfigError(
            f"sweep folder {root} is in use by {who}", "wait for that sweep to finish, or use another --out"
        ) from None
    try:
        owner.write_text(f"process {os.getpid()} on {socket.gethostname()}\n")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def write_results(spec: SweepSpec, root: Path, rows: list[dict] | None = None) -> list[dict]:
    """results.csv, pareto_front.csv and pareto.png from the points' files (rerunnable at any time)."""
    rows = rows if rows is not None else [point_row(p, point_paths(root, p.name)) for p in spec.points]
    mark_fronts(rows)
    cols = columns(spec.grid_keys)
    write_csv(root / "results.csv", rows, cols)
    write_csv(root / "pareto_front.csv", [r for r in rows if r.get("pareto") == 1], cols)
    plot_pareto(rows, root / "pareto.png", title=f"sweep {spec.name}")
    return rows


def describe(spec: SweepSpec, extra: dict | None = None) -> dict:
    return {
        "name": spec.name,
        "source": str(spec.source) if spec.source else None,
        "base": str(spec.base),
        "set": spec.fixed,
        "grid_keys": spec.grid_keys,
        "labels": spec.labels,
        "synth": spec.synth,
        "points": [{"name": p.name, "values": p.values, "skip": p.skip, "config": p.config.raw} for p in spec.points],
        **(extra or {}),
    }


def point_state(point: Point, root: Path, synth: dict, *, force: bool = False) -> str:
    """skipped (why), finished, interrupted, partial or pending."""
    paths = point_paths(root, point.name)
    if point.skip:
        return f"skipped: {point.skip}"
    if not force and is_finished(paths, point_fingerprint(point.config.raw, synth)):
        return "finished"
    if (paths.root / "started.json").exists() and not paths.done.exists():
        return "interrupted (will be redone; --resume keeps a finished training)"
    if paths.root.exists():
        return "failed or outdated (will be redone; --resume keeps a finished training)"
    return "pending"


def plan(spec: SweepSpec, out: str | Path, *, force: bool = False) -> list[tuple[str, str]]:
    """(point, state) for every point."""
    root = sweep_dir(Path(out), spec.name).resolve()
    return [(p.name, point_state(p, root, spec.synth, force=force)) for p in spec.points]


class PointRunner:
    """Submits points to a Dask client and turns each finished future into a done record."""

    def __init__(self, client, root: Path, synth: dict, *, resume: bool, threads: int | None = None) -> None:
        self.client, self.root, self.synth, self.resume, self.threads = client, root, synth, resume, threads

    def submit(self, point: Point):
        from micae.sweep.point import run_point_task

        return self.client.submit(
            run_point_task,
            point.name,
            point.values,
            point.config.raw,
            str(self.root),
            self.synth,
            self.resume,
            self.threads,
            key=f"micae-point-{point.name}-{os.urandom(4).hex()}",
            pure=False,
        )

    def record(self, future, point: Point) -> dict:
        """The point's done record; a task that raised (e.g. its workers kept dying) is recorded as failed."""
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            lost = exc.last_worker.address if exc.last_worker else "?"
            error = f"the Dask workers running this point died {exc.allowed_failures + 1} times (last {lost})"
        except Exception as exc:  # a task error: record it, the other points go on
            error = getattr(exc, "problem", None) or f"{type(exc).__name__}: {exc}"
        paths = point_paths(self.root, point.name)
        paths.root.mkdir(parents=True, exist_ok=True)
        record = {
            "point": point.name,
            "values": point.values,
            "fingerprint": point_fingerprint(point.config.raw, self.synth),
            "synth": self.synth,
            "status": "failed",
            "error": f"worker: {error}",
            "seconds": {},
        }
        paths.done.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        return record

    def cancel(self, futures) -> None:
        """Cancel running points: their tasks see it within a second and kill their subprocesses."""
        if futures:
            self.client.cancel(list(futures), force=True)


def summary_line(point: Point, record: dict, row: dict) -> str:
    parts = [f"{point.name}: {record['status']}"]
    if row.get("emd_mean") not in ("", None):
        parts.append(f"EMD {row['emd_mean']:.3f}")
    elif row.get("test_mse") not in ("", None):
        parts.append(f"MSE {row['test_mse']:.4g}")
    if row.get("LUT") not in ("", None):
        parts.append(f"LUT {row['LUT']}")
    if row.get("cycles") not in ("", None):
        parts.append(f"{row['cycles']} cycles")
    if (record.get("seconds") or {}).get("total") is not None:
        parts.append(f"{record['seconds']['total']:.0f} s")
    if record.get("host"):
        parts.append(f"on {record['host']} ({record.get('worker', '')})")
    if record.get("error"):
        parts.append(record["error"])
    return ", ".join(parts)


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    resume: bool = False,
    say: Callable[[str], None] = info,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
) -> SweepOutcome:
    """Run every unfinished point of ``spec`` under ``<out>/<name>/`` on Dask and write the results.

    Without ``scheduler``/``scheduler_file`` a LocalCluster of ``jobs`` worker processes (default: the
    machine's cores) runs the points; with one, the cluster behind that scheduler does.
    """
    from micae.sweep.cluster import check_shared_folder, open_client, worker_threads

    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs {jobs} must be >= 1", "use e.g. --jobs 2")
    root = sweep_dir(Path(out), spec.name).resolve()
    t0 = time.perf_counter()
    with sweep_lock(root):
        (root / "sweep.json").write_text(json.dumps(describe(spec), indent=2, default=str) + "\n")
        todo, finished = [], []
        for p in spec.points:
            state = point_state(p, root, spec.synth, force=force)
            if state.startswith("skipped"):
                say(f"{p.name}: {state}")
            elif state == "finished":
                finished.append(p.name)
            else:
                todo.append(p)
        if finished:
            say(f"{len(finished)} point(s) finished earlier, skipped: {', '.join(finished)}")
        if not todo:
            say(f"nothing to run in {root}")
            rows = write_results(spec, root)
            return SweepOutcome(root, rows, [], finished, round(time.perf_counter() - t0, 1))
        # TensorFlow threads per point on a LocalCluster: the cores shared by its workers
        local_threads = None if scheduler or scheduler_file else max(1, (os.cpu_count() or 1) // (jobs or 1))
        with open_client(scheduler=scheduler, scheduler_file=scheduler_file, workers=jobs) as client:
            check_shared_folder(client, root)
            where = scheduler or scheduler_file or "a local Dask cluster"
            say(f"running {len(todo)} point(s) on {where} ({worker_threads(client)} at a time) in {root}")
            runner = PointRunner(client, root, spec.synth, resume=resume, threads=local_threads)
            run_points(runner, todo, spec, root, say)
        rows = write_results(spec, root)
    return SweepOutcome(root, rows, [p.name for p in todo], finished, round(time.perf_counter() - t0, 1))


def run_points(runner: PointRunner, todo: list[Point], spec: SweepSpec, root: Path, say) -> None:
    """Submit every point, report each as it completes; Ctrl-C cancels the rest (finished points stay)."""
    from distributed import as_completed

    futures = {runner.submit(p): p for p in todo}
    pending = set(futures)
    try:
        for k, fut in enumerate(as_completed(list(futures)), 1):
            point = futures[fut]
            record = runner.record(fut, point)
            pending.discard(fut)
            row = point_row(point, point_paths(root, point.name))
            say(f"[{k}/{len(todo)}] {summary_line(point, record, row)}")
            write_results(spec, root)
    except BaseException:
        runner.cancel(pending)
        raise
