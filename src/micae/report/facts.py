"""The few facts the report reads from report.json that older files may lack, each looked up in one place.

The flow decides the overall verdict (``report["ok"]``) and the headline route
(``report["headline_route"]``) once; the report only reads them. For report.json
files written before those keys existed, :func:`report_ok` and
:func:`headline_route` are the single fallbacks.
"""

from __future__ import annotations

KIND_WORDS = {
    "place-and-route": "place-and-route",
    "logic-sta": "logic-only STA (a lower bound on delay: no routing)",
    "vendor": "vendor timing analysis",
    "estimate": "estimate (no timing tool)",
}
NOT_CHECKED = "requested clock, not checked by a timing tool"


def report_ok(report: dict) -> bool:
    """The overall verdict: ``report["ok"]`` as the flow wrote it.

    Only for files older than that key: every verification level that ran
    (has vectors) has 0 mismatches, and at least one level ran.
    """
    if "ok" in report:
        return bool(report["ok"])
    ran = [v for v in (report.get("verification") or {}).values() if isinstance(v, dict) and "vectors" in v]
    return bool(ran) and all(not v.get("mismatches") for v in ran)


def levels_with_vectors(report: dict) -> tuple[list[str], list[str]]:
    """(levels that ran, levels with mismatches): to *name* them next to the verdict, not to decide it."""
    levels = report.get("verification") or {}
    ran = [k for k, v in levels.items() if isinstance(v, dict) and "vectors" in v]
    return ran, [k for k in ran if levels[k].get("mismatches")]


def headline_route(report: dict) -> dict | None:
    """The route whose resources and latency are the headline.

    ``report["headline_route"]`` names it; older files: the first vendor route,
    else the first route that is not a stand-in, else the first route.
    """
    routes = [r for r in (report.get("routes") or []) if isinstance(r, dict)]
    if "headline_route" in report:  # the flow decided; None means no route has figures
        return next((r for r in routes if r.get("route") == report["headline_route"]), None)
    for pick in (
        lambda r: r.get("kind") == "vendor" and not r.get("stand_in"),
        lambda r: not (r.get("stand_in") or str(r.get("kind", "")).startswith("stand-in")),
        lambda r: True,
    ):
        found = next((r for r in routes if pick(r)), None)
        if found:
            return found
    return None


def source_text(source) -> str:
    """``ns_source`` as words: a string as given, or a dict naming a timing analysis."""
    if isinstance(source, dict):
        tool = source.get("tool") or {}
        tool = tool.get("name", "") if isinstance(tool, dict) else str(tool)
        kind = KIND_WORDS.get(source.get("kind", ""), source.get("kind", ""))
        return ", ".join(x for x in (source.get("target", ""), tool, kind) if x) or "timing analysis"
    return KIND_WORDS.get(str(source), str(source))


def latency_source(latency: dict | None) -> str:
    """Where a latency in ns comes from. The word "verified" only appears when ``verified`` is true."""
    lat = latency or {}
    if not lat.get("ns_source"):
        return NOT_CHECKED
    src = source_text(lat["ns_source"])
    note = f" ({lat['ns_note']})" if lat.get("ns_note") else ""
    if lat.get("verified") is True:
        return f"{src}{note}; verified: a place-and-route or vendor analysis met the clock"
    if "not checked" in src or "not place-and-route" in src:  # the source already says it is no sign-off
        return src + note
    return f"{src}{note}; no place-and-route or vendor analysis has met the clock"


def timing_analyses(report: dict) -> list[dict]:
    return [a for a in (report.get("timing") or []) if isinstance(a, dict)]


def kind_words(kind: str | None) -> str:
    return KIND_WORDS.get(kind or "", kind or "?")


def tool_text(analysis: dict) -> str:
    tool = analysis.get("tool") or {}
    if not isinstance(tool, dict):
        return str(tool)
    return " ".join(str(x) for x in (tool.get("name"), tool.get("version")) if x) or "?"


def timing_failures(report: dict) -> list[str]:
    """One sentence per analysis with ``met: false``, for the banner at the top of both reports."""
    out = []
    for a in timing_analyses(report):
        if a.get("met") is False:
            fmax = a.get("fmax_mhz")
            fmax_text = f"Fmax {fmax:.4g} MHz" if isinstance(fmax, (int, float)) else "Fmax unknown"
            slack = a.get("slack_ns")
            slack_text = f", slack {slack:.3g} ns" if isinstance(slack, (int, float)) else ""
            out.append(
                f"timing not met at {a.get('clock_ns', '?')} ns: {fmax_text}{slack_text} after "
                f"{kind_words(a.get('kind'))} on {a.get('target', '?')} ({tool_text(a)})"
            )
    return out
