"""micae evaluate: a trained run and the ECON-T chip's algorithms on any data file, per e-link count."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import add_debug, quiet_tensorflow, run_cli

SUMMARY = "score a trained run and the chip's algorithms (BC, STC, Threshold-Sum, ...) on any data, per e-link count"
DESCRIPTION = (
    "Score a training run's autoencoder (QAT and float twin, at the run's e-link count) and the ECON-T chip's "
    "algorithms as the chip sends them (Best Choice, STC4/STC16, Threshold-Sum, at each e-link count), plus the "
    "literature's forms, on the wafers of a data file or on generated ones. Writes DIR/evaluation.json (typed, "
    "versioned), evaluation.md, evaluation.html, plots/ and per_wafer.npz; DIR defaults to "
    "<run>/evaluation/<data stem>/. Prints DIR."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        help="the training run folder (micae train's output, e.g. models/econt); without it, the chip's "
        "algorithms only (then --out is needed)",
    )
    p.add_argument("--data", type=Path, help="the data file (an ECON-T CSV of CALQ_0..47, or an .npz of (N, 48) CALQ)")
    p.add_argument(
        "--dataset",
        choices=("econt-csv", "npz", "hgcal-synth"),
        help="the data's format (default: from the file name; hgcal-synth without --data)",
    )
    p.add_argument(
        "--elinks",
        help="comma-separated e-link counts to evaluate, each 1..13 (default 2,3,4,5 and the run's own); "
        "the autoencoder is scored at the run's L only",
    )
    p.add_argument(
        "--rows",
        help="consecutive rows START:STOP, as row numbers (0:3200, -800:) or fractions (0.8: = the last 20%%); "
        "default all",
    )
    g = p.add_argument_group("hgcal-synth (generated wafers; without --n/--seed: the run's own test split)")
    g.add_argument("--preset", help="generator preset (default: the run's)")
    g.add_argument("--n", type=int, help="generate this many fresh wafers (default 10000 when --seed is given)")
    g.add_argument("--seed", type=int, help="generator seed of the fresh wafers (default: the run's seed + 1)")
    p.add_argument("--out", type=Path, help="output folder (default <run>/evaluation/<data stem>/)")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    add_debug(p)


def parse_elinks(text: str | None) -> list[int] | None:
    """``"2,3,5"`` -> [2, 3, 5]; ConfigError for anything that is not a list of integers."""
    from micae.errors import ConfigError

    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--elinks {text!r} is not a list of e-link counts", "write e.g. --elinks 2,3,4,5") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="micae evaluate", description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(a: argparse.Namespace) -> int:
    quiet_tensorflow()
    from micae.evaluate.data import DataRequest
    from micae.evaluate.run import run_evaluate

    request = DataRequest(kind=a.dataset, path=a.data, rows=a.rows, preset=a.preset, n=a.n, seed=a.seed)
    out, _ = run_evaluate(a.model, request, elinks=parse_elinks(a.elinks), out=a.out, force=a.force)
    print(out)
    return 0


def entry() -> int:
    return run_cli(main)
