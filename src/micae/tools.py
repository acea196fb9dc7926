"""Running external tools: found on PATH, bounded in time, failures with their last lines."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from micae.errors import ToolError

INSTALL_HINT = {
    "g++": "install it with 'apt-get install g++' (or 'make deps')",
    "iverilog": "install it with 'apt-get install iverilog' (or 'make deps')",
    "vvp": "install it with 'apt-get install iverilog' (or 'make deps')",
    "yosys": "install it with 'apt-get install yosys' (or 'make deps')",
}


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolError(f"'{name}' is not on PATH", INSTALL_HINT.get(name, f"install {name}"))
    return path


def tail(text: str, lines: int = 12) -> str:
    """The tool's own last lines, joined so the error stays on one line."""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def run_tool(cmd: list[str], *, cwd: Path, timeout_s: float, log_path: Path | None = None) -> str:
    """Run ``cmd`` in its own process group; kill the group on time-out. Returns stdout+stderr."""
    require_tool(cmd[0])
    try:
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
    except OSError as exc:
        raise ToolError(f"could not start {cmd[0]}: {exc}", INSTALL_HINT.get(cmd[0], f"check {cmd[0]}")) from exc
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        if log_path:
            log_path.write_text(out or "")
        raise ToolError(
            f"{Path(cmd[0]).name} did not finish within {timeout_s:g} s; last lines: {tail(out or '')}",
            "raise the time-out, or reduce the number of vectors",
        )
    if log_path:
        log_path.write_text(out)
    if proc.returncode != 0:
        raise ToolError(
            f"{Path(cmd[0]).name} failed with exit code {proc.returncode}; last lines: {tail(out)}",
            f"see the full log{' in ' + str(log_path) if log_path else ''}",
        )
    return out
