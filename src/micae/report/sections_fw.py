"""View-model sections built from report.json alone: bit budget, verification, resources, timing, seconds, files."""

from __future__ import annotations

from pathlib import Path

from micae.report import facts
from micae.report.blocks import Bar, Bullets, Code, Figure, Heading, Para, Span, Table, note, num, para


def budget_ratios(budget: dict) -> tuple[float, float]:
    """(compression factor in values, bit ratio) as micae.fixed.budget wrote them.

    Older files have no ``bit_ratio`` and their ``compression_factor`` was the bit ratio: both come from the counts.
    """
    if "bit_ratio" in budget:
        return float(budget["compression_factor"]), float(budget["bit_ratio"])
    return budget["input_values"] / budget["latent_values"], budget["input_bits"] / budget["latent_bits"]


def bit_budget(report: dict, run_budget: dict | None) -> list:
    m = report.get("model") or {}
    budget = m.get("bit_budget")
    if not budget:
        return [
            note(
                "The encoder could not be read exactly, so no bit budget is known: " + "; ".join(m.get("problems", [])),
                "warn",
            )
        ]
    rows = [
        ["inputs per encoder", num(budget["input_values"]), num(budget["input_bits_each"]), num(budget["input_bits"])],
        [
            "latents per encoder",
            num(budget["latent_values"]),
            num(budget["latent_bits_each"]),
            num(budget["latent_bits"]),
        ],
    ]
    blocks: list = [Table(["", "values", "bits each", "bits"], rows, numeric={1, 2, 3})]
    values, bits = budget_ratios(budget)
    blocks.append(
        Para(
            [
                Span("Compression factor "),
                Span(f"{values:.3f}", "b"),
                Span(" (input values / latent values, the ECON-T measure) and bit ratio "),
                Span(f"{bits:.3f}", "b"),
                Span(" (input bits / latent bits)."),
            ]
        )
    )
    if budget.get("frame_bits"):
        blocks.append(_frame_table(budget))
    if budget.get("masked_inputs"):
        blocks.append(
            note(f"{budget['masked_inputs']} masked input positions never carry charge and are not counted as inputs.")
        )
    n_parts = budget.get("n_parts") or (run_budget or {}).get("n_parts")
    if n_parts and n_parts > 1:
        total_in = budget.get("total_input_values", budget["input_values"] * n_parts)
        total_lat = budget.get("total_latent_values", budget["latent_values"] * n_parts)
        blocks.append(
            note(
                f"MICAE: {n_parts} inputs share this encoder, so {total_in} input values become {total_lat} latent "
                f"values ({n_parts} x {budget['latent_bits']} = {budget['latent_bits'] * n_parts} latent bits) "
                "per sample."
            )
        )
    blocks += _formats(m)
    if m.get("problems"):
        blocks.append(note("not exact (--allow-inexact): " + "; ".join(m["problems"]), "warn"))
    return blocks


def _frame_table(budget: dict) -> Table:
    """The ECON-T autoencoder frame on L e-links (datapath doc B4), per part."""
    rows = [
        ["header (BX counter)", num(budget["frame_header_bits"])],
        ["module sum (5E4M)", num(budget["frame_sum_bits"])],
        [f"{budget['latent_values']} latents x {budget['latent_bits_each']} bits", num(budget["frame_latent_bits"])],
        ["spare", num(budget["frame_spare_bits"])],
        [f"frame on {budget['elinks']} e-links (32 bits each)", num(budget["frame_bits"])],
        ["frame bit ratio (input bits / frame bits)", f"{budget['frame_bit_ratio']:.3f}"],
    ]
    return Table(["ECON-T frame", "bits"], rows, numeric={1})


def _formats(m: dict) -> list:
    blocks: list = []
    for key, label in (("input_type", "input format"), ("latent_type", "latent format")):
        t = m.get(key)
        if t:
            kind = "signed" if t["signed"] else "unsigned"
            hls = ("ap_fixed" if t["signed"] else "ap_ufixed") + f"<{t['width']},{t['integer']}>"
            blocks.append(
                Para(
                    [
                        Span(f"{label}: {kind} {t['width']} bits, {t['frac']} fractional (HLS "),
                        Span(hls, "code"),
                        Span(")."),
                    ]
                )
            )
    stages = m.get("stages") or []
    if stages:
        head = ["layer", "kind", "quantizer", "accumulator bits", "output bits", "output frac bits"]
        head += ["non-zero weights (unrolled)", "operation"]
        rows = [
            [
                s["layer"],
                s["kind"],
                s.get("quantizer", ""),
                num(s["accumulator"]["width"]),
                num(s["out_type"]["width"]),
                num(s["out_type"].get("frac")),
                num(s.get("unrolled_nonzero_weights")),
                s.get("summary", ""),  # the stage's one-line description (micae.fixed.ops)
            ]
            for s in stages
        ]
        blocks.append(Table(head, rows, numeric={3, 4, 5, 6}))
    return blocks


def _first_mismatch(row: list) -> str:
    """``[vector, expected codes, got codes, source]`` -> which latents differ, and by how much."""
    index, expected, got = row[0], list(row[1]), list(row[2])
    source = f" ({row[3]})" if len(row) > 3 else ""
    diff = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    shown = ", ".join(f"z{i}: expected {e}, got {g}" for i, e, g in diff[:3])
    more = f" and {len(diff) - 3} more" if len(diff) > 3 else ""
    return f"vector {index}{source}: {shown}{more}" if diff else f"vector {index}{source}"


def verification_table(report: dict) -> Table:
    """One row per level, in the order the flow wrote them; levels without vectors show why they did not run."""
    rows, tones = [], []
    for level, v in (report.get("verification") or {}).items():
        v = v if isinstance(v, dict) else {}
        if "vectors" in v:
            first = v.get("first_mismatches") or []
            where = _first_mismatch(first[0]) if first else "-"
            by_source = ", ".join(f"{k} {n}" for k, n in (v.get("mismatches_by_source") or {}).items() if n)
            what = f"simulator {v['simulator']}" if v.get("simulator") else ""
            extra = "; ".join(str(x) for x in (what, v.get("run", ""), v.get("error", ""), by_source) if x)
            rows.append([level, num(v["vectors"]), num(v["mismatches"]), num(v.get("max_abs_lsb_error")), where, extra])
            tones.append("bad" if v["mismatches"] else "good")
        else:
            reason = v.get("reason") or v.get("run") or ""
            rows.append([level, "-", "-", "-", "-", f"{v.get('status', 'skipped')}: {reason}".strip(": ")])
            tones.append("skip")
    head = ["level", "vectors", "mismatches", "max LSB error", "first mismatch (source)", "note"]
    return Table(head, rows, numeric={1, 2, 3}, tones=tones, mark=2)


def verification(report: dict) -> list:
    blocks: list = []
    vec = report.get("vectors") or {}
    if vec.get("sources"):
        src = ", ".join(f"{k} {v}" for k, v in vec["sources"].items())
        blocks.append(para(f"{num(vec.get('total'))} vectors: {src}."))
    table = verification_table(report)
    if table.rows:
        blocks.append(table)
    cov = vec.get("coverage") or []
    if cov:
        rows = [
            [
                c.get("stage", ""),
                c["quantizer"],
                num(c["tie_values"]),
                num(c["vectors_with_ties"]),
                num(c["saturated_high"]),
                num(c["saturated_low"]),
            ]
            for c in cov
        ]
        head = ["stage", "quantizer", "rounding ties", "vectors with ties", "saturated high", "saturated low"]
        blocks += [Heading("What the vectors exercised"), Table(head, rows, numeric={2, 3, 4, 5})]
    return blocks or [note("No verification was recorded.")]


def _resource_cell(res: dict, key: str) -> str:
    v, avail = res.get(key), res.get(f"available_{key}")
    if v is None:
        return "-"
    return f"{num(v)} ({100 * v / avail:.2g}%)" if avail else num(v)


def _route_latency(route: dict, report: dict, headline: dict | None) -> dict:
    """The route's latency; the headline route's carries the flow's ``ns_source``/``verified`` when it lacks them.

    Other routes' ns were never timed: a vendor route's is the HLS estimate, the rest the requested clock.
    """
    lat = dict(route.get("latency") or {})
    if "ns_source" in lat:
        return lat
    top = report.get("latency") or {}
    if route is headline and "ns_source" in top:
        lat.update({k: top[k] for k in ("ns_source", "ns", "clock_ns", "verified", "ns_note") if k in top})
    elif route.get("kind") == "vendor" and not route.get("stand_in"):
        lat["ns_source"] = "vendor HLS estimate (csynth), not place-and-route"
    return lat


def routes_table(report: dict) -> Table:
    headline = facts.headline_route(report)
    rows, tones = [], []
    for r in report.get("routes") or []:
        res, lat = r.get("resources") or {}, _route_latency(r, report, headline)
        kind = r.get("kind", "")
        stand_in = bool(r.get("stand_in")) or str(kind).startswith("stand-in")
        row = [r.get("route", ""), "stand-in (not a vendor run)" if stand_in else kind, res.get("estimator", "-")]
        row += [_resource_cell(res, k) for k in ("LUT", "FF", "CARRY", "DSP", "BRAM")]
        row += [num(lat.get(k)) for k in ("cycles_min", "cycles_max", "interval", "clock_ns", "ns")]
        row.append(facts.latency_source(lat) if lat.get("ns") is not None else "-")
        row.append("yes" if r is headline else "")
        rows.append(row)
        tones.append("skip" if stand_in else "")
    head = ["route", "kind", "estimator", "LUT", "FF", "CARRY", "DSP", "BRAM", "cycles min", "cycles max"]
    head += ["interval", "clock ns", "latency ns", "latency ns from", "headline"]
    return Table(head, rows, numeric=set(range(3, 13)), tones=tones)


def resources(report: dict) -> list:
    blocks: list = []
    table = routes_table(report)
    if table.rows:
        blocks.append(table)
        text = "Percentages are of the part's available resources, where the tool reported them."
        if "skip" in table.tones:
            text += (
                " Stand-in rows come from a placeholder executable used for testing the flow: "
                "they are not vendor results."
            )
        blocks.append(note(text))
    else:
        blocks.append(note("No route produced resource or latency figures."))
    blocks += _why_not_run(report)
    blocks += _rtl_facts(report.get("rtl"))
    return blocks


def _why_not_run(report: dict) -> list:
    vendor = report.get("vendor") or {}
    levels = report.get("verification") or {}
    why = []
    if vendor.get("status") and vendor.get("status") != "ran":
        why.append(f"vendor HLS: {vendor.get('status')} ({vendor.get('reason', '')})")
    if vendor.get("stand_in"):
        why.append("vendor HLS: this was a stand-in executable, not a vendor run")
    rtl = levels.get("rtl")
    if isinstance(rtl, dict) and "vectors" not in rtl:
        why.append(f"open-source RTL: {rtl.get('reason', rtl.get('status', ''))}")
    return [Bullets([[Span(w)] for w in why])] if why else []


def _rtl_facts(rtl: dict | None) -> list:
    if not rtl:
        return []
    items = [
        [
            Span("RTL top "),
            Span(str(rtl.get("top", "")), "code"),
            Span(f", {rtl.get('latency_cycles')} cycles at the requested {rtl.get('clock_ns')} ns clock"),
        ]
    ]
    for d in ("input", "output"):
        p = (rtl.get("ports") or {}).get(d)
        if p:
            items.append(
                [
                    Span(
                        f"{d}: {p.get('count')} x {p.get('width')} bits, {p.get('frac')} fractional, "
                        f"{'signed' if p.get('signed') else 'unsigned'}, bus {p.get('bus_width')} bits, "
                        f"order: {p.get('order')}"
                    )
                ]
            )
    if rtl.get("files"):
        items.append([Span("files: " + ", ".join(rtl["files"]))])
    return [Bullets(items)]


def timing(report: dict, figs: dict, plot_dir: Path) -> list:
    """Timing analyses: the per-stage chart, Fmax/slack/met per target, the critical paths."""
    analyses = facts.timing_analyses(report)
    blocks: list = []
    if "timing" in figs:
        caption = (
            "Delay of each pipeline stage in every timing analysis; the dashed line is the requested clock period. "
            "A stage longer than the period misses timing."
        )
        blocks.append(Figure(figs["timing"]["file"], plot_dir / figs["timing"]["file"], "per-stage delays", caption))
    rows, tones = [], []
    for a in analyses:
        met, signoff = a.get("met"), a.get("kind") in ("place-and-route", "vendor")
        met_text = "yes" if met is True else "NO" if met is False else "not judged"
        if met is True and not signoff:
            met_text = f"yes ({a.get('kind')}, not sign-off)"
        rows.append(
            [
                str(a.get("target", "?")),
                facts.tool_text(a),
                facts.kind_words(a.get("kind")),
                num(a.get("clock_ns")),
                num(a.get("fmax_mhz")),
                num(a.get("slack_ns")),
                met_text,
            ]
        )
        tones.append("bad" if met is False else "good" if met is True and signoff else "")
    head = ["target", "tool", "analysis", "clock ns", "Fmax MHz", "slack ns", "met"]
    blocks.append(Table(head, rows, numeric={3, 4, 5}, tones=tones, mark=6))
    if any(a.get("kind") == "logic-sta" for a in analyses):
        blocks.append(
            note(
                "Logic-only STA times the netlist without placement or routing: its delays are a lower bound "
                "(its Fmax an upper bound). Only place-and-route or vendor timing confirms a clock.",
                "warn",
            )
        )
    for a in analyses:
        blocks += closure_blocks(a)
        if a.get("critical_path"):
            blocks.append(
                Code(str(a["critical_path"]), f"critical path, {a.get('target', '?')} ({a.get('kind', '?')})")
            )
    return blocks


def closure_blocks(analysis: dict) -> list:
    """The timing-closure attempts of one place-and-route analysis (``closure``): one row per cut."""
    attempts = analysis.get("closure") or []
    if not attempts:
        return []
    rows, tones = [], []
    for k, t in enumerate(attempts):
        rows.append(
            [
                "first cut" if k == 0 else f"re-cut {k}",
                num(t.get("cycles")),
                num(t.get("predicted_period_ns")),
                num(t.get("measured_period_ns")),
                num(t.get("fmax_mhz")),
                "yes" if t.get("met") else "NO",
                "yes" if t.get("shipped") else "",
            ]
        )
        tones.append("good" if t.get("met") else "bad")
    head = ["cut", "cycles", "delay model predicted ns (estimate)", "place-and-route ns", "Fmax MHz", "met", "shipped"]
    text = (
        f"Timing closure on {analysis.get('target', '?')}: after a miss the delay model's routing share was "
        "scaled to the measured period and the pipeline cut again, then placed and routed again. The cut that "
        "ships is the first that met the clock, else the fastest; the table above and the RTL levels are its."
    )
    return [Table(head, rows, numeric={1, 2, 3, 4}, tones=tones, mark=5), note(text)]


def seconds(report: dict, training: dict, seconds_total: float | None) -> list:
    blocks: list = []
    steps = report.get("timing_s") or {}
    if steps:
        total = steps.get("total") or sum(v for k, v in steps.items() if k != "total") or 1.0
        rows = []
        for k, v in steps.items():
            share = "" if k == "total" else Bar(max(0.0, min(100.0, 100 * v / total)))
            rows.append([k, f"{v:.2f}", share])
        blocks += [Heading("Synthesis and verification"), Table(["step", "seconds", "share of total"], rows, {1})]
    if training:
        rows = [[p, f"{t.get('seconds', 0):.2f}"] for p, t in training.items()]
        if seconds_total is not None:
            rows.append(["whole training run (data, training, evaluation, artifacts)", f"{seconds_total:.2f}"])
        blocks += [Heading("Training"), Table(["phase", "seconds"], rows, {1})]
    return blocks or [note("No timings were recorded.")]


def files(report: dict, run_dir: Path | None, plot_dir: Path) -> list:
    names = ["report.json", "report.md"]
    if plot_dir.exists():
        names += [f"plots/{p.name}" for p in sorted(plot_dir.glob("*.png"))]
    rows = [["model file", str((report.get("model") or {}).get("file", "-"))]]
    rows += [[k.replace("_", " "), str(v)] for k, v in (report.get("paths") or {}).items()]
    if run_dir is not None:
        rows.append(["training run", str(run_dir)])
    rows.append(["micae version", str(report.get("micae_version", "-"))])
    return [Bullets([[Span(n, "link")] for n in names]), Table(["what", "where"], rows)]
