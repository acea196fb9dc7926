"""micae findings: run the MICAE findings study and write findings/<name>/findings.html."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import add_debug, quiet_tensorflow, run_cli

SUMMARY = "test the seed projects' MICAE findings in a small seeded study; writes findings.html"
DESCRIPTION = (
    "Run the findings study of a study file (default findings/micae_findings.yaml) on digits and HGCAL data: "
    "solitary encoders concatenated, a frozen pre-trained shared encoder and joint training side by side "
    "(findings 1-4), a latent-size sweep on Dask (finding 5), training and validation curves (finding 6). "
    "Each claim gets a verdict computed from the measured numbers. Writes <out>/<name>/findings.html, "
    "findings.json and plots; an existing study is replaced only with --force."
)


def _options():
    from micae.config.cli import options_of
    from micae.config.commands import FindingsCommand

    return options_of(FindingsCommand)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of :class:`micae.config.commands.FindingsCommand` (flags and help from its fields)."""
    from micae.config.cli import add_options

    add_options(p, _options())
    add_debug(p)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="micae findings", description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from micae.config.cli import parse_given
    from micae.config.commands import FindingsCommand

    a = parse_given(FindingsCommand, args, _options(), "findings")
    quiet_tensorflow()
    import logging
    from dataclasses import replace

    logging.getLogger("distributed").setLevel(logging.WARNING)  # the sweep's progress lines say what matters

    from micae.findings import load_study, rejudge, run_findings
    from micae.findings.config import check_name

    study = load_study(a.config)
    if a.name:
        study = replace(study, name=check_name(a.name))
    out = Path(a.out) if a.out else Path(a.config).parent
    if a.page_only:
        final, result = rejudge(study, out)
    else:
        final, result = run_findings(study, out, force=a.force, resume=a.resume, workers=a.workers)
    width = max(len(f["status"]) for f in result["findings"])
    for f in result["findings"]:
        print(f"finding {f['id']}: {f['status']:<{width}}  {f['claim']}  ({f['summary']})")
    print(final / "findings.html")
    return 0


def entry() -> int:
    return run_cli(main)
