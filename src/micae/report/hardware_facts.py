"""The facts an hls4ml or Vivado user looks for beside the resource table: utilization in percent of each part,
the hls4ml settings, the place-and-route wrapper and warnings, and links to the files that ship."""

from __future__ import annotations

import os

from micae.report.blocks import Bullets, Heading, Span, Table, note, num
from micae.report.devices import HLS4ML_CLOCK_UNCERTAINTY, device_totals
from micae.results.hardware import PnrAnalysis
from micae.results.report import SynthReport

PNR_FILES = ("pnr.log", "yosys.log", "report.json", "synth.ys", "pins.pdc")
"""what :func:`micae.rtl.pnr.place_and_route` leaves in its work folder"""


def _pnr_rows(a: PnrAnalysis) -> list[list]:
    """The placed part's logic cells and flip-flops: of nextpnr's reported total, else of the documented one."""
    rows: list[list] = []
    documented, reported = device_totals(a.target), a.available or {}
    for bel in ("OXIDE_COMB", "OXIDE_FF", "TRELLIS_COMB", "TRELLIS_FF"):
        used = (a.utilization or {}).get(bel)
        if used is None:
            continue
        total = reported.get(bel) or (documented.totals.get(bel) if documented else None)
        share = f"{100 * used / total:.1f}%" if total else "-"
        shown = f"{num(total)} (the tool's)" if bel in reported else num(total)
        rows.append([a.target, f"{bel} (nextpnr)", num(used), shown, share])
    return rows


def utilization(report: SynthReport) -> list:
    """One row per counted resource and device: used, the part's total, and the share."""
    rows, from_tool = [], False
    for a in report.timing:
        if isinstance(a, PnrAnalysis) and a.utilization:
            rows += _pnr_rows(a)
            from_tool |= bool(a.available)
    res = report.resources
    part = (res.part if res else None) or (report.options.part if report.options else None)
    if res is not None:
        totals = device_totals(part)
        for key in ("LUT", "FF", "DSP", "BRAM"):
            used, reported = getattr(res, key), getattr(res, f"available_{key}", None)
            available = reported or (totals.totals.get(key) if totals else None)
            from_tool |= bool(reported)
            if used is not None:
                share = f"{100 * used / available:.1f}%" if available else "-"
                total = f"{num(available)} (the tool's)" if reported else num(available)
                where = part if res.part or not reported else "the part of the tool's report"
                rows.append([where or "?", f"{key} ({res.estimator or '?'}; an estimate)", num(used), total, share])
    if not rows:
        return []
    sources = {device_totals(r[0]).source for r in rows if device_totals(r[0]) and "(the tool's)" not in r[3]}
    text = "Part totals: " + "; ".join(sorted(sources)) + "." if sources else ""
    if from_tool:
        text += " Totals marked (the tool's) are what the tool reported available on the part it targeted."
    text = text.strip() or "No part totals are known for these parts."
    return [
        Heading("Utilization of the part"),
        Table(["part", "resource", "used", "part total", "share"], rows, numeric={2, 3, 4}),
        note(text),
    ]


def pnr_notes(report: SynthReport) -> list:
    """The pin wrapper's flip-flops and what nextpnr warned about, per place-and-route."""
    items = []
    for a in report.timing:
        if not isinstance(a, PnrAnalysis):
            continue
        if a.wrapper_ff:
            items.append(
                f"{a.target}: the FF count includes the {num(a.wrapper_ff)} flip-flops of the pin wrapper "
                "(shift registers that put the encoder's wide buses behind 6 pins so the design fits the package; "
                "a real "
                "system's registers would take their place)"
            )
        if a.carry_ins_undriven:
            items.append(
                f"{a.target}: {num(a.carry_ins_undriven)} CCU2 carry-ins that synth_nexus tied to a constant-0 cell "
                "were left undriven instead (the same 0; a work-around of yosys issue 4081, which nextpnr rejects); "
                "nextpnr's warnings are in pnr/pnr.log"
            )
    return [Bullets([[Span(t)] for t in items])] if items else []


def hls4ml_settings(report: SynthReport) -> list:
    """The settings the hls4ml project was written with (it was C-simulated; vendor tools synthesize it)."""
    opt = report.options
    if opt is None:
        return []
    uncertainty = HLS4ML_CLOCK_UNCERTAINTY.get(opt.backend, "hls4ml's default")
    rows = [
        ["backend", opt.backend],
        ["part", opt.part],
        ["strategy", opt.strategy],
        ["reuse factor", str(opt.reuse)],
        ["io type", opt.io_type],
        ["clock period", f"{opt.clock_ns:g} ns"],
        ["clock uncertainty", f"{uncertainty} (hls4ml 1.3.0's default for {opt.backend}; micae does not set it)"],
        ["precisions", _precisions(report)],
    ]
    return [Heading("hls4ml settings"), Table(["setting", "value"], rows)]


def _precisions(report: SynthReport) -> str:
    reference = report.model.reference or "QKeras"
    if reference == "HGQ's predict":
        return "HGQ's proxy model, calibrated with micae's exact ranges, bit-exact with HGQ (hls4ml_config.yml)"
    return f"set per layer by micae, bit-exact with {reference} (hls4ml_config.yml)"


def file_links(report: SynthReport) -> list:
    """Links (relative to report.html) to the RTL, its testbench and cocotb test, the place-and-route logs
    and the hls4ml project."""
    items: list[list[Span]] = []
    rtl = report.rtl
    if rtl is not None:
        verilog = [f"rtl/{f}" for f in rtl.files if f.endswith(".v") and not f.endswith("_tb.v")]
        items.append([Span("RTL: ")] + _links(verilog))
        sim = [f"rtl/{f}" for f in rtl.files if f.endswith(("_tb.v", ".sh", ".hex"))]
        items.append([Span("RTL simulation (Icarus or Verilator, the shipped vectors): ")] + _links(sim))
        if rtl.cocotb is not None:
            items.append([Span("cocotb test: ")] + _links([f"rtl/{f}" for f in rtl.cocotb.files]))
    for a in report.timing:
        work = getattr(a, "work_dir", None)
        if isinstance(a, PnrAnalysis) and work and not os.path.isabs(work):
            items.append([Span(f"place-and-route on {a.target}: ")] + _links([f"{work}/{f}" for f in PNR_FILES]))
    hls = report.paths.hls_project
    if hls:
        rel = hls
        items.append(
            [Span("hls4ml project (C-simulated; run the vendor tools as its README says): ")]
            + _links([f"{rel}/README.md", f"{rel}/hls4ml_config.yml", f"{rel}/firmware"])
        )
    return [Heading("Hardware files"), Bullets(items)] if items else []


def _links(paths: list[str]) -> list[Span]:
    out: list[Span] = []
    for k, p in enumerate(paths):
        if k:
            out.append(Span(", "))
        out.append(Span(p, "code"))  # relative to the firmware folder; the report may be rendered elsewhere
    return out
