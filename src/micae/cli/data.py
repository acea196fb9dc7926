"""``micae data``: look at data sets. ``micae data compare`` puts generated wafers beside a real ECON-T file."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import run_cli

SUMMARY = "data sets: compare hgcal-synth presets with a real ECON-T file (KS statistics, compare.html)"
DESCRIPTION = (
    "micae data compare --synth PRESET --data FILE: generate wafers with an hgcal-synth preset and compare "
    "them with a real ECON-T CSV: lit TCs per wafer, the non-zero CALQ spectrum, the per-TC occupancy over "
    "the wafer and the wafer sum, side by side in DIR/compare.html, with the two-sample Kolmogorov-Smirnov "
    "statistics and the provenance in DIR/compare.json."
)


def _options():
    from micae.config.cli import options_of
    from micae.config.evaluate import CompareOptions

    return options_of(CompareOptions)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``compare`` with the options of :class:`micae.config.evaluate.CompareOptions`."""
    from micae.cli.common import add_debug
    from micae.config.cli import add_options

    sub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    c = sub.add_parser("compare", help="generated wafers beside a real ECON-T file", description=DESCRIPTION)
    add_options(c, _options())
    add_debug(c)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="micae data", description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from micae.errors import ConfigError

    if args.data_command != "compare":  # argparse allows only the listed subcommands
        raise ConfigError(f"unknown data subcommand {args.data_command!r}", "use: micae data compare")
    from micae.config.cli import given_values
    from micae.config.evaluate import CompareOptions
    from micae.data.compare import compare
    from micae.report.compare_page import write_compare

    o = CompareOptions.parse(given_values(args, _options()), fix="see micae data compare --help")
    out = Path(o.out) if o.out else Path("compare") / f"{o.synth}_vs_{Path(o.data).stem}"
    if (out / "compare.json").exists() and not o.force:
        raise ConfigError(f"{out}/compare.json already exists", "pass --force to replace it, or choose --out")
    cmp = compare(o.synth, o.data, n=o.n, seed=o.seed)
    html, js = write_compare(cmp, out)
    ks = cmp.record["ks"]
    print("KS (two-sample): " + ", ".join(f"{k} {v:.3f}" for k, v in ks.items()))
    met = cmp.record["goal"]["met"]
    print("goal KS <= 0.10: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in met.items()))
    print(js)
    print(html)
    return 0


def entry() -> int:
    return run_cli(main)
