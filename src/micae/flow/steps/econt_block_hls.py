"""Step ``econt_block_hls`` (``--block econt``): the ECON-T block as HLS C++ around the hls4ml encoder project.

Writes ``hls/<name>/econt_block/`` (:func:`micae.hls.econt_block.write_block_hls`: the block top that vendor
HLS synthesizes, its testbench, the vendor Tcl, every edge vector and random others as text vectors) and returns:

* ``block_csim`` -- the block's C++, its testbench and the hls4ml encoder compiled with g++ against the
  project's ap_types, run on every block vector (``--rtl-vectors``, the same vectors as ``block_rtl``): the L
  e-link words vs the Python model of the chip, as integers;
* ``block_vendor_csim``, ``block_vendor_synth`` -- Vitis HLS / Vivado HLS C simulation (on the shipped text
  vectors) and synthesis of the block top, when the tool is on PATH (``--vendor``); skipped with the reason
  otherwise.

It needs only the hls4ml project (not the RTL), so it runs beside the RTL route.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.errors import ConstraintError
from micae.flow.context import FlowContext, VectorSet
from micae.flow.steps.econt_block import SHIPPED_ROWS, BlockVectors, block_vectors_of
from micae.flow.steps.vectors import level_from_comparison
from micae.log import progress
from micae.results.levels import Comparison, LevelResult

CSIM_LEVEL = "block_csim"
VENDOR_LEVELS = ("block_vendor_csim", "block_vendor_synth")
UNIDENTIFIED = "unidentified tool (no Xilinx banner in its log; not a vendor run)"


def run(ctx: FlowContext) -> list[LevelResult]:
    if ctx.request.block == "none":
        return []
    why = _why_not(ctx)
    if why:
        return [LevelResult.skipped(level, why) for level in (CSIM_LEVEL, *VENDOR_LEVELS)]
    return _run(ctx)


def _why_not(ctx: FlowContext) -> str | None:
    from micae.flow.steps.load import is_qonnx

    if ctx.hls_refused is not None:  # no hls4ml project to call (a QONNX form hls4ml cannot read)
        return ctx.hls_refused
    if is_qonnx(ctx):
        return "the HLS block is checked around hls4ml projects of Keras encoders only (not tried on a QONNX one)"
    from micae.flow.steps.vectors import reference_name

    if reference_name(ctx) == "hgq":
        return "the HLS block is checked around hls4ml projects of QKeras encoders only (not tried on an HGQ one)"
    if ctx.encoder is None:
        return "no exact integer model of the encoder (the block's reference needs one)"
    if ctx.request.options.io_type != "io_parallel":
        return f"the HLS block calls io_parallel hls4ml projects; this one is {ctx.request.options.io_type}"
    return None


def _run(ctx: FlowContext) -> list[LevelResult]:
    from micae.hls.convert import project_name_for
    from micae.verify.econt_block_csim import block_csim

    project = project_name_for(ctx.name)
    bv = block_vectors_of(ctx)
    shipped = bv.crosscheck_rows[:SHIPPED_ROWS]
    with progress(f"econt block: write the HLS block (L = {bv.elinks}, layout {bv.layout})"):
        try:
            folder = _write(ctx, bv, project, shipped)
        except ConstraintError as exc:  # an hls4ml project the block cannot call: the RTL block still runs
            return [LevelResult.skipped(level, exc.problem) for level in (CSIM_LEVEL, *VENDOR_LEVELS)]
    vec = bv.vector_set
    comparison, seconds = block_csim(folder, project, bv.calq, bv.bx, bv.ref.words)
    csim = level_from_comparison(CSIM_LEVEL, vec, comparison, **seconds, note="g++ -O2 with hls4ml's ap_types")
    return [csim, *_vendor_levels(ctx, folder, bv, vec, shipped)]


def _write(ctx: FlowContext, bv: BlockVectors, project: str, shipped: np.ndarray) -> Path:
    from micae.hls.econt_block import write_block_hls

    return write_block_hls(
        ctx.hls_out,
        project,
        elinks=bv.elinks,
        layout=bv.layout,
        latent_type=ctx.exact_encoder.latent_type,
        part=ctx.request.options.part,
        clock_ns=ctx.request.options.clock_ns,
        vectors=(bv.calq[shipped], bv.bx[shipped], bv.ref.words[shipped]),
    )


def _vendor_levels(
    ctx: FlowContext, folder: Path, bv: BlockVectors, vec: VectorSet, rows: np.ndarray
) -> list[LevelResult]:
    from micae.hls.econt_block_vendor import read_words, run_block_vendor

    req, log = ctx.request, ctx.fw_out / "logs" / "block_vendor.log"
    with progress("econt block: vendor C simulation and synthesis of the HLS block"):
        vrun = run_block_vendor(folder, req.options.backend, req.vendor, log_path=log)
    if vrun.status != "ran":
        return [LevelResult.skipped(level, vrun.reason) for level in VENDOR_LEVELS]
    tag = "vendor" if vrun.identified else UNIDENTIFIED
    how = {"run": tag, "log": vrun.log}
    if vrun.csim_results is not None:
        got = read_words(vrun.csim_results, bv.elinks)
        expected = bv.ref.words[rows]
        if len(got) == len(expected):
            comparison = _in_full_rows(Comparison(**_compare(expected, got)), rows)
            csim = level_from_comparison(VENDOR_LEVELS[0], vec, comparison, subset="every edge vector + random", **how)
        else:
            csim = LevelResult.skipped(VENDOR_LEVELS[0], f"{len(got)} result rows for {len(expected)}", "no results")
    else:
        reason = vrun.error or "the csim step wrote no results"
        csim = LevelResult.skipped(VENDOR_LEVELS[0], reason, "no results", **how)
    return [csim, _synth_level(vrun, how)]


def _compare(expected: np.ndarray, got: np.ndarray) -> dict:
    from micae.verify.compare import compare_codes

    return compare_codes(expected, got)


def _in_full_rows(comparison: Comparison, rows: np.ndarray) -> Comparison:
    """A comparison on ``rows`` of the vectors, its row numbers mapped back to the whole vector set."""
    return comparison.model_copy(
        update={
            "mismatch_rows": [int(rows[r]) for r in comparison.mismatch_rows or []],
            "first_mismatches": [[int(rows[m[0]]), *m[1:]] for m in comparison.first_mismatches],
        }
    )


def _synth_level(vrun, how: dict) -> LevelResult:
    cs = vrun.csynth
    if cs is None:
        return LevelResult.skipped(VENDOR_LEVELS[1], vrun.error or "no csynth report", "no report", **how)
    res, lat = cs.resources, cs.latency
    note = (
        f"{cs.tool} csynth estimate on {cs.part}: LUT {res.LUT}, FF {res.FF}, DSP {res.DSP}, BRAM {res.BRAM}; "
        f"latency {lat.cycles_max} cycles, II {lat.interval}; estimated clock {cs.estimated_clock_ns} ns "
        f"(target {cs.clock_ns} ns)"
    )
    return LevelResult(level=VENDOR_LEVELS[1], status="ran", reason="", note=note, **how)
