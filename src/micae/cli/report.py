"""``micae report`` (scripts/report.py): rebuild report.html (and its plots) from a run's folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import add_debug, quiet_tensorflow, run_cli
from micae.config.commands import ReportCommand

SUMMARY = "rebuild firmware/<name>/report.html and its plots from the run's folders"
DESCRIPTION = (
    "Rebuild firmware/<name>/report.html and firmware/<name>/plots/ from the firmware folder written "
    "by micae synth and the training run folder written by micae train. Prints the path of report.html."
)


def _options():
    from micae.config.cli import options_of
    from micae.config.commands import ReportCommand

    return options_of(ReportCommand)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of :class:`micae.config.commands.ReportCommand` (flags and help from its fields)."""
    from micae.config.cli import add_options

    add_options(p, _options())
    add_debug(p)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="micae report", description=DESCRIPTION)
    add_arguments(p)
    return p


def resolve_folders(a: ReportCommand) -> tuple[Path, Path | None]:
    """(firmware folder, training run folder or None) from the arguments; ConfigError when one is missing."""
    from micae.errors import ConfigError

    if a.name and (a.run or a.firmware):
        raise ConfigError(
            "--name cannot be combined with --run/--firmware", "give either --name N or --firmware DIR [--run DIR]"
        )
    if not a.name and not a.firmware:
        raise ConfigError("no firmware folder given", "pass --name N (reads firmware/N and models/N) or --firmware DIR")
    fw = Path(a.firmware_root) / a.name if a.name else Path(a.firmware)
    if not fw.is_dir():
        raise ConfigError(
            f"firmware folder {fw} does not exist",
            "run micae synth first, or point --firmware-root/--firmware at the right folder",
        )
    if not (fw / "report.json").is_file():
        raise ConfigError(
            f"firmware folder {fw} has no report.json",
            "re-run micae synth for this model (with --force) to write it",
        )
    if a.no_run:
        return fw, None
    run = Path(a.models_root) / a.name if a.name else (Path(a.run) if a.run else None)
    if run is None:
        return fw, None
    if not run.is_dir():
        raise ConfigError(
            f"training run folder {run} does not exist",
            "point --models-root/--run at the run folder, or pass --no-run for the firmware sections only",
        )
    if not (run / "metrics.json").is_file():
        raise ConfigError(
            f"{run} is not a training run folder (no metrics.json)",
            "give the folder micae train wrote (models/<name>), or pass --no-run",
        )
    return fw, run


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from micae.config.cli import parse_given
    from micae.config.commands import ReportCommand

    a = parse_given(ReportCommand, args, _options(), "report")
    quiet_tensorflow()
    from micae.report.build import write_html_report
    from micae.results.report import load_report

    fw, run = resolve_folders(a)
    report = load_report(fw / "report.json")  # an older micae's file is carried over, a broken one refused
    if run is not None and not a.no_probing:
        _probe_once(run)
    print(write_html_report(fw, run, report))
    return 0


def _probe_once(run: Path) -> None:
    """Compute probing.npz for a run folder trained before micae wrote it; the page says so when it cannot."""
    from micae.errors import MicaeError
    from micae.log import info
    from micae.train.probing import compute_probing

    if (run / "probing.npz").exists():
        return
    info(f"computing latent probing for {run} (once: written to {run / 'probing.npz'})")
    try:
        compute_probing(run)
    except MicaeError as exc:
        info(f"warning: latent probing not computed: {exc}")


def entry() -> int:
    return run_cli(main)
