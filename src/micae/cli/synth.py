"""``micae synth`` / scripts/synthesize.py: trained encoder -> verified HLS project, RTL and reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import quiet_tensorflow, run_cli
from micae.flow.request import DEFAULT_VECTORS, PNR_FAMILIES, RTL_MODES
from micae.flow.steps.rtl_vectors import DEFAULT_RTL_VECTORS
from micae.hls.convert import BACKENDS, IO_TYPES, STRATEGIES, HlsOptions
from micae.hls.vendor import MODES as VENDOR_MODES

SUMMARY = "convert a QKeras encoder to a bit-exact hls4ml project, verify it at every level, write RTL and reports"
DESCRIPTION = (
    "Convert a QKeras encoder into an hls4ml project (hls/<name>/) whose C++ is bit-exact with QKeras, prove it "
    "on real, random, saturation and rounding-tie vectors (integer model, C model, csim, vendor tools, RTL), and "
    "write Verilog and resource/latency reports (firmware/<name>/). Exits 1 on any mismatch."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = HlsOptions()
    p.add_argument("--model", required=True, help="training run folder (models/<name>) or a QKeras encoder .h5/.keras")
    p.add_argument("--name", help="output name (default: the run or file name)")
    p.add_argument("--input-layer", help="cut the encoder out of a larger model: its first layer (by name)")
    p.add_argument("--output-layer", help="cut the encoder out of a larger model: its latent layer (by name)")
    p.add_argument("--input-mask", help=".npy of the input shape: 0 marks input cells that never carry charge")
    p.add_argument("--backend", default=d.backend, choices=BACKENDS, help=f"hls4ml backend (default {d.backend})")
    p.add_argument("--part", default=d.part, help=f"FPGA part (default {d.part})")
    p.add_argument(
        "--clock-ns", type=float, default=d.clock_ns, help=f"target clock period in ns (default {d.clock_ns})"
    )
    p.add_argument("--io-type", default=d.io_type, choices=IO_TYPES, help=f"hls4ml I/O type (default {d.io_type})")
    p.add_argument("--strategy", default=d.strategy, choices=STRATEGIES, help=f"hls4ml strategy (default {d.strategy})")
    p.add_argument("--reuse", type=int, default=d.reuse, help=f"hls4ml reuse factor (default {d.reuse})")
    p.add_argument(
        "--vectors",
        type=int,
        default=DEFAULT_VECTORS,
        help=f"verification vectors for the integer model, C model and csim (default {DEFAULT_VECTORS})",
    )
    p.add_argument(
        "--rtl-vectors",
        type=int,
        default=None,
        help=f"vectors for the RTL level, simulated with Verilator (default {DEFAULT_RTL_VECTORS}; the "
        "main set first, then more random, tie and saturation vectors)",
    )
    p.add_argument("--data", help=".npy/.npz (key x) of real inputs for a model file; default: the run's test split")
    p.add_argument(
        "--vendor",
        default="auto",
        choices=VENDOR_MODES,
        help="vendor HLS flow: auto runs it when vitis_hls/vitis-run/vivado_hls is on PATH (default auto)",
    )
    p.add_argument(
        "--rtl",
        default="auto",
        choices=RTL_MODES,
        help="open-source RTL route (da4ml Verilog, simulation, yosys): auto runs it when the encoder "
        "fits and the tools exist, on stops when it cannot (default auto)",
    )
    p.add_argument(
        "--latency-cutoff",
        type=float,
        default=None,
        help="RTL route: most adder levels between two pipeline registers (default: from --clock-ns)",
    )
    p.add_argument(
        "--allow-inexact",
        action="store_true",
        help="convert models with constructs that cannot be bit-exact; report the mismatches instead",
    )
    p.add_argument(
        "--pnr",
        default="off",
        choices=PNR_FAMILIES,
        help="open place-and-route of the RTL with nextpnr (nexus: LIFCL-40-9BG400C, ecp5: LFE5U-85F-6); also "
        "pipelines for that family's delay model (default off: logic-only STA, a lower bound)",
    )
    p.add_argument("--pnr-device", help="nextpnr device (default: the family's, e.g. LIFCL-40-9BG400C)")
    p.add_argument("--pnr-seed", type=int, default=1, help="nextpnr placer seed (default 1)")
    p.add_argument(
        "--close-timing",
        type=int,
        default=1,
        metavar="N",
        help="timing closure: when place-and-route misses the clock, correct the delay model to the measured "
        "period, cut the pipeline again and place and route again, at most N times (default 1; 0: off). "
        "Only for RTL cut by the family's delay model (--pnr without --latency-cutoff). The cut that ships "
        "(and that the RTL levels verify) is the first that met the clock, else the fastest",
    )
    p.add_argument(
        "--require-timing",
        action="store_true",
        help="exit 4 when place-and-route (or Vivado) does not meet --clock-ns; the reports are written first",
    )
    p.add_argument("--hls-root", default="hls", help="folder for hls4ml projects (default hls)")
    p.add_argument("--firmware-root", default="firmware", help="folder for firmware outputs (default firmware)")
    p.add_argument("--seed", type=int, default=0, help="seed for the random/tie/saturation vectors")
    p.add_argument("--force", action="store_true", help="replace existing hls/<name> and firmware/<name>")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def request_from_args(a: argparse.Namespace):
    from micae.flow.request import SynthRequest

    return SynthRequest(
        model=Path(a.model),
        name=a.name,
        hls_root=Path(a.hls_root),
        firmware_root=Path(a.firmware_root),
        options=HlsOptions(
            backend=a.backend, part=a.part, clock_ns=a.clock_ns, io_type=a.io_type, strategy=a.strategy, reuse=a.reuse
        ),
        vectors=a.vectors,
        rtl_vectors=a.rtl_vectors,
        data=Path(a.data) if a.data else None,
        vendor=a.vendor,
        rtl=a.rtl,
        latency_cutoff=a.latency_cutoff,
        allow_inexact=a.allow_inexact,
        force=a.force,
        seed=a.seed,
        input_layer=a.input_layer,
        output_layer=a.output_layer,
        input_mask=Path(a.input_mask) if a.input_mask else None,
        pnr=a.pnr,
        pnr_device=a.pnr_device,
        pnr_seed=a.pnr_seed,
        close_timing=a.close_timing,
        require_timing=a.require_timing,
    )


def run(a: argparse.Namespace) -> int:
    quiet_tensorflow()
    from micae.flow import synthesize
    from micae.report.summary import console_summary

    print(console_summary(synthesize(request_from_args(a))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="synthesize.py", description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def entry() -> int:
    return run_cli(main)
