"""The report's "ECON-T block" section (``--block econt``): the block's cost and timing beside the encoder alone,
and one wafer through it, its e-link words with the fields marked."""

from __future__ import annotations

from micae.report.blocks import Bullets, Code, Span, Table, note, num
from micae.results.econt_block import EcontBlockSection, FrameExample
from micae.results.hardware import LOGIC_STA, OPEN_SOURCE, PNR
from micae.results.report import SynthReport


def econt_block(report: SynthReport) -> list:
    block = report.econt_block
    if block is None:
        return []
    return [
        note(
            f"The encoder wrapped into the chip's autoencoder block at L = {block.elinks} e-links "
            f"({block.elinks_from}): 48 CALQ (22 bits) and the BX in; normaliser, encoder, latents cut to "
            f"{block.latent_bits} bits, 5E4M module sum, BX_CNT; {block.elinks} x 32-bit words out per bunch crossing. "
            f"Inputs in layout {block.layout} ({block.layout_from}). RTL: econt_block in {block.folder}/."
            + _hls_note(report),
            tone="",
        ),
        _levels_table(report),
        _cost_table(report, block),
        note(
            "Resources: yosys synth_xilinx on the Xilinx part (stages kept as modules). Logic-only STA: cell delays "
            "without routing, a lower bound. Place-and-route: nextpnr on the Lattice device, behind micae's pin "
            "wrapper (whose flip-flops are counted apart)."
        ),
        *_example(block.example, block.elinks),
        Bullets([[Span(n)] for n in block.notes]),
    ]


BLOCK_LEVELS = {
    "block_integer_model": "the encoder's integer latents on the block's normalised inputs vs QKeras'",
    "block_csim": "the block's HLS C++ (g++ with hls4ml's ap_types): L words vs the Python model of the chip",
    "block_rtl": "Verilator, the block's RTL: L words vs the Python model of the chip",
    "block_rtl_crosscheck": "Icarus, the block's RTL",
    "block_vendor_csim": "vendor C simulation of the HLS block (its shipped text vectors)",
    "block_vendor_synth": "vendor C synthesis of the HLS block",
}


def _hls_note(report: SynthReport) -> str:
    level = report.verification.get("block_csim")
    if level is None:
        return ""
    if not level.compared:
        return f" No HLS C++ block: {level.reason}."
    return (
        " HLS C++ (a top vendor HLS synthesizes, II = 1, around the hls4ml encoder): econt_block/ in the HLS project."
    )


def _levels_table(report: SynthReport) -> Table:
    """Every block level, compared or not (a skipped one with its reason)."""
    rows = []
    for name, what in BLOCK_LEVELS.items():
        level = report.verification.get(name)
        if level is None:
            continue
        if level.compared:
            result = f"{num(level.mismatch_count)} mismatches / {num(level.vectors)} vectors"
            if level.subset:
                result += f" ({level.subset})"
        else:
            result = f"{level.state}: {level.reason or ''}".rstrip(": ")
        rows.append([name, what, result + (f"; {level.note}" if name == "block_vendor_synth" and level.note else "")])
    return Table(["level", "what", "result"], rows)


def _encoder_figures(report: SynthReport) -> dict:
    route = next((r for r in report.routes if r.kind == OPEN_SOURCE), None)
    res = route.resources if route else None
    sta = next((t for t in report.timing if t.kind == LOGIC_STA), None)
    pnr = next((t for t in report.timing if t.kind == PNR), None)
    cycles = report.rtl.latency_cycles if report.rtl else None
    return {"res": res, "sta": sta, "pnr": pnr, "cycles": cycles}


def _row(label: str, res, cycles, sta, pnr) -> list[str]:
    return [
        label,
        num(res.LUT) if res else "-",
        num(res.FF) if res else "-",
        num(res.CARRY) if res else "-",
        num(cycles) if cycles is not None else "-",
        f"{num(sta.fmax_mhz)} MHz" if sta and sta.fmax_mhz else "-",
        f"{num(pnr.fmax_mhz)} MHz ({'met' if pnr.met else 'missed'}, {pnr.target})" if pnr and pnr.fmax_mhz else "-",
    ]


def _cost_table(report: SynthReport, block: EcontBlockSection) -> Table:
    enc = _encoder_figures(report)
    rows = [
        _row("encoder alone", enc["res"], enc["cycles"], enc["sta"], enc["pnr"]),
        _row("ECON-T block", block.resources, block.latency_cycles, block.logic_sta, block.pnr),
    ]
    if enc["res"] is not None and block.resources is not None:
        a, b = enc["res"], block.resources
        rows.append(
            [
                "normaliser + output stage (difference)",
                num((b.LUT or 0) - (a.LUT or 0)),
                num((b.FF or 0) - (a.FF or 0)),
                num((b.CARRY or 0) - (a.CARRY or 0)),
                num(block.latency_cycles - block.encoder_latency_cycles),
                "",
                "",
            ]
        )
    head = ["design", "LUT", "FF", "CARRY", "cycles", "Fmax, logic-only STA (lower bound)", "Fmax, place-and-route"]
    return Table(head, rows, numeric={1, 2, 3, 4})


def _example(ex: FrameExample, elinks: int) -> list:
    calq = ", ".join(str(v) for v in ex.calq)
    lines = [
        f"row {ex.row} ({ex.source}), BX {ex.bx}",
        f"CALQ_0..47: {calq}",
        f"module sum {ex.module_sum}, msb {ex.msb}; 8-bit inputs (raw / 128): {', '.join(str(v) for v in ex.raw)}",
        f"encoder latents (codes): {', '.join(str(v) for v in ex.latents)}",
    ]
    words = "  ".join(f"e-link {k}: 0x{w:08x}" for k, w in enumerate(ex.words))
    fields = Table(
        ["field", "bits", "value", "binary"],
        [[f.name, str(f.width), str(f.value), format(f.value, f"0{f.width}b")] for f in ex.fields],
        numeric={1, 2},
    )
    return [
        Code("\n".join(lines), title="Example frame: one wafer in"),
        Code(words, title=f"The {elinks} e-link words out (MSB first: BX_CNT | SUM | spare | OUT_15 .. OUT_0)"),
        fields,
    ]
