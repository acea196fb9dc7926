"""The few lines ``micae synth`` prints when it is done: levels, headline hardware figures with their sources."""

from __future__ import annotations

from pathlib import Path


def _level_lines(verification: dict) -> list[str]:
    lines = [f"{'level':<16}{'vectors':>9}{'mismatches':>12}{'max LSB err':>13}"]
    for level, v in verification.items():
        if "vectors" in v:
            lines.append(f"{level:<16}{v['vectors']:>9}{v['mismatches']:>12}{v.get('max_abs_lsb_error', '-'):>13}")
        else:
            lines.append(f"{level:<16}{'skipped':>9}  {v.get('reason') or v.get('status', '')}")
    return lines


def _timing_lines(report: dict) -> list[str]:
    lines = []
    for t in report.get("timing", []):
        fmax = f"{t['fmax_mhz']:.1f} MHz" if t.get("fmax_mhz") else "Fmax ?"
        verdict = {True: "met", False: "NOT MET", None: "?"}[t.get("met")]
        lines.append(
            f"timing [{t['kind']}, {t['tool'].get('name')}, {t['target']}]: {fmax}, {verdict} at {t['clock_ns']} ns"
        )
    if report.get("timing_met") is False:
        lines.append("WARNING: timing not met at the requested clock (see report.html)")
    return lines


def console_summary(report: dict) -> str:
    lines = _level_lines(report["verification"])
    for r in report.get("routes", []):
        res, lat = r.get("resources") or {}, r.get("latency") or {}
        lines.append(
            f"{r['route']} [{r['kind']}]: LUT {res.get('LUT')} FF {res.get('FF')} DSP {res.get('DSP')} "
            f"BRAM {res.get('BRAM')}, latency {lat.get('cycles_max')} cycles"
        )
    lines += _timing_lines(report)
    lat = report.get("latency")
    if lat and lat.get("ns") is not None:
        note = f"; {lat['ns_note']}" if lat.get("ns_note") else ""
        verified = "verified" if lat.get("verified") else "not verified"
        lines.append(
            f"latency {lat.get('cycles_max')} cycles = {lat['ns']:g} ns ({lat.get('ns_source')}{note}; {verified})"
        )
    options = report.get("options") or {}
    if options.get("sources"):
        from micae.report.settings import devices_note, settings_line

        lines.append(settings_line(options))
        note = devices_note(options)
        if note:
            lines.append(note)
    lines.append(f"report: {report['paths']['firmware']}/report.json")
    html = Path(report["paths"]["firmware"]) / "report.html"
    if html.exists():
        lines.append(str(html))
    return "\n".join(lines)
