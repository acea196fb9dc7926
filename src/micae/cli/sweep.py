"""``micae sweep`` (scripts/sweep.py): train + synthesize a grid or a search of run configs, then tabulate them."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import add_debug, quiet_tensorflow, run_cli

SUMMARY = "train + synthesize a grid or a search of run configs, then tabulate and plot them"
DESCRIPTION = (
    "Run a sweep file (e.g. sweeps/latent_size.yaml): every grid point is trained (micae train) and "
    "synthesized (micae synth, with the file's synth: settings) in its own folder <out>/<sweep>/points/<point>/, "
    "as Dask tasks (a local cluster, or --scheduler). Every point's run config and the synth settings are checked "
    "before the first point trains. Finished points are skipped, so an interrupted sweep continues where it stopped. "
    "A file with search: instead of grid: runs an Optuna study. Writes into <out>/<sweep>/: results.csv (one row "
    "per point), pareto_front.csv, pareto.png, sweep.json (the resolved points), points/<point>/ (config.yaml, "
    "log.txt, models/, hls/, firmware/, done.json); a search also study.journal, study.png and summary.md. "
    "See sweeps/README.md."
)


def _options():
    from micae.config.cli import options_of
    from micae.config.commands import SweepCommand

    return options_of(SweepCommand)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of :class:`micae.config.commands.SweepCommand` (flags and help from its fields)."""
    from micae.config.cli import add_options

    add_options(p, _options())
    add_debug(p)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="micae sweep", description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from micae.config.cli import parse_given
    from micae.config.commands import SweepCommand

    a = parse_given(SweepCommand, args, _options(), "sweep")
    quiet_tensorflow()
    from micae.sweep.grid import load_sweep
    from micae.sweep.results import format_table
    from micae.sweep.runner import plan, run_sweep

    out = Path(a.out) if a.out else Path(a.config).parent
    where = {"scheduler": a.scheduler, "scheduler_file": a.scheduler_file}
    from micae.sweep.search import is_search_file

    if is_search_file(a.config):
        from micae.sweep.cli_study import main_study

        return main_study(a, out, where)
    spec = load_sweep(a.config)
    if a.dry_run:
        for name, state in plan(spec, out, force=a.force):
            print(f"{name:<40}{state}")
        return 0
    say = lambda m: print(m, flush=True)  # noqa: E731
    outcome = run_sweep(spec, out, jobs=a.jobs, force=a.force, resume=a.resume, say=say, **where)
    print(format_table(outcome.rows, spec.grid_keys, spec.labels))
    counts = ", ".join(f"{n} {s}" for s, n in outcome.counts.items())
    print(
        f"{len(outcome.rows)} points ({counts}); results: {outcome.root / 'results.csv'}, "
        f"plot: {outcome.root / 'pareto.png'}"
    )
    return 0


def entry() -> int:
    return run_cli(main)
