"""Drive the vendor HLS tools on an hls4ml project, the way hls4ml 1.3.0 does.

Commands mirror hls4ml 1.3.0's ``build()`` methods:

* Vivado backend (``hls4ml/backends/vivado/vivado_backend.py``, ``VivadoBackend.build``)::

      vivado_hls -f build_prj.tcl "reset=1 csim=1 synth=1 cosim=1 validation=0 export=1 vsynth=0 fifo_opt=0"

  run in the project folder. The last word is one argument; the project's
  ``build_prj.tcl`` reads it with ``regexp "$o=+(\\w+)"`` for each option. hls4ml
  formats Python booleans (``reset=True``); Tcl reads 1/0 the same way, and 1/0 is
  what the template's own defaults use.

* Vitis backend (``hls4ml/backends/vitis/vitis_backend.py``, ``VitisBackend.build``)::

      vitis-run --tcl build_prj.tcl --mode hls

  The Vitis template's ``build_prj.tcl`` takes no arguments: it sources
  ``build_opt.tcl``, which hls4ml rewrites before each build as
  ``array set opt { reset 1 csim 1 ... }``; :func:`write_build_opt_tcl` does the same.
  hls4ml 1.3 only knows ``vitis-run``; on older Vitis installs that have only
  ``vitis_hls``, ``vitis_hls -f build_prj.tcl`` runs the same script (it also reads
  ``build_opt.tcl``).

``reset`` is always on: every run starts from a clean HLS solution so the reports it
returns can only come from this run. Reports older than the run are ignored too.

Stand-ins: tests (and dry runs on machines without Xilinx tools) put a fake
``vivado_hls`` on PATH. A run is marked ``"stand_in": True`` when the environment
variable ``MICAE_VENDOR_STAND_IN=1`` is set or the executable contains the marker
``MICAE-STAND-IN``. Its numbers are copies of fixtures, so such a run must never be
counted as a vendor run: the report builder shows it as "stand-in (not a vendor run)".
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable

from micae.errors import ConfigError, ToolError
from micae.hls.reports import collect_vendor_reports

STAND_IN_ENV = "MICAE_VENDOR_STAND_IN"
STAND_IN_MARKER = b"MICAE-STAND-IN"

# hls4ml's build options, in the order VivadoBackend.build() writes them.
BUILD_OPTIONS = ("reset", "csim", "synth", "cosim", "validation", "export", "vsynth", "fifo_opt")
STEPS = ("csim", "synth", "cosim", "validation", "export", "vsynth", "fifo_opt")
DEFAULT_STEPS = ("csim", "synth", "cosim", "export")

# Tools per backend, preferred first (hls4ml 1.3's Vitis backend calls vitis-run).
BACKEND_TOOLS = {"vivado": ("vivado_hls",), "vitis": ("vitis-run", "vitis_hls")}
ALL_TOOLS = "vitis_hls/vitis-run/vivado_hls"
MODES = ("auto", "off", "require")
DEFAULT_TIMEOUT_S = 6 * 3600.0
LOG_TAIL_LINES = 20


def _backend_key(backend: str) -> str:
    key = backend.strip().lower()
    if key not in BACKEND_TOOLS:
        raise ConfigError(
            f"unknown HLS backend {backend!r}",
            f"use one of: {', '.join(BACKEND_TOOLS)}",
        )
    return key


def detect_vendor_tool(backend: str) -> Path | None:
    """The vendor HLS executable for ``backend`` found on PATH, or None.

    Vitis: ``vitis-run`` (what hls4ml 1.3 calls), else ``vitis_hls``. Vivado: ``vivado_hls``.
    """
    for name in BACKEND_TOOLS[_backend_key(backend)]:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def _check_steps(steps: Iterable[str]) -> list[str]:
    if isinstance(steps, str):
        steps = [steps]
    # "reset" is accepted but redundant: it is always on.
    steps = [s for s in dict.fromkeys(steps) if s != "reset"]
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps:
        raise ConfigError(
            f"unknown or no vendor steps {unknown or steps}",
            f"choose from: {', '.join(STEPS)}",
        )
    # reset is always on, so later steps need this run's synthesis.
    needs_synth = [s for s in steps if s in ("cosim", "export", "vsynth", "fifo_opt", "validation")]
    if needs_synth and "synth" not in steps:
        raise ConfigError(f"vendor steps {needs_synth} need 'synth' in the same run", "add 'synth' to the steps")
    if "validation" in steps and not {"csim", "cosim"} <= set(steps):
        raise ConfigError("vendor step 'validation' compares csim with cosim", "add 'csim' and 'cosim' to the steps")
    return steps


def build_options(steps: Iterable[str]) -> dict[str, int]:
    """hls4ml's build option flags for ``steps`` (reset always 1)."""
    chosen = set(_check_steps(steps))
    return {opt: int(opt == "reset" or opt in chosen) for opt in BUILD_OPTIONS}


def write_build_opt_tcl(project_dir: str | Path, steps: Iterable[str]) -> Path:
    """Write ``build_opt.tcl`` as ``VitisBackend.build`` does (Vitis projects read it)."""
    opts = build_options(steps)
    body = "array set opt {\n" + "".join(f"    {k:<10} {v}\n" for k, v in opts.items()) + "}\n"
    path = Path(project_dir) / "build_opt.tcl"
    path.write_text(body)
    return path


def vendor_commands(backend: str, tool: str | Path, project_dir: str | Path, steps: Iterable[str]) -> list[list[str]]:
    """The command lines (run in ``project_dir``) that build the project with ``tool``.

    ``tool`` is a name or a path; its file name picks the command form. Vitis commands
    take their options from ``build_opt.tcl`` (see :func:`write_build_opt_tcl`).
    """
    key = _backend_key(backend)
    name = Path(tool).name
    if name not in BACKEND_TOOLS[key]:
        raise ConfigError(
            f"{name} cannot build a {key} hls4ml project",
            f"use {' or '.join(BACKEND_TOOLS[key])} for the {key} backend",
        )
    if not (Path(project_dir) / "build_prj.tcl").is_file():
        raise ConfigError(
            f"no build_prj.tcl in {project_dir}",
            "point at a folder written by hls4ml (write the project before running the vendor flow)",
        )
    opts = build_options(steps)
    if name == "vivado_hls":
        return [[str(tool), "-f", "build_prj.tcl", " ".join(f"{k}={v}" for k, v in opts.items())]]
    if name == "vitis-run":
        return [[str(tool), "--tcl", "build_prj.tcl", "--mode", "hls"]]
    return [[str(tool), "-f", "build_prj.tcl"]]


def is_stand_in(tool: str | Path) -> bool:
    """True when the run is a stand-in, never a vendor run (see module docstring)."""
    if os.environ.get(STAND_IN_ENV, "").strip() == "1":
        return True
    try:
        with open(Path(tool).resolve(), "rb") as handle:
            return STAND_IN_MARKER in handle.read(1 << 20)
    except OSError:
        return False


def _log_tail(log_path: Path, n: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 65536))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    lines = [line.rstrip()[:300] for line in text.splitlines() if line.strip()]
    return lines[-n:]


def _tool_error(problem: str, fix: str, log_path: Path) -> ToolError:
    tail = _log_tail(log_path)
    if tail:
        problem += f"; last {len(tail)} log lines: " + " | ".join(tail)
    err = ToolError(problem, fix)
    err.log_tail = tail  # type: ignore[attr-defined]
    return err


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop the tool and everything it started (vivado_hls forks loaders and simulators)."""
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _run_logged(cmd: list[str], cwd: Path, log_path: Path, deadline: float, timeout_s: float) -> None:
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd)}  (in {cwd})\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        except OSError as exc:
            raise ToolError(
                f"cannot start {cmd[0]}: {exc.strerror or exc}",
                "check the vendor tool is installed and executable (source its settings64.sh)",
            ) from exc
        try:
            code = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise _tool_error(
                f"{Path(cmd[0]).name} timed out after {timeout_s:g} s and was killed (log: {log_path})",
                "raise the vendor timeout, or lower the design size / reuse factor",
                log_path,
            ) from None
        except BaseException:
            _kill_group(proc)
            raise
    if code != 0:
        raise _tool_error(
            f"{Path(cmd[0]).name} exited with code {code} (log: {log_path})",
            "read the log; fix the HLS error it names and rerun",
            log_path,
        )


def _fresh_files(files: Iterable[Path], newer_than: float) -> list[Path]:
    return sorted(f for f in files if f.is_file() and f.stat().st_mtime >= newer_than)


def _copy_verilog(project_dir: Path, dest: Path, newer_than: float) -> list[str]:
    """Copy the generated Verilog (``syn/verilog``, else ``impl/verilog``) into ``dest``."""
    for pattern in ("*_prj/solution*/syn/verilog/*.v", "*_prj/solution*/impl/verilog/*.v"):
        files = _fresh_files(project_dir.glob(pattern), newer_than)
        if files:
            dest.mkdir(parents=True, exist_ok=True)
            copied = []
            for file in files:
                target = dest / file.name
                shutil.copyfile(file, target)
                copied.append(str(target))
            return copied
    return []


def run_vendor_flow(
    project_dir: str | Path,
    backend: str,
    mode: str = "auto",
    steps: Iterable[str] = DEFAULT_STEPS,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    log_path: str | Path | None = None,
    verilog_dest: str | Path | None = None,
) -> dict:
    """Run the vendor HLS flow on an hls4ml project and collect its reports.

    ``mode``: ``off`` never runs; ``auto`` runs when the backend's tool is on PATH and
    skips otherwise; ``require`` raises :class:`ToolError` when it is missing.

    Returns ``{"status": "skipped", "reason": str}`` or ``{"status": "ran", "tool",
    "tool_path", "stand_in", "steps", "commands", "seconds", "log", "reports"
    (see ``collect_vendor_reports``), "verilog" (copied files), "csim_log"}``.
    Raises :class:`ToolError` on a non-zero exit or a timeout (with the log's last lines).
    """
    if mode not in MODES:
        raise ConfigError(f"unknown --vendor mode {mode!r}", f"use one of: {', '.join(MODES)}")
    key = _backend_key(backend)
    steps = _check_steps(steps)
    if timeout_s is None or timeout_s <= 0:
        raise ConfigError(f"vendor timeout must be positive, got {timeout_s}", "pass a timeout in seconds > 0")
    if mode == "off":
        return {"status": "skipped", "reason": "--vendor off"}

    tool = detect_vendor_tool(key)
    if tool is None:
        wanted = "/".join(BACKEND_TOOLS[key])
        if mode == "require":
            raise ToolError(
                f"--vendor require but no {wanted} on PATH (needed by the {key} backend)",
                f"install {'Vivado HLS 2020.1' if key == 'vivado' else 'Vitis HLS'} and source its settings64.sh "
                f"so {wanted} is on PATH, or use --vendor auto/off",
            )
        others = [
            n for tools in BACKEND_TOOLS.values() for n in tools if n not in BACKEND_TOOLS[key] and shutil.which(n)
        ]
        reason = f"no {ALL_TOOLS} on PATH"
        if others:
            reason = f"no {wanted} on PATH for the {key} backend (found {', '.join(others)}, which it does not use)"
        return {"status": "skipped", "reason": reason}

    project_dir = Path(project_dir).resolve()
    commands = vendor_commands(key, tool, project_dir, steps)
    if "vsynth" in steps and shutil.which("vivado") is None:
        raise ToolError(
            "vendor step 'vsynth' runs 'vivado -mode batch' but vivado is not on PATH",
            "source Vivado's settings64.sh, or drop 'vsynth' from the steps",
        )
    if key == "vitis":
        write_build_opt_tcl(project_dir, steps)

    log_path = Path(log_path) if log_path is not None else project_dir / "micae_vendor.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_bytes(b"")
    stand_in = is_stand_in(tool)
    # Seconds of slack for file systems with coarse modification times.
    started_wall = time.time() - 2.0
    started = time.monotonic()
    deadline = started + timeout_s
    for cmd in commands:
        _run_logged(cmd, project_dir, log_path, deadline, timeout_s)
    seconds = time.monotonic() - started

    reports = collect_vendor_reports(project_dir, newer_than=started_wall)
    if "synth" in steps and reports["csynth"] is None:
        raise _tool_error(
            f"{tool.name} exited 0 but wrote no csynth report under {project_dir}/*_prj/solution1/syn/report",
            "read the log; synthesis probably failed without an exit code",
            log_path,
        )
    verilog = _copy_verilog(project_dir, Path(verilog_dest), started_wall) if verilog_dest is not None else []
    csim_log = reports["files"].get("csim_log")
    return {
        "status": "ran",
        "tool": tool.name,
        "tool_path": str(tool),
        "stand_in": stand_in,
        "steps": steps,
        "commands": commands,
        "seconds": seconds,
        "log": str(log_path),
        "reports": reports,
        "verilog": verilog,
        "csim_log": csim_log,
    }
