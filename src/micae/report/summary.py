"""The few lines ``micae synth`` prints when it is done: levels, headline hardware figures with their sources."""

from __future__ import annotations

from pathlib import Path

from micae.report.facts import as_report
from micae.results.levels import LevelResult
from micae.results.report import SynthReport


def _level_lines(verification: dict[str, LevelResult]) -> list[str]:
    lines = [f"{'level':<16}{'vectors':>9}{'mismatches':>12}{'max LSB err':>13}"]
    for level, v in verification.items():
        if v.compared:
            err = "-" if v.max_abs_lsb_error is None else v.max_abs_lsb_error
            lines.append(f"{level:<16}{v.vectors:>9}{v.mismatches:>12}{err:>13}")
        else:
            lines.append(f"{level:<16}{'skipped':>9}  {v.reason or v.status or ''}")
    return lines


def _timing_lines(report: SynthReport) -> list[str]:
    lines = []
    for t in report.timing:
        fmax = f"{t.fmax_mhz:.1f} MHz" if t.fmax_mhz else "Fmax ?"
        verdict = {True: "met", False: "NOT MET", None: "?"}[t.met]
        lines.append(f"timing [{t.kind}, {t.tool.name}, {t.target}]: {fmax}, {verdict} at {t.clock_ns} ns")
    if report.timing_met is False:
        lines.append("WARNING: timing not met at the requested clock (see report.html)")
    return lines


def console_summary(report: SynthReport | dict) -> str:
    report = as_report(report)
    lines = _level_lines(report.verification)
    for r in report.routes:
        res, lat = r.resources, r.latency
        lines.append(
            f"{r.route} [{r.kind}]: LUT {res and res.LUT} FF {res and res.FF} DSP {res and res.DSP} "
            f"BRAM {res and res.BRAM}, latency {lat and lat.cycles_max} cycles"
        )
    lines += _timing_lines(report)
    lat = report.latency
    if lat is not None and lat.ns is not None:
        note = f"; {lat.ns_note}" if lat.ns_note else ""
        verified = "verified" if lat.verified else "not verified"
        lines.append(f"latency {lat.cycles_max} cycles = {lat.ns:g} ns ({lat.ns_source}{note}; {verified})")
    if report.options is not None and report.options.sources:
        from micae.report.settings import devices_note, settings_line

        lines.append(settings_line(report.options))
        lines.append(devices_note(report.options))
    lines.append(f"report: {report.paths.firmware}/report.json")
    html = Path(report.paths.firmware) / "report.html"
    if html.exists():
        lines.append(str(html))
    return "\n".join(lines)
