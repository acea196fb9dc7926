"""``micae``: one command, one subcommand per job (train, synth, evaluate, report, sweep, findings, data)."""

from __future__ import annotations

import argparse
from types import ModuleType

from micae.cli.common import DEBUG_HELP, run_cli, version_text


def _commands() -> dict[str, ModuleType]:
    from micae.cli import data, evaluate, findings, report, sweep, synth, train

    return {
        "train": train,
        "synth": synth,
        "evaluate": evaluate,
        "report": report,
        "sweep": sweep,
        "findings": findings,
        "data": data,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="micae",
        description="Quantization-aware encoders (QKeras) to bit-exact, verified FPGA firmware. "
        "Run 'micae COMMAND --help' for the options of each command.",
    )
    p.add_argument("--version", action="version", version=version_text())
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in _commands().items():
        sp = sub.add_parser(name, help=module.SUMMARY, description=module.DESCRIPTION)
        module.add_arguments(sp)
        sp.set_defaults(handler=module.run)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


def entry() -> int:
    return run_cli(main)


if __name__ == "__main__":
    raise SystemExit(entry())
