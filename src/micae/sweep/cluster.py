"""Where sweep points run: a Dask cluster (a local one by default, or an existing scheduler).

``open_client()`` with no arguments starts a ``LocalCluster`` of worker
processes sized to the machine (one thread each, so one point per worker at a
time). ``scheduler="tcp://host:8786"`` or ``scheduler_file=path`` connects to a
cluster started elsewhere (e.g. with dask-jobqueue on SLURM or HTCondor; see
README "Sweeps on a cluster"). ``check_shared_folder`` makes sure every worker
sees the sweep folder before any point is sent there.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from micae.errors import ConfigError

PROBE_DIR = ".probe"


@contextmanager
def open_client(
    *,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    workers: int | None = None,
) -> Iterator:
    """A ``distributed.Client``: to ``scheduler``/``scheduler_file`` if given, else to a new LocalCluster."""
    from distributed import Client, LocalCluster

    if scheduler and scheduler_file:
        raise ConfigError("both --scheduler and --scheduler-file are given", "give only one of them")
    if scheduler or scheduler_file:
        if scheduler_file and not Path(scheduler_file).is_file():
            raise ConfigError(
                f"scheduler file {scheduler_file} does not exist",
                "start the scheduler first (dask scheduler --scheduler-file <path>) on a shared filesystem",
            )
        try:
            client = Client(
                address=scheduler, scheduler_file=str(scheduler_file) if scheduler_file else None, timeout=30
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot reach the Dask scheduler {scheduler or scheduler_file}: {exc}",
                "check that 'dask scheduler' runs there and the address/port (default 8786) is reachable",
            ) from exc
        with client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    if n < 1:
        raise ConfigError(f"--workers {n} must be >= 1", "use e.g. --workers 2")
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.WARNING,
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def worker_threads(client) -> int:
    """Points the cluster runs at once (its worker threads; at least 1)."""
    return max(1, sum(client.nthreads().values()))


def _probe(path: str, token: str) -> str | None:
    """On a worker: None when ``path`` holds ``token`` and its folder is writable, else why not."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if text.strip() != token:
        return f"{path} holds another sweep's probe (a different folder with the same path?)"
    if not os.access(Path(path).parent.parent, os.W_OK):
        return f"cannot write to {Path(path).parent.parent}"
    return None


def check_shared_folder(client, root: Path) -> None:
    """Refuse (ConfigError) when a worker cannot read and write the sweep folder ``root``."""
    root = Path(root).resolve()
    probe_dir = root / PROBE_DIR
    probe_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    probe = probe_dir / f"{token}.txt"
    probe.write_text(token + "\n")
    try:
        answers = client.run(_probe, str(probe), token)
    finally:
        probe.unlink(missing_ok=True)
    bad = {addr: why for addr, why in answers.items() if why}
    if not answers:
        raise ConfigError("the Dask cluster has no workers", "start workers (dask worker <scheduler address>) first")
    if bad:
        addr, why = next(iter(bad.items()))
        more = f" (and {len(bad) - 1} more worker(s))" if len(bad) > 1 else ""
        raise ConfigError(
            f"Dask worker {addr}{more} cannot use the sweep folder {root}: {why}",
            "put --out on a filesystem every worker mounts at the same path (the cluster's shared home or "
            "scratch), or run the workers on a machine that sees it",
        )


def worker_identity() -> dict:
    """The Dask worker running this task (address, host name), or this process when outside a worker."""
    try:
        from distributed import get_worker

        address = get_worker().address
    except ValueError:
        address = ""
    return {"worker": address, "host": socket.gethostname()}


def stop_requested_check():
    """A callable that is True once this Dask task is cancelled or its worker is closing."""
    try:
        from distributed import get_worker

        worker = get_worker()
        key = worker.get_current_task()
    except ValueError:
        return lambda: False
    from distributed.core import Status

    ending = (Status.closing, Status.closed, Status.failed)

    def stop() -> bool:
        ts = worker.state.tasks.get(key)
        return worker.status in ending or ts is None or ts.state in ("cancelled", "released", "forgotten")

    return stop
