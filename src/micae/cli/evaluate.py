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


def _options():
    from micae.config.cli import options_of
    from micae.config.evaluate import EvaluateOptions

    return options_of(EvaluateOptions)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of :class:`micae.config.evaluate.EvaluateOptions` (flags, help and groups from its fields)."""
    from micae.config.cli import add_options

    options = _options()
    groups = {o.group: p.add_argument_group(o.group) for o in options if o.group}
    add_options(p, options, groups=groups)
    add_debug(p)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="micae evaluate", description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(a: argparse.Namespace) -> int:
    from micae.config.cli import given_values
    from micae.config.evaluate import EvaluateOptions

    o = EvaluateOptions.parse(given_values(a, _options()), fix="see micae evaluate --help")
    quiet_tensorflow()
    from micae.evaluate.data import DataRequest
    from micae.evaluate.run import run_evaluate

    data = None if o.data is None else Path(o.data)
    request = DataRequest(kind=o.dataset, path=data, rows=o.rows, preset=o.preset, n=o.n, seed=o.seed)
    out = None if o.out is None else Path(o.out)
    result, _ = run_evaluate(o.model, request, elinks=o.elink_list(), out=out, force=o.force)
    print(result)
    return 0


def entry() -> int:
    return run_cli(main)
