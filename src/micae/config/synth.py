"""The options of ``micae synth``: one list, from which the CLI, a run YAML's ``synth:`` block, a sweep's
``synth:`` keys and report.json's ``options`` are all made.

Adding an option is one field here (type, default, docstring = its help); ``Cli(group=...)`` puts it in a block
of ``micae synth --help``. The flow reads it as ``request.<field>`` (``request.options.<field>`` for the hls4ml
ones, :class:`HlsOptions`).

Two vendors: ``part`` is a Xilinx part (the hls4ml project, yosys ``synth_xilinx`` resources, logic-only STA,
Vivado), ``pnr`` places and routes on a Lattice FPGA (nextpnr: Nexus LIFCL-40 or ECP5). Their figures describe
different devices, and the report names the device of each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import model_validator

from micae.config.base import Schema
from micae.config.types import Choice, Cli, Flag, Integer, Number, Text
from micae.errors import ConfigError

BACKENDS = ("Vitis", "Vivado")
DEFAULT_PART = "xcvu9p-flga2104-2L-e"
"""The one default FPGA part (hls4ml project, yosys resources, logic STA)."""
IO_TYPES = ("io_parallel", "io_stream")
STRATEGIES = ("Latency", "Resource")
VENDOR_MODES = ("auto", "off", "require")
RTL_MODES = ("auto", "on", "off")
PNR_FAMILIES = ("off", "nexus", "ecp5")
BLOCKS = ("none", "econt")
PNR_DEVICES = {"nexus": "LIFCL-40-9BG400C", "ecp5": "LFE5U-85F-6"}
"""The Lattice part each place-and-route family targets unless ``pnr_device`` names another."""
DEFAULT_VECTORS = 10_000
DEFAULT_RTL_VECTORS = 1_000_000

GROUPS = {
    "model cut": "which encoder to convert, and which part of a larger model",
    "hls4ml": "the hls4ml project (Xilinx: --part is a Xilinx part)",
    "verification": "vectors and levels that prove the conversion bit-exact",
    "RTL": "micae's open-source RTL route (da4ml Verilog, Verilator/Icarus, yosys)",
    "timing": "the clock, the pipeline cut and place-and-route (Lattice: --pnr)",
    "outputs": "where the results go",
}
"""The blocks of ``micae synth --help``, in order, with the line under each title."""


class HlsOptions(Schema):
    """What hls4ml is asked for (``micae.hls.convert``)."""

    model_config = {**Schema.model_config, "frozen": True}

    backend: Annotated[Choice(*BACKENDS, ignore_case=True), Cli(group="hls4ml")] = "Vitis"
    """hls4ml backend, any case as in hls4ml"""
    part: Annotated[Text(), Cli(group="hls4ml")] = DEFAULT_PART
    """Xilinx FPGA part of the hls4ml project, of yosys synth_xilinx resources and logic-only STA, and of Vivado
    (the place-and-route of --pnr targets a Lattice part instead)"""
    clock_ns: Annotated[Number(gt=0), Cli(group="timing")] = 5.0
    """target clock period in ns (hls4ml, the pipeline cut of the RTL, every timing analysis)"""
    io_type: Annotated[Choice(*IO_TYPES), Cli(group="hls4ml")] = "io_parallel"
    """hls4ml I/O type"""
    strategy: Annotated[Choice(*STRATEGIES, ignore_case=True), Cli(group="hls4ml")] = "Latency"
    """hls4ml strategy"""
    reuse: Annotated[Integer(ge=1), Cli(group="hls4ml")] = 1
    """hls4ml reuse factor"""

    def validate(self) -> None:  # type: ignore[override]  # noqa: D102 (kept for callers: values checked when made)
        return None

    def hls(self) -> HlsOptions:
        """Only the hls4ml options."""
        return HlsOptions(**{k: getattr(self, k) for k in HlsOptions.model_fields})


class SynthOptions(HlsOptions):
    """Every setting of one synthesize run (not where it reads or writes: :class:`~micae.flow.request.SynthRequest`)."""

    input_layer: Annotated[Text(null=True), Cli(group="model cut")] = None
    """cut the encoder out of a larger model: its first layer (by name; none: the model's input)"""
    output_layer: Annotated[Text(null=True), Cli(group="model cut")] = None
    """cut the encoder out of a larger model: its latent layer (by name; none: the last quantizer before a join,
    else the output)"""
    input_mask: Annotated[Path | None, Cli(group="model cut", metavar="MASK.npy")] = None
    """.npy of the input shape: 0 marks input cells that never carry charge"""
    input_int_bits: Annotated[Integer(ge=-16, le=32, null=True), Cli(group="model cut", metavar="I")] = None
    """HGQ encoders: integer bits of the input, sign not counted (HGQ's HQuantize rounds but never saturates, so
    the file does not hold the input's range; its fractional bits are the trained ones)"""
    input_signed: Annotated[Flag, Cli(group="model cut")] = False
    """HGQ encoders: the input may be negative (a sign bit beside --input-int-bits)"""
    vectors: Annotated[Integer(ge=1), Cli(group="verification")] = DEFAULT_VECTORS
    """verification vectors for the integer model, C model and csim"""
    rtl_vectors: Annotated[Integer(ge=1, null=True), Cli(group="verification")] = None
    """vectors for the RTL level, simulated with Verilator (none: 10^6; the main set first, then more random, tie
    and saturation vectors; never fewer than the main set)"""
    data: Annotated[Path | None, Cli(group="verification", metavar="X.npy")] = None
    """.npy/.npz (key x) of real inputs for a model file (none: the run's test split)"""
    seed: Annotated[Integer(ge=0), Cli(group="verification")] = 0
    """seed of the random, tie and saturation vectors"""
    allow_inexact: Annotated[Flag, Cli(group="verification")] = False
    """convert models with constructs that cannot be bit-exact; report the mismatches instead"""
    fold_batchnorm: Annotated[Flag, Cli(group="verification")] = False
    """fold a BatchNormalization/QBatchNormalization that cannot be bit-exact into the conv/dense before it (its
    scale and offset rounded onto that layer's weight and bias grids) and report the mismatches it causes"""
    vendor: Annotated[Choice(*VENDOR_MODES, off_on=True), Cli(group="verification")] = "auto"
    """vendor HLS flow: auto runs it when vitis_hls/vitis-run/vivado_hls is on PATH"""
    rtl: Annotated[Choice(*RTL_MODES, off_on=True), Cli(group="RTL")] = "auto"
    """open-source RTL route (da4ml Verilog, simulation, yosys): auto runs it when the encoder fits and the tools
    exist, on stops when it cannot"""
    block: Annotated[Choice(*BLOCKS), Cli(group="RTL")] = "none"
    """wrap the encoder into a chip block: econt = the ECON-T autoencoder block (48 CALQ of 22 bits and the BX in;
    normaliser, encoder, latent cut, 5E4M sum, BX_CNT; L x 32-bit e-link words out), verified against micae's
    Python model of the chip on the RTL vectors"""
    elinks: Annotated[Integer(ge=1, le=13, null=True), Cli(group="RTL")] = None
    """--block econt: output e-links L of the frame (none: the run's econt.elinks)"""
    latency_cutoff: Annotated[Number(gt=0, null=True), Cli(group="RTL")] = None
    """RTL route: most adder levels between two pipeline registers (none: from clock_ns)"""
    pnr: Annotated[Choice(*PNR_FAMILIES, off_on=True), Cli(group="timing")] = "off"
    """open place-and-route of the RTL with nextpnr on a Lattice part (nexus: LIFCL-40-9BG400C, ecp5:
    LFE5U-85F-6), also pipelined for that family's delay model; off: logic-only STA on the Xilinx part, a lower
    bound"""
    pnr_device: Annotated[Text(null=True), Cli(group="timing")] = None
    """nextpnr device, a Lattice part (none: the family's, LIFCL-40-9BG400C or LFE5U-85F-6)"""
    pnr_seed: Annotated[Integer(ge=0), Cli(group="timing")] = 1
    """nextpnr placer seed"""
    close_timing: Annotated[Integer(ge=0), Cli(group="timing", metavar="N")] = 1
    """timing closure: when place-and-route misses the clock, correct the delay model to the measured period, cut
    the pipeline again and place and route again, at most N times (0: off). Only for RTL cut by the family's
    delay model (pnr without latency_cutoff). The cut that ships (and that the RTL levels verify) is the first
    that met the clock, else the fastest"""
    require_timing: Annotated[Flag, Cli(group="timing")] = False
    """exit 4 when place-and-route (or Vivado) does not meet clock_ns; the reports are written first"""

    @model_validator(mode="before")
    @classmethod
    def _paths(cls, data: Any) -> Any:
        """Paths from YAML are text; an empty one means none."""
        if isinstance(data, dict):
            for key in ("input_mask", "data"):
                if data.get(key) == "":
                    data = {**data, key: None}
        return data

    def check(self, where: str = "") -> None:
        """The rules between options (each value alone was checked when the options were made)."""
        if self.require_timing and self.pnr == "off" and self.rtl != "off":
            raise ConfigError(
                f"{where}require_timing = True: --require-timing needs a timing analysis that includes routing, "
                "and pnr is 'off'",
                "add --pnr nexus (or ecp5; pnr: nexus in YAML); a Vivado run counts too when vivado is on PATH",
            )

        if self.block != "none" and self.rtl == "off":
            raise ConfigError(
                f"{where}block = {self.block!r} wraps the encoder's RTL, and rtl is 'off'",
                "drop --rtl off (or --block)",
            )

    def pnr_part(self) -> str | None:
        """The Lattice part place-and-route targets, or None without place-and-route."""
        return None if self.pnr == "off" else (self.pnr_device or PNR_DEVICES[self.pnr])

    def devices_note(self) -> str:
        """Which device each figure of a run describes (two vendors: say so)."""
        xilinx = f"resources and logic-only STA: yosys synth_xilinx on the Xilinx {self.part}"
        if self.pnr == "off":
            return f"{xilinx}; no place-and-route (pnr off)"
        return f"{xilinx}; place-and-route timing: nextpnr on the Lattice {self.pnr_part()} (pnr {self.pnr})"


def option_fields() -> list[str]:
    return list(SynthOptions.model_fields)
