"""A killed micae leaves no tool behind: tools started from step threads die with it (micae.tools)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from micae.cli.common import run_cli
    from micae.tools import run_tool, running_tools

    def main(argv):
        def step():  # like a flow step: a long tool call from a worker thread
            run_tool([sys.executable, "-c", "import time; time.sleep(300)"], cwd=Path("."), timeout_s=600)
        threading.Thread(target=step, daemon=True).start()
        while not running_tools():
            threading.Event().wait(0.05)
        print(" ".join(map(str, running_tools())), flush=True)
        threading.Event().wait(600)  # the main thread waits, as the step runner does
        return 0

    sys.exit(run_cli(main, []))
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().split(")")[-1].split()[0] == "Z")  # a zombie is dead


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_killing_micae_kills_the_tools_its_steps_started(sig, code):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env)
    try:
        tools = [int(p) for p in proc.stdout.readline().split()]
        assert len(tools) == 1 and _alive(tools[0])
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == code
        deadline = time.monotonic() + 10
        while _alive(tools[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(tools[0]), "the tool outlived micae"
    finally:
        proc.kill()
        proc.wait()


def test_no_tool_starts_once_micae_is_stopping():
    from micae.tools import ToolStopped, _stopping, run_tool

    _stopping.set()
    try:
        with pytest.raises(ToolStopped, match="micae is stopping"):
            run_tool([sys.executable, "-c", "pass"], cwd=Path("."), timeout_s=10)
    finally:
        _stopping.clear()
