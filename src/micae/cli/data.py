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


def add_arguments(p: argparse.ArgumentParser) -> None:
    from micae.data.hgcal_presets import PRESETS

    sub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    c = sub.add_parser("compare", help="generated wafers beside a real ECON-T file", description=DESCRIPTION)
    c.add_argument("--synth", required=True, choices=PRESETS, help="hgcal-synth preset to generate")
    c.add_argument("--data", required=True, help="real ECON-T CSV (with a CALQ_0..47 header or without)")
    c.add_argument("--out", help="output folder (default: compare/<preset>_vs_<file stem>)")
    c.add_argument("--n", type=int, default=50_000, help="generated non-empty wafers (default 50000)")
    c.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    c.add_argument("--force", action="store_true", help="replace an existing output folder's compare files")
    c.add_argument("--debug", action="store_true", help="show tracebacks")


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
    from micae.data.compare import compare
    from micae.report.compare_page import write_compare

    out = Path(args.out) if args.out else Path("compare") / f"{args.synth}_vs_{Path(args.data).stem}"
    if (out / "compare.json").exists() and not args.force:
        raise ConfigError(f"{out}/compare.json already exists", "pass --force to replace it, or choose --out")
    cmp = compare(args.synth, args.data, n=args.n, seed=args.seed)
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
