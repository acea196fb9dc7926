"""The effective synthesize settings of a report and where each came from (``report.json`` ``options``)."""

from __future__ import annotations

from micae.report.blocks import Table, para

SHOWN_ALWAYS = ("part", "clock_ns", "pnr")
"""Settings listed even at their defaults: the devices and the clock every hardware figure depends on."""


def settings_rows(options: dict) -> list[tuple[str, object, str]]:
    """(setting, value, source) for every setting not at its default, and for part, clock and place-and-route."""
    sources = options.get("sources") or {}
    rows = []
    for key, value in options.items():
        if key == "sources":
            continue
        source = sources.get(key, "default")
        if source != "default" or key in SHOWN_ALWAYS:
            rows.append((key, value, source))
    return rows


def devices_note(options: dict) -> str | None:
    """Which device each figure describes (Xilinx part, Lattice place-and-route), or None for an old report."""
    from micae.config.synth import SynthOptions

    try:
        known = {k: v for k, v in options.items() if k in SynthOptions.model_fields}
        return SynthOptions.model_validate(known).devices_note()
    except Exception:  # noqa: BLE001 - a report written by an older micae: say nothing rather than guess
        return None


def settings_line(options: dict) -> str:
    return "settings: " + ", ".join(f"{k} {v} ({s})" for k, v, s in settings_rows(options))


def settings_blocks(report: dict) -> list:
    options = report.get("options") or {}
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
    if note:
        blocks.append(para(note[0].upper() + note[1:] + "."))
    return blocks
