"""The effective synthesize settings of a report and where each came from (``report.json`` ``options``)."""

from __future__ import annotations

from micae.report.blocks import Table, para
from micae.results.report import ReportOptions, SynthReport

SHOWN_ALWAYS = ("part", "clock_ns", "pnr")
"""Settings listed even at their defaults: the devices and the clock every hardware figure depends on."""


def settings_rows(options: ReportOptions) -> list[tuple[str, object, str]]:
    """(setting, value, source) for every setting not at its default, and for part, clock and place-and-route."""
    rows = []
    for key, value in options.model_dump(mode="json").items():
        if key == "sources":
            continue
        source = options.sources.get(key, "default")
        if source != "default" or key in SHOWN_ALWAYS:
            rows.append((key, value, source))
    return rows


def devices_note(options: ReportOptions) -> str:
    """Which device each figure describes (Xilinx part, Lattice place-and-route)."""
    return options.devices_note()


def settings_line(options: ReportOptions) -> str:
    return "settings: " + ", ".join(f"{k} {v} ({s})" for k, v, s in settings_rows(options))


def settings_blocks(report: SynthReport) -> list:
    options = report.options
    if options is None:
        return [para("This report.json was written by an older micae that did not record its settings.")]
    rows = [[k, str(v), s] for k, v, s in settings_rows(options)]
    blocks: list = [
        para(
            "The settings of this run that are not at their defaults, and the devices and clock every hardware figure "
            "depends on. Source: cli (a micae synth option), run config (the synth: block of the training run's "
            "config.yaml), sweep (the sweep file's synth:), given (a Python caller), default. report.json options "
            "lists every setting."
        ),
        Table(["setting", "value", "source"], rows),
    ]
    note = devices_note(options)
    blocks.append(para(note[0].upper() + note[1:] + "."))
    return blocks
