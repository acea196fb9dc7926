"""report.json's ``econt_block`` section: the ECON-T autoencoder block around the encoder (``--block econt``,
:mod:`micae.flow.steps.econt_block`): its RTL, cost and timing beside the encoder's, and one example frame."""

from __future__ import annotations

from micae.results.base import Maybe, ResultModel
from micae.results.hardware import LogicStaAnalysis, PnrAnalysis, Resources


class FrameField(ResultModel):
    name: str
    value: int
    width: int


class FrameExample(ResultModel):
    """One wafer through the block: its CALQ in, the normaliser's numbers, the L e-link words out with their fields."""

    row: int
    source: str
    """which vector source the row came from (real file rows, edge cases, random)"""
    bx: int
    calq: list[int]
    module_sum: int
    msb: int
    raw: list[int]
    """the 8-bit encoder inputs (value raw / 128), CALQ order"""
    latents: list[int]
    fields: list[FrameField]
    """transmission order, padding included"""
    words: list[int]
    """e-link 0 .. L-1, 32 bits each"""


class EcontBlockSection(ResultModel):
    """The block's RTL (``firmware/<name>/econt_block``) and what it costs beside the encoder alone."""

    folder: str
    top: str
    harness: str
    elinks: int
    elinks_from: str
    latent_bits: int
    layout: str
    layout_from: str
    latency_cycles: int
    encoder_latency_cycles: int
    clock_ns: float
    vectors: int
    sources: dict[str, int]
    resources: Maybe[Resources] = None
    logic_sta: Maybe[LogicStaAnalysis] = None
    pnr: Maybe[PnrAnalysis] = None
    example: FrameExample
    notes: list[str] = []
