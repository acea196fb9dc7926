"""Sweeps on Dask: a real scheduler and workers on 127.0.0.1, a killed worker, the shared-folder check, resuming.

The slow tests train and synthesize real (tiny) points: the digits data, 1 epoch, 300 vectors, no RTL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from micae.errors import ConfigError
from micae.sweep.grid import load_sweep

DIGITS = REPO / "models" / "digits_micae.yaml"
DASK = Path(sys.executable).parent / "dask"
POINTS = ("latent2", "latent4")


def tiny_sweep(folder: Path, name: str = "tiny") -> Path:
    f = folder / f"{name}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    f.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "base": str(DIGITS),
                "set": {"train.epochs": 1, "train.float_twin": False},
                "grid": {"encoder.latent": [2, 4, 8]},  # latent8: compression below 3, skipped
                "synth": {"vectors": 300, "rtl": "off", "vendor": "off"},
            }
        )
    )
    return f


def _wait(predicate, timeout_s: float, what: str, step: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _stop(proc: subprocess.Popen) -> None:
    """Kill a process group we started and reap it."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=15)


@contextmanager
def dask_cluster(folder: Path, n_workers: int = 2):
    """``dask scheduler`` + ``n_workers`` x ``dask worker --nthreads 1`` on 127.0.0.1, always torn down.

    Yields (scheduler file, {worker name: Popen}). The scheduler exits by itself after 10 idle minutes
    and the workers 60 s after losing it, should a crash skip the teardown.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sched_file = folder / "scheduler.json"
    logs = {"scheduler": (folder / "scheduler.log").open("w")}
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}
    procs: dict[str, subprocess.Popen] = {}
    try:
        procs["scheduler"] = subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(sched_file), "--idle-timeout", "600s"],
            stdout=logs["scheduler"],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(sched_file.exists, 60, "the scheduler file")
        for i in range(n_workers):
            name = f"w{i}"
            logs[name] = (folder / f"{name}.log").open("w")
            procs[name] = subprocess.Popen(
                [str(DASK), "worker", "--scheduler-file", str(sched_file), "--nthreads", "1", "--name", name]
                + ["--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60"]
                + ["--local-directory", str(folder / name)],
                stdout=logs[name],
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        from distributed import Client

        with Client(scheduler_file=str(sched_file), timeout=60) as client:
            client.wait_for_workers(n_workers, timeout=120)
        yield sched_file, {k: v for k, v in procs.items() if k != "scheduler"}
    finally:
        for proc in reversed(list(procs.values())):
            _stop(proc)
        for f in logs.values():
            f.close()


def worker_addresses(sched_file: Path) -> dict[str, str]:
    """{worker name: address} as the scheduler sees them."""
    from distributed import Client

    with Client(scheduler_file=str(sched_file), timeout=60) as client:
        return {info["name"]: addr for addr, info in client.scheduler_info(n_workers=-1)["workers"].items()}


def metrics(root: Path, point: str) -> dict:
    return json.loads((root / "points" / point / "models" / point / "metrics.json").read_text())["quantized"]


def done(root: Path, point: str) -> dict:
    return json.loads((root / "points" / point / "done.json").read_text())


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny sweep on the default LocalCluster (2 worker processes): the reference for the other runs."""
    from micae.sweep.runner import run_sweep

    folder = tmp_path_factory.mktemp("local")
    spec = load_sweep(tiny_sweep(folder))
    outcome = run_sweep(spec, folder / "out", jobs=2, say=lambda m: None)
    return outcome


# ---- fast: the shared-folder check ------------------------------------------------------------------


def test_a_worker_that_cannot_see_the_sweep_folder_is_refused_by_name(tmp_path):
    from micae.sweep.cluster import check_shared_folder

    class FakeClient:  # the answers of two workers, one of which mounts a different filesystem
        def run(self, fn, path, token):
            from micae.sweep.cluster import _probe

            return {"tcp://10.0.0.1:4000": _probe(path, token), "tcp://10.0.0.2:4000": _probe(path + ".x", token)}

    with pytest.raises(ConfigError, match=r"Dask worker tcp://10\.0\.0\.2:4000 cannot use the sweep folder .*shared"):
        check_shared_folder(FakeClient(), tmp_path / "sweep")
    assert not list((tmp_path / "sweep" / ".probe").iterdir())  # the probe file is cleaned up


def test_two_sweeps_in_one_folder_are_refused(tmp_path):
    from micae.sweep.runner import sweep_lock

    with sweep_lock(tmp_path):
        with pytest.raises(ConfigError, match=f"in use by process {os.getpid()} on {socket.gethostname()}"):
            with sweep_lock(tmp_path):
                pass
    with sweep_lock(tmp_path):  # released: usable again
        pass


def test_an_unreachable_scheduler_is_a_config_error(tmp_path):
    from micae.sweep.cluster import open_client

    with pytest.raises(ConfigError, match="scheduler file .* does not exist"):
        with open_client(scheduler_file=tmp_path / "nope.json"):
            pass


# ---- slow: real points on real clusters -------------------------------------------------------------


@pytest.mark.slow
def test_a_sweep_on_a_dask_scheduler_matches_the_local_cluster(tmp_path, local_run):
    from micae.cli.sweep import main

    spec_file = tiny_sweep(tmp_path)
    with dask_cluster(tmp_path / "cluster") as (sched_file, _):
        addresses = worker_addresses(sched_file)
        t0 = time.perf_counter()
        address = json.loads(sched_file.read_text())["address"]  # the scheduler's tcp://127.0.0.1:<port>
        assert main(["--config", str(spec_file), "--out", str(tmp_path / "out"), "--scheduler", address]) == 0
        remote_s = time.perf_counter() - t0
    root = tmp_path / "out" / "tiny"
    for point in POINTS:
        record = done(root, point)
        assert record["status"] == "ok"
        assert record["worker"] in addresses.values() and record["host"] == socket.gethostname()
        assert metrics(root, point) == metrics(local_run.root, point)  # same seeds, same numbers, bit for bit
    rows = (root / "results.csv").read_text().splitlines()
    head = rows[0].split(",")
    assert [r.split(",")[head.index("status")] for r in rows[1:]] == ["ok", "ok", "skipped"]
    assert {r.split(",")[head.index("worker")] for r in rows[1:3]} <= set(addresses.values())
    print(f"wall time: local cluster {local_run.seconds:.0f} s, two dask workers {remote_s:.0f} s")


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_a_worker_killed_mid_point_loses_nothing(tmp_path, local_run):
    import psutil

    spec_file = tiny_sweep(tmp_path)
    root = tmp_path / "out" / "tiny"
    with dask_cluster(tmp_path / "cluster") as (sched_file, workers):
        addresses = worker_addresses(sched_file)
        cli = subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "sweep.py"), "--config", str(spec_file)]
            + ["--out", str(tmp_path / "out"), "--scheduler-file", str(sched_file)],
            stdout=(tmp_path / "cli.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # wait until a point's training runs, then kill its worker (nanny and all) with SIGKILL
            def training():
                for p in POINTS:
                    log, started = root / "points" / p / "log.txt", root / "points" / p / "started.json"
                    if started.exists() and log.exists() and "loading dataset" in log.read_text():
                        return p, json.loads(started.read_text())["worker"]
                return None

            victim_point, victim_addr = _wait(training, 300, "a point to start training")
            victim = next(name for name, addr in addresses.items() if addr == victim_addr)
            doomed = _children(workers[victim].pid)
            assert any("micae.sweep.child" in " ".join(c.cmdline()) for c in doomed)  # its training step
            os.killpg(workers[victim].pid, signal.SIGKILL)
            # the point's own subprocesses die with their worker (parent-death signal), no stale writer
            _wait(lambda: not [c for c in doomed if c.is_running() and c.status() != psutil.STATUS_ZOMBIE], 30, "them")
            assert cli.wait(timeout=900) == 0, (tmp_path / "cli.log").read_text()[-3000:]
        finally:
            _stop(cli)
    survivor = next(addr for name, addr in addresses.items() if name != victim)
    for point in POINTS:
        record = done(root, point)
        assert record["status"] == "ok" and metrics(root, point) == metrics(local_run.root, point)
        assert not (root / "points" / point / "started.json").exists()
        leftovers = [p.name for p in (root / "points" / point).rglob("*.incomplete")]
        assert leftovers == []
    rerun = done(root, victim_point)
    assert rerun["worker"] == survivor and rerun["previous_attempt"]["worker"] == victim_addr
    log = (root / "points" / victim_point / "log.txt").read_text()
    assert log.count("train.job.json") == 1 and log.count("synth.job.json") == 1  # one clean attempt in the log
    assert f"an earlier attempt on {victim_addr} did not finish" in log
    lines = (root / "results.csv").read_text().splitlines()
    assert len(lines) == 4 and sorted(ln.split(",")[1] for ln in lines[1:]) == ["latent2", "latent4", "latent8"]


@pytest.mark.slow
def test_finished_points_are_skipped_and_an_interrupted_one_resumes(tmp_path, local_run):
    from micae.sweep.layout import point_paths
    from micae.sweep.runner import run_sweep

    def stamp(path: Path) -> tuple:
        return (path.stat().st_mtime_ns, path.stat().st_size)

    out = tmp_path / "out"
    shutil.copytree(local_run.root, out / "tiny")
    root = out / "tiny"
    spec = load_sweep(tiny_sweep(tmp_path))
    p2, p4 = point_paths(root, "latent2"), point_paths(root, "latent4")
    before = {p.name: (stamp(p.done), stamp(p.log), stamp(p.metrics)) for p in (p2, p4)}
    results = (root / "results.csv").read_text()

    again = run_sweep(spec, out, jobs=2, say=lambda m: None)
    assert again.ran == [] and again.skipped_finished == ["latent2", "latent4"]
    assert {p.name: (stamp(p.done), stamp(p.log), stamp(p.metrics)) for p in (p2, p4)} == before
    assert (root / "results.csv").read_text() == results

    # an interruption after training: the done marker is missing, the training is complete
    p4.done.unlink()
    (p4.root / "started.json").write_text(json.dumps({"worker": "tcp://127.0.0.1:1", "host": "gone"}))
    resumed = run_sweep(spec, out, jobs=2, resume=True, say=lambda m: None)
    assert resumed.ran == ["latent4"]
    log = p4.log.read_text()
    assert log.count("train.job.json") == 1 and log.count("synth.job.json") == 2  # training kept, synthesis redone
    assert stamp(p4.metrics) == before["latent4"][2]
    assert (stamp(p2.done), stamp(p2.log)) == before["latent2"][:2]
    assert json.loads(p4.done.read_text())["previous_attempt"]["worker"] == "tcp://127.0.0.1:1"
    rows = {r["point"]: r for r in resumed.rows}
    assert rows["latent4"]["status"] == "ok" and rows["latent2"]["status"] == "ok"
