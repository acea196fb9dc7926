"""View-model sections built from report.json alone: bit budget, verification, resources, timing, seconds, files."""

from __future__ import annotations

from pathlib import Path

from micae.report import facts, hardware_facts
from micae.report.blocks import Bar, Bullets, Code, Figure, Heading, Para, Span, Table, note, num, para
from micae.results.hardware import (
    HLS_ESTIMATE,
    LOGIC_STA,
    NOT_CHECKED,
    STAND_IN,
    VENDOR_ROUTE,
    AnyAnalysis,
    Latency,
    PnrAnalysis,
    Resources,
    RouteResult,
)
from micae.results.metrics import TrainingPhase
from micae.results.report import BitBudget, ModelSection, SynthReport
from micae.results.rtl import RtlSection


def bit_budget(report: SynthReport, run_parts: int | None) -> list:
    """The budget table and formats; ``run_parts``: how many inputs share the encoder in its training run."""
    m = report.model
    budget = m.bit_budget
    if budget is None:
        return [
            note(
                "The encoder could not be read exactly, so no bit budget is known: " + "; ".join(m.problems),
                "warn",
            )
        ]
    rows = [
        ["inputs per encoder", num(budget.input_values), num(budget.input_bits_each), num(budget.input_bits)],
        ["latents per encoder", num(budget.latent_values), num(budget.latent_bits_each), num(budget.latent_bits)],
    ]
    blocks: list = [Table(["", "values", "bits each", "bits"], rows, numeric={1, 2, 3})]
    blocks.append(
        Para(
            [
                Span("Compression factor "),
                Span(f"{budget.compression_factor:.3f}", "b"),
                Span(" (input values / latent values, the ECON-T measure) and bit ratio "),
                Span(f"{budget.bit_ratio:.3f}", "b"),
                Span(" (input bits / latent bits)."),
            ]
        )
    )
    if budget.frame_bits:
        blocks.append(_frame_table(budget))
    if budget.masked_inputs:
        blocks.append(
            note(f"{budget.masked_inputs} masked input positions never carry charge and are not counted as inputs.")
        )
    n_parts = budget.n_parts if budget.n_parts > 1 else run_parts or 1
    if n_parts > 1:
        total_in = budget.total_input_values if budget.n_parts > 1 else budget.input_values * n_parts
        total_lat = budget.total_latent_values if budget.n_parts > 1 else budget.latent_values * n_parts
        blocks.append(
            note(
                f"MICAE: {n_parts} inputs share this encoder, so {total_in} input values become {total_lat} latent "
                f"values ({n_parts} x {budget.latent_bits} = {budget.latent_bits * n_parts} latent bits) "
                "per sample."
            )
        )
    blocks += _formats(m)
    if m.problems:
        blocks.append(note("not exact (--allow-inexact): " + "; ".join(m.problems), "warn"))
    return blocks


def _frame_table(budget: BitBudget) -> Table:
    """The ECON-T autoencoder frame on L e-links (datapath doc B4), per part."""
    rows = [
        ["header (BX counter)", num(budget.frame_header_bits)],
        ["module sum (5E4M)", num(budget.frame_sum_bits)],
        [f"{budget.latent_values} latents x {budget.latent_bits_each} bits", num(budget.frame_latent_bits)],
        ["spare", num(budget.frame_spare_bits)],
        [f"frame on {budget.elinks} e-links (32 bits each)", num(budget.frame_bits)],
        ["frame bit ratio (input bits / frame bits)", f"{budget.frame_bit_ratio:.3f}"],
    ]
    return Table(["ECON-T frame", "bits"], rows, numeric={1})


def _formats(m: ModelSection) -> list:
    blocks: list = []
    for t, label in ((m.input_type, "input format"), (m.latent_type, "latent format")):
        if t is not None:
            kind = "signed" if t.signed else "unsigned"
            hls = ("ap_fixed" if t.signed else "ap_ufixed") + f"<{t.width},{t.integer}>"
            blocks.append(
                Para(
                    [
                        Span(f"{label}: {kind} {t.width} bits, {t.frac} fractional (HLS "),
                        Span(hls, "code"),
                        Span(")."),
                    ]
                )
            )
    if m.stages:
        head = ["layer", "kind", "quantizer", "accumulator bits", "output bits", "output frac bits"]
        head += ["non-zero weights (unrolled)", "operation"]
        rows = [
            [
                s.layer,
                s.kind,
                s.quantizer or "",
                num(s.accumulator.width),
                num(s.out_type.width),
                num(s.out_type.frac),
                num(s.unrolled_nonzero_weights),
                s.summary or "",  # the stage's one-line description (micae.fixed.ops)
            ]
            for s in m.stages
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


def verification_table(report: SynthReport) -> Table:
    """One row per level, in the order the flow wrote them; levels without vectors show why they did not run."""
    rows, tones = [], []
    for level, v in report.verification.items():
        if v.compared:
            first = v.first_mismatches or []
            where = _first_mismatch(first[0]) if first else "-"
            by_source = ", ".join(f"{k} {n}" for k, n in (v.mismatches_by_source or {}).items() if n)
            what = f"simulator {v.simulator}" if v.simulator else ""
            extra = "; ".join(str(x) for x in (what, v.run or "", v.error or "", by_source) if x)
            rows.append([level, num(v.vectors), num(v.mismatches), num(v.max_abs_lsb_error), where, extra])
            tones.append("bad" if v.mismatch_count else "good")
        else:
            reason = v.reason or v.run or ""
            rows.append([level, "-", "-", "-", "-", f"{v.status or 'skipped'}: {reason}".strip(": ")])
            tones.append("skip")
    head = ["level", "vectors", "mismatches", "max LSB error", "first mismatch (source)", "note"]
    return Table(head, rows, numeric={1, 2, 3}, tones=tones, mark=2)


def coverage_blocks(report: SynthReport) -> list:
    """What the main vector set exercised per stage: values (one per output of the stage per vector) apart from
    vectors (a vector counts once), and the data's own vectors apart from those micae constructed."""
    vec = report.vectors
    if not vec.coverage:
        return []
    values = [
        [c.stage, c.quantizer or "", num(c.tie_values), num(c.saturated_high), num(c.saturated_low)]
        for c in vec.coverage
    ]
    split = any(c.data_vectors for c in vec.coverage)
    vectors = []
    for c in vec.coverage:
        row = [c.stage, num(c.vectors_with_ties), num(c.vectors_saturating)]
        if split:
            row += [num(c.data_vectors_with_ties), num(c.data_vectors_saturating)]
            row += [
                _minus(c.vectors_with_ties, c.data_vectors_with_ties),
                _minus(c.vectors_saturating, c.data_vectors_saturating),
            ]
        vectors.append(row)
    head = ["stage", f"with a tie (of {num(vec.total)})", "saturating"]
    text = "Vectors: a vector counts once however many of its values tie or saturate."
    if split:
        n = next(c.data_vectors for c in vec.coverage if c.data_vectors)
        head += [
            f"from the data: with a tie (of {num(n)})",
            "saturating",
            f"constructed: with a tie (of {num(vec.total - n)})",
            "saturating",
        ]
        text += (
            f" 'From the data': the {num(n)} test-split inputs (the run's data, whatever it was: generated for "
            "hgcal-synth, recorded for a CSV); 'constructed': the saturation, tie and random-grid vectors micae "
            "built to reach the corners."
        )
    return [
        Heading("What the vectors exercised"),
        para("Values: every output of the stage in every vector (a stage outputs many values per vector)."),
        Table(
            ["stage", "quantizer", "values at a rounding tie", "values saturated high", "values saturated low"],
            values,
            numeric={2, 3, 4},
        ),
        Table(head, vectors, numeric=set(range(1, len(head)))),
        note(text),
    ]


def _minus(a: int | None, b: int | None) -> str:
    return "-" if a is None or b is None else num(a - b)


def verification(report: SynthReport) -> list:
    blocks: list = []
    vec = report.vectors
    if vec.sources:
        src = ", ".join(f"{k} {v}" for k, v in vec.sources.items())
        blocks.append(para(f"{num(vec.total)} vectors: {src}."))
    table = verification_table(report)
    if table.rows:
        blocks.append(table)
    blocks += coverage_blocks(report)
    return blocks or [note("No verification was recorded.")]


def _resource_cell(res: Resources, key: str) -> str:
    v, avail = getattr(res, key, None), getattr(res, f"available_{key}", None)
    if v is None:
        return "-"
    return f"{num(v)} ({100 * v / avail:.2g}%)" if avail else num(v)


def _route_latency(route: RouteResult, report: SynthReport) -> tuple[Latency | None, str | None]:
    """The route's latency and where its ns come from: the headline route's are the report's decided latency;
    a vendor route's ns are its HLS estimate; other routes' ns were never timed."""
    if route.route == report.headline_route and report.latency is not None:
        return report.latency, facts.latency_source(report.latency)
    if route.latency is None or route.latency.ns is None:
        return route.latency, None
    if route.kind == VENDOR_ROUTE and not route.stand_in:
        return route.latency, HLS_ESTIMATE
    return route.latency, NOT_CHECKED


def routes_table(report: SynthReport) -> Table:
    rows, tones = [], []
    for r in report.routes:
        res = r.resources or Resources()
        lat, source = _route_latency(r, report)
        stand_in = bool(r.stand_in) or r.kind.startswith("stand-in")
        row = [r.route, STAND_IN if stand_in else r.kind, res.estimator or "-"]
        row += [_resource_cell(res, k) for k in ("LUT", "FF", "CARRY", "DSP", "BRAM")]
        lat_cells = [None] * 5 if lat is None else [lat.cycles_min, lat.cycles_max, lat.interval, lat.clock_ns, lat.ns]
        row += [num(v) for v in lat_cells]
        row.append(source if lat is not None and lat.ns is not None and source else "-")
        row.append("yes" if r.route == report.headline_route else "")
        rows.append(row)
        tones.append("skip" if stand_in else "")
    head = ["route", "kind", "estimator", "LUT", "FF", "CARRY", "DSP", "BRAM", "cycles min", "cycles max"]
    head += ["interval", "clock ns", "latency ns", "latency ns from", "headline"]
    return Table(head, rows, numeric=set(range(3, 13)), tones=tones)


def resources(report: SynthReport) -> list:
    blocks: list = []
    table = routes_table(report)
    if table.rows:
        blocks.append(table)
        text = "Percentages of each part: see the utilization table below."
        if "skip" in table.tones:
            text += (
                " Stand-in rows come from a placeholder executable used for testing the flow: "
                "they are not vendor results."
            )
        blocks.append(note(text))
    else:
        blocks.append(note("No route produced resource or latency figures."))
    blocks += _why_not_run(report)
    blocks += hardware_facts.utilization(report)
    blocks += hardware_facts.pnr_notes(report)
    blocks += _rtl_facts(report.rtl)
    blocks += hardware_facts.hls4ml_settings(report)
    blocks += hardware_facts.file_links(report)
    blocks.append(
        note(
            "Not estimated by micae: power and ASIC area (run the vendor's power analysis on the "
            "placed design, or an ASIC flow, for those)."
        )
    )
    return blocks


def _why_not_run(report: SynthReport) -> list:
    vendor = report.vendor
    why = []
    if vendor is not None and vendor.status and not vendor.ran:
        why.append(f"vendor HLS: {vendor.status} ({vendor.reason or ''})")
    if vendor is not None and vendor.stand_in:
        why.append("vendor HLS: this was a stand-in executable, not a vendor run")
    rtl = report.verification.get("rtl")
    if rtl is not None and not rtl.compared:
        why.append(f"open-source RTL: {rtl.reason or rtl.status or ''}")
    why += [f"{kind} timing: skipped ({reason})" for kind, reason in report.timing_skipped.items()]
    return [Bullets([[Span(w)] for w in why])] if why else []


def _rtl_facts(rtl: RtlSection | None) -> list:
    if rtl is None:
        return []
    items = [
        [
            Span("RTL top "),
            Span(rtl.top, "code"),
            Span(f", {rtl.latency_cycles} cycles at the requested {rtl.clock_ns} ns clock"),
        ]
    ]
    for d, p in (("input", rtl.ports.input), ("output", rtl.ports.output)):
        items.append(
            [
                Span(
                    f"{d}: {p.count} x {p.width} bits, {p.frac} fractional, "
                    f"{'signed' if p.signed else 'unsigned'}, bus {p.bus_width} bits, order: {p.order}"
                )
            ]
        )
    if rtl.files:
        items.append([Span("files: " + ", ".join(rtl.files))])
    return [Bullets(items)]


def timing(report: SynthReport, figs: dict, plot_dir: Path) -> list:
    """Timing analyses: the per-stage chart, Fmax/slack/met per target, the critical paths."""
    analyses = report.timing
    blocks: list = []
    if "timing" in figs:
        blocks.append(
            Figure(
                figs["timing"]["file"],
                plot_dir / figs["timing"]["file"],
                "per-stage delays",
                timing_caption(report, figs["timing"]),
            )
        )
    blocks.append(para(stage_numbering(report)))
    rows, tones = [], []
    for a in analyses:
        met, signoff = a.met, facts.is_signoff(a)
        met_text = "yes" if met is True else "NO" if met is False else "not judged"
        if met is True and not signoff:
            met_text = f"yes ({a.kind}, not sign-off)"
        rows.append(
            [
                a.target,
                facts.tool_text(a),
                facts.kind_words(a.kind),
                num(a.clock_ns),
                num(a.fmax_mhz),
                num(a.slack_ns),
                met_text,
            ]
        )
        tones.append("bad" if met is False else "good" if met is True and signoff else "")
    head = ["target", "tool", "analysis", "clock ns", "Fmax MHz", "slack ns", "met"]
    blocks.append(Table(head, rows, numeric={3, 4, 5}, tones=tones, mark=6))
    if any(a.kind == LOGIC_STA for a in analyses):
        blocks.append(
            note(
                "Logic-only STA times the netlist without placement or routing: its delays are a lower bound "
                "(its Fmax an upper bound). Only place-and-route or vendor timing confirms a clock.",
                "warn",
            )
        )
    for a in analyses:
        blocks += closure_blocks(a)
        if a.critical_path:
            blocks.append(Code(a.critical_path, f"critical path, {a.target} ({a.kind})"))
    return blocks


def timing_caption(report: SynthReport, drawn: dict) -> str:
    """What the timing chart draws, as it drew it (hatching only named when a bar is hatched)."""
    text = "Delay of each pipeline stage in every analysis that reports one (logic-only STA, vendor)"
    if drawn.get("routed"):
        text += (
            "; nextpnr reports one critical path, not a delay per stage, so each place-and-route is drawn as its "
            "critical path (logic, then routing, stacked) at the stage it starts in"
        )
    text += ". The dashed line is the requested clock period: a bar above it misses timing"
    return text + (" and is hatched." if drawn.get("hatched") else "; none does.")


def stage_numbering(report: SynthReport) -> str:
    """Stages are numbered as the RTL files name them; cycles = stages + the input register."""
    rtl = report.rtl
    if rtl is None:
        return "Stages are numbered from 0, as the RTL modules name them."
    stages = rtl.da4ml.stages
    text = (
        f"Stages are numbered from 0 as the RTL names them: stage 0 is {rtl.top}_core_stage0.v, stage 1 is "
        f"{rtl.top}_core_stage1.v and so on, everywhere in this report (a critical path 'stage 2 -> stage 3' "
        "starts at stage 2's input register and ends at stage 3's)."
    )
    if rtl.latency_cycles == stages + 1:
        text += (
            f" {rtl.latency_cycles} cycles = {stages} stages + 1 input register: the core registers its input, then "
            "each stage ends in a register (the last one is the output register)."
        )
    return text


def closure_blocks(analysis: AnyAnalysis) -> list:
    """The timing-closure attempts of one place-and-route analysis (``closure``): one row per cut."""
    attempts = analysis.closure if isinstance(analysis, PnrAnalysis) else None
    if not attempts:
        return []
    rows, tones = [], []
    for k, t in enumerate(attempts):
        rows.append(
            [
                "first cut" if k == 0 else f"re-cut {k}",
                num(t.cycles),
                num(t.predicted_period_ns),
                num(t.measured_period_ns),
                num(t.fmax_mhz),
                "yes" if t.met else "NO",
                "yes" if t.shipped else "",
            ]
        )
        tones.append("good" if t.met else "bad")
    head = ["cut", "cycles", "delay model predicted ns (estimate)", "place-and-route ns", "Fmax MHz", "met", "shipped"]
    text = (
        f"Timing closure on {analysis.target}: after a miss the delay model's routing share was "
        "scaled to the measured period and the pipeline cut again, then placed and routed again. The cut that "
        "ships is the first that met the clock, else the fastest; the table above and the RTL levels are its."
    )
    return [Table(head, rows, numeric={1, 2, 3, 4}, tones=tones, mark=5), note(text)]


def step_tables(steps: dict[str, float]) -> list:
    """The flow's steps with their share of the wall-clock total, and apart from them (without shares: they are
    parts of the steps) the timed operations inside the steps."""
    total = steps.get("total") or sum(v for k, v in steps.items() if k.startswith("step ")) or 1.0
    whole = [(k, v) for k, v in steps.items() if k.startswith("step ")]
    parts = [(k, v) for k, v in steps.items() if not k.startswith("step ") and k != "total"]
    rows = [[k.removeprefix("step "), f"{v:.2f}", Bar(max(0.0, min(100.0, 100 * v / total)))] for k, v in whole]
    rows.append(["total (wall clock)", f"{total:.2f}", ""])
    text = (
        "Shares are of the wall-clock total. Independent steps run at the same time (the yosys resource count "
        "beside place-and-route, for one), so the shares can add to more than 100%."
    )
    blocks: list = [Heading("Synthesis and verification"), Table(["step", "seconds", "share of total"], rows, {1})]
    blocks.append(note(text))
    if parts:
        blocks += [
            Heading("Timed operations inside the steps"),
            Table(["operation", "seconds"], [[k, f"{v:.2f}"] for k, v in parts], {1}),
        ]
    return blocks


def seconds(report: SynthReport, training: dict[str, TrainingPhase], seconds_total: float | None) -> list:
    blocks: list = []
    steps = report.timing_s
    if steps:
        blocks += step_tables(steps)
    if training:
        rows = [[p, f"{t.seconds:.2f}"] for p, t in training.items()]
        if seconds_total is not None:
            rows.append(["whole training run (data, training, evaluation, artifacts)", f"{seconds_total:.2f}"])
        blocks += [Heading("Training"), Table(["phase", "seconds"], rows, {1})]
    return blocks or [note("No timings were recorded.")]


def files(report: SynthReport, run_dir: Path | None, plot_dir: Path) -> list:
    names = ["report.json", "report.md"]
    if plot_dir.exists():
        names += [f"plots/{p.name}" for p in sorted(plot_dir.glob("*.png"))]
    rows = [["model file", report.model.file]]
    rows += [[k.replace("_", " "), str(v)] for k, v in report.paths.to_json().items()]
    if run_dir is not None:
        rows.append(["training run", str(run_dir)])
    rows.append(["micae version", report.micae_version or "-"])
    return [Bullets([[Span(n, "link")] for n in names]), Table(["what", "where"], rows)]
