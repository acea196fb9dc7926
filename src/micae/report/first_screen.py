"""The report's first screen: one card per fact, each naming the tool and the device (or the data) it comes from,
and the lines that say which implementation the hardware figures describe and what did not run."""

from __future__ import annotations

from micae.report import facts, run_data
from micae.report.blocks import Card, num
from micae.report.devices import percent
from micae.results.hardware import LOGIC_STA, PNR, SIGNOFF_KINDS, AnyAnalysis, PnrAnalysis
from micae.results.report import SynthReport

EMD_UNIT = "EMD in half trigger-cell pitches (neighbouring cells are 2 apart)"
QAT = "QAT model"
"""The one name of the quantization-aware trained encoder (with its decoder) in the report and its plots."""


def cards(report: SynthReport, run: dict | None) -> list[Card]:
    out = [_verdict_card(report)]
    budget = report.model.bit_budget
    if budget:
        frame = (
            f"; {budget.frame_bit_ratio:.2f} with the {budget.frame_bits}-bit frame on {budget.elinks} e-links"
            if budget.frame_bits and budget.frame_bit_ratio is not None
            else ""
        )
        out.append(
            Card(
                "compression",
                f"{budget.compression_factor:.2f}x values",
                f"bit ratio {budget.bit_ratio:.2f}: {budget.input_bits} input bits -> {budget.latent_bits} latent "
                f"bits{frame}",
                source="the encoder's quantizers (ECON-T measure: input values / latent values)",
            )
        )
    out += resource_cards(report)
    timing = timing_card(report)
    if timing:
        out.append(timing)
    latency = latency_card(report)
    if latency:
        out.append(latency)
    quality = quality_card(run)
    if quality:
        out.append(quality)
    return out


def _verdict_card(report: SynthReport) -> Card:
    ran, bad = report.levels_run, report.failed_levels
    sims = [v.simulator for v in report.verification.values() if v.compared and v.simulator]
    rtl = report.verification.get("rtl")
    source = ", ".join(ran) + (f" ({', '.join(sims)})" if sims else "")
    if rtl is not None and rtl.compared:
        source += f"; {num(rtl.vectors)} vectors through the RTL"
    if not report.ok:
        return Card("verification", "FAIL", f"mismatches at {', '.join(bad)}" if bad else "see the table", "fail")
    if not ran:
        return Card("verification", "NOT RUN", "no verification level ran", "fail")
    return Card("verification", "PASS", f"every latent value bit-identical at {len(ran)} level(s)", "pass", source)


def signoff(report: SynthReport) -> AnyAnalysis | None:
    """The place-and-route or vendor analysis the first screen shows (the first one that ran)."""
    return next((t for t in report.timing if t.kind in SIGNOFF_KINDS), None)


def _pct(used: int | None, part: str | None, resource: str, available: int | None = None) -> str:
    """Share of the part: of what the tool reported available, else of the documented total."""
    share = 100.0 * used / available if used is not None and available else percent(used, part, resource)
    return f"; {share:.1f}% of the part's LUTs" if share is not None else ""


def _device_share(pnr: PnrAnalysis, used: int, bel: str) -> float | None:
    """Percent of the placed part: of nextpnr's reported total for the bel, else of the documented total."""
    total = (pnr.available or {}).get(bel)
    return 100.0 * used / total if total else percent(used, pnr.target, bel if bel != "OXIDE_FF" else "FF")


def _pnr_resources_card(pnr: PnrAnalysis) -> Card | None:
    cells, res = pnr.cells or {}, pnr.resources
    if not cells and res is None:
        return None
    lut4 = cells.get("LUT4", res.LUT if res else None)
    ccu2 = cells.get("CCU2", res.CARRY if res else None)
    ff = res.FF if res else None
    value = f"{num(lut4)} LUT4"
    used = pnr.utilization or {}
    comb_bel = next((b for b in ("OXIDE_COMB", "TRELLIS_COMB") if b in used), None)
    ff_bel = next((b for b in ("OXIDE_FF", "TRELLIS_FF") if b in used), "FF")
    detail = [f"+ {num(ccu2)} CCU2 carries, {num(ff)} FF"]
    if comb_bel is not None:
        share = _device_share(pnr, used[comb_bel], comb_bel)
        detail.append(
            f"{num(used[comb_bel])} logic cells" + (f", {share:.0f}% of the device" if share is not None else "")
        )
    if ff is not None:
        share = _device_share(pnr, ff, ff_bel)
        detail.append(f"FF {share:.0f}% of the device" if share is not None else "")
    if pnr.wrapper_ff:
        detail.append(f"FF include the pin wrapper's {num(pnr.wrapper_ff)}")
    source = f"{facts.tool_text(pnr)} after {pnr.tool.synth or 'yosys'}, placed and routed on {pnr.target}"
    source += facts.cache_text(pnr.cache)
    return Card("resources, placed and routed", value, "; ".join(d for d in detail if d), source=source)


def resource_cards(report: SynthReport) -> list[Card]:
    """The placed-and-routed design's cells when there is one; the yosys count on the Xilinx part beside it,
    labelled an estimate (logic synthesis only: no packing, placement or routing)."""
    out = []
    sign = signoff(report)
    if isinstance(sign, PnrAnalysis):
        card = _pnr_resources_card(sign)
        if card:
            out.append(card)
    res = report.resources
    if res is None:
        out.append(Card("resources", "-", "no route produced resource figures", "muted"))
        return out
    part = res.part or (report.options.part if report.options else None)
    estimate = report.headline_route is not None and "yosys" in (res.estimator or "")
    key = "resources, estimate" if estimate else "resources"
    detail = f"{num(res.FF)} FF, {num(res.DSP)} DSP{_pct(res.LUT, part, 'LUT', res.available_LUT)}"
    if estimate:
        detail += "; logic synthesis only (no placement or routing)"
    source = f"{res.estimator or '?'}" + (f" for {part}" if part else "") + facts.cache_text(res.cache)
    return out + [Card(key, f"{num(res.LUT)} LUT", detail, "muted" if estimate and out else "", source)]


def timing_card(report: SynthReport) -> Card | None:
    if not report.timing:
        return None
    sign = signoff(report)
    shown = sign or next((t for t in report.timing if t.kind == LOGIC_STA), report.timing[0])
    verdict = {True: "met", False: "MISSED", None: "unknown"}[shown.met]
    fmax = f"Fmax {shown.fmax_mhz:.1f} MHz" if shown.fmax_mhz else "Fmax unknown"
    slack = f", slack {shown.slack_ns:+.2f} ns" if shown.slack_ns is not None else ""
    value = f"{verdict} at {shown.clock_ns:g} ns"
    tone = "fail" if shown.met is False else ("pass" if sign is not None and shown.met else "muted")
    detail = f"{fmax}{slack}"
    if sign is None:
        detail += "; not signed off: no place-and-route or vendor analysis ran"
    source = f"{facts.kind_words(shown.kind)}, {facts.tool_text(shown)} on {shown.target}"
    source += facts.cache_text(getattr(shown, "cache", None))
    return Card("timing", value, detail, tone, source)


def latency_card(report: SynthReport) -> Card | None:
    lat = report.latency
    if lat is None or lat.cycles_max is None:
        return None
    ns = f"{num(lat.ns)} ns" if lat.ns is not None else "ns unknown"
    detail = f"{ns} at a {num(lat.clock_ns)} ns clock"
    rtl = report.rtl
    stages = rtl.da4ml.stages if rtl is not None and rtl.da4ml is not None else None
    if stages is not None and lat.cycles_max == stages + 1:
        detail += f"; {stages} pipeline stages + the input register"
    return Card(
        "latency", f"{lat.cycles_max} cycles", detail, "" if lat.verified else "muted", facts.latency_source(lat)
    )


def quality_card(run: dict | None) -> Card | None:
    """The QAT model against the best baseline: the chip's algorithms at the run's e-link count when the run
    kept integer charges (the real comparison), else micae's equal-bit forms and PCA; with the EMD unit."""
    metrics = run_data.run_metrics(run)
    if metrics is None:
        return None
    chip = next(iter((metrics.elinks or {}).items()), None)
    if chip is not None and "ae" in chip[1]:
        elinks, algos = chip
        others = {n: a for n, a in algos.items() if a.family != "autoencoder"}
        best = min(others, key=lambda n: others[n].emd_mean) if others else None
        vs = f"best baseline {_chip_name(best)} {num(others[best].emd_mean)}" if best else "no baseline"
        stc = min((n for n in others if "stc" in n and n != best), key=lambda n: others[n].emd_mean, default=None)
        if stc is not None:
            vs += f", best STC {_chip_name(stc)} {num(others[stc].emd_mean)}"
        if "ae_float" in algos:
            vs += f"; float twin {num(algos['ae_float'].emd_mean)}"
        about = metrics.elinks_about
        data = about.data if about else f"the run's test split of {metrics.dataset}"
        return Card(
            f"quality, mean EMD at L = {elinks}",
            f"{QAT} {num(algos['ae'].emd_mean)}",
            f"vs {vs}",
            source=f"{EMD_UNIT}; lower is better; {data}",
        )
    emd = metrics.quantized.emd_mean is not None
    scores = {n: (s.emd_mean if emd else s.mse) for n, s in metrics.baselines.items()}
    scores = {n: v for n, v in scores.items() if v is not None and n != "float" and n != "pca_joint"}
    best = min(scores, key=lambda n: scores[n]) if scores else None
    from micae.report.figures import model_label

    vs = f"best baseline {model_label(best)} {num(scores[best])}" if best else "no baseline"
    if "float" in metrics.baselines:
        f = metrics.baselines["float"]
        vs += f"; float twin {num(f.emd_mean if emd else f.mse)}"
    unit = EMD_UNIT if emd else "MSE of the normalised input"
    return Card(
        "quality, " + ("mean EMD" if emd else "test MSE"),
        f"{QAT} {num(metrics.quantized.emd_mean if emd else metrics.quantized.mse)}",
        f"vs {vs}",
        source=f"{unit}; lower is better; {metrics.test_samples} test samples of {metrics.dataset}",
    )


def _chip_name(name: str | None) -> str:
    """The chip-comparison table's own name of an algorithm (BC (chip), STC16 (literature), ...)."""
    from micae.evaluate.figures import label

    return "-" if name is None else label(name)


def scope_lines(report: SynthReport) -> list[str]:
    """What the hardware figures describe, and what did not run (with the tools' reasons)."""
    lines = []
    route = next((r for r in report.routes if r.route == report.headline_route), None)
    if route is not None and route.kind == "vendor":
        lines.append(
            f"The resource and latency figures are the vendor HLS estimate (csynth) of the hls4ml project in "
            f"hls/{report.model.name}: an estimate before logic synthesis, not a place-and-route."
        )
    elif report.rtl is not None:
        lines.append(
            f"The hardware figures (resources, timing, latency) describe micae's own RTL: da4ml Verilog in "
            f"firmware/{report.model.name}/rtl, simulated bit-exact against {report.model.reference or 'QKeras'}. "
            f"The hls4ml project in "
            f"hls/{report.model.name} was verified by C simulation only; no figure here is its synthesis."
        )
    skipped = [f"vendor HLS ({report.vendor.reason})"] if report.vendor and report.vendor.reason else []
    skipped += [f"{k} timing ({why})" for k, why in report.timing_skipped.items()]
    if not any(t.kind == PNR for t in report.timing):
        skipped.append("place-and-route (pnr off)")
    if skipped:
        lines.append("Not run: " + "; ".join(skipped) + ".")
    lines.append("Not estimated by micae: power, ASIC area.")
    return lines
