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

Provenance: a run counts as a vendor run only when the tool identified itself in its
log with a Xilinx banner (``****** Vivado(TM) HLS ... v2020.1``, ``****** Vitis HLS ...``);
anything else on PATH under a vendor tool's name is reported as an unidentified tool,
and its figures never become the report's headline.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from micae.errors import ConfigError, ToolError
from micae.hls.reports import collect_vendor_reports
from micae.results.vendor import VendorRun
from micae.tools import run_tool

VENDOR_BANNER = re.compile(r"^\*{4,}\s*((?:Vivado|Vitis|vitis)[^\n]*?\bv\d{4}\.\d[^\n]*?)\s*$", re.MULTILINE)

# hls4ml's build options, in the order VivadoBackend.build() writes them.
BUILD_OPTIONS = ("reset", "csim", "synth", "cosim", "validation", "export", "vsynth", "fifo_opt")
STEPS = ("csim", "synth", "cosim", "validation", "export", "vsynth", "fifo_opt")
DEFAULT_STEPS = ("csim", "synth", "cosim", "export")

# Tools per backend, preferred first (hls4ml 1.3's Vitis backend calls vitis-run).
BACKEND_TOOLS = {"vivado": ("vivado_hls",), "vitis": ("vitis-run", "vitis_hls")}
ALL_TOOLS = "vitis_hls/vitis-run/vivado_hls"
from micae.config.synth import VENDOR_MODES as MODES  # noqa: E402 (one list: the synth options)

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


def vendor_banner(log_text: str) -> str | None:
    """The tool's own identification line (name and version), or None when the log has none."""
    found = VENDOR_BANNER.search(log_text)
    return found.group(1).strip() if found else None


def _run_commands(commands: list[list[str]], cwd: Path, log_path: Path, timeout_s: float) -> str:
    """Run the commands one after another within one time budget; the log is written live."""
    deadline, out = time.monotonic() + timeout_s, []
    for cmd in commands:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ToolError(
                f"the vendor flow used up its {timeout_s:g} s before {Path(cmd[0]).name}",
                "raise the vendor timeout, or lower the design size / reuse factor",
            )
        try:
            out.append(run_tool(cmd, cwd=cwd, timeout_s=left, log_path=log_path, append_log=True))
        except ToolError as exc:
            raise ToolError(
                exc.problem + f" (log: {log_path})",
                "read the log; fix the HLS error it names and rerun, or raise the vendor timeout",
            ) from exc
    return "".join(out)


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
) -> VendorRun:
    """Run the vendor HLS flow on an hls4ml project and collect its reports.

    ``mode``: ``off`` never runs; ``auto`` runs when the backend's tool is on PATH and
    skips otherwise; ``require`` raises :class:`ToolError` when it is missing.

    Returns a :class:`~micae.results.vendor.VendorRun`: ``status`` skipped with its ``reason``, or ran with
    ``tool``, ``tool_path``, ``banner`` (the tool's identification line, None if it printed none),
    ``identified`` (a Xilinx banner was found), ``steps``, ``commands``, ``seconds``, ``log``, ``reports`` (see
    ``collect_vendor_reports``), ``verilog`` (copied files) and ``csim_log``.
    Raises :class:`ToolError` on a non-zero exit or a timeout (with the log's last lines).
    """
    if mode not in MODES:
        raise ConfigError(f"unknown --vendor mode {mode!r}", f"use one of: {', '.join(MODES)}")
    key = _backend_key(backend)
    steps = _check_steps(steps)
    if timeout_s is None or timeout_s <= 0:
        raise ConfigError(f"vendor timeout must be positive, got {timeout_s}", "pass a timeout in seconds > 0")
    if mode == "off":
        return VendorRun(status="skipped", reason="--vendor off")
    tool = detect_vendor_tool(key)
    if tool is None:
        return _missing_tool(key, mode)
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
    started_wall = time.time() - 2.0  # slack for file systems with coarse modification times
    started = time.monotonic()
    output = _run_commands(commands, project_dir, log_path, timeout_s)
    banner = vendor_banner(output)
    seconds = time.monotonic() - started
    reports, verilog = _collect(project_dir, steps, tool, log_path, verilog_dest, started_wall)
    return VendorRun(
        status="ran",
        tool=tool.name,
        tool_path=str(tool),
        banner=banner,
        steps=steps,
        commands=commands,
        seconds=seconds,
        log=str(log_path),
        identified=banner is not None,
        reports=reports,
        verilog=verilog,
        csim_log=reports.files.get("csim_log"),
    )


def _missing_tool(key: str, mode: str) -> VendorRun:
    wanted = "/".join(BACKEND_TOOLS[key])
    if mode == "require":
        raise ToolError(
            f"--vendor require but no {wanted} on PATH (needed by the {key} backend)",
            f"install {'Vivado HLS 2020.1' if key == 'vivado' else 'Vitis HLS'} and source its settings64.sh "
            f"so {wanted} is on PATH, or use --vendor auto/off",
        )
    others = [n for tools in BACKEND_TOOLS.values() for n in tools if n not in BACKEND_TOOLS[key] and shutil.which(n)]
    reason = f"no {ALL_TOOLS} on PATH"
    if others:
        reason = f"no {wanted} on PATH for the {key} backend (found {', '.join(others)}, which it does not use)"
    return VendorRun(status="skipped", reason=reason)


def _collect(project_dir: Path, steps: list[str], tool: Path, log_path: Path, verilog_dest, started_wall) -> tuple:
    """This run's reports and Verilog (files older than the run are ignored)."""
    reports = collect_vendor_reports(project_dir, newer_than=started_wall)
    if "synth" in steps and reports.csynth is None:
        tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-LOG_TAIL_LINES:])
        raise ToolError(
            f"{tool.name} exited 0 but wrote no csynth report under {project_dir}/*_prj/solution1/syn/report; "
            f"last log lines: {tail}",
            "read the log; synthesis probably failed without an exit code",
        )
    verilog = _copy_verilog(project_dir, Path(verilog_dest), started_wall) if verilog_dest is not None else []
    return reports, verilog
