"""micae-synth / scripts/synthesize.py: trained encoder -> verified HLS project, RTL and reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import quiet_tensorflow, run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="synthesize.py",
        description="Convert a QKeras encoder into an hls4ml project (hls/<name>/) whose C++ is bit-exact with "
        "QKeras, prove it on real, random, saturation and rounding-tie vectors (C model, csim, vendor tools, RTL), "
        "and write Verilog and resource/latency reports (firmware/<name>/). Exits 1 on any mismatch.",
    )
    p.add_argument("--model", required=True, help="training run folder (models/<name>) or a QKeras encoder .h5/.keras")
    p.add_argument("--name", help="output name (default: the run or file name)")
    p.add_argument("--backend", default="Vitis", choices=["Vitis", "Vivado"], help="hls4ml backend (default Vitis)")
    p.add_argument("--part", default="xcvu9p-flga2104-2L-e", help="FPGA part (default xcvu9p-flga2104-2L-e)")
    p.add_argument("--clock-ns", type=float, default=5.0, help="target clock period in ns (default 5.0 = 200 MHz)")
    p.add_argument("--io-type", default="io_parallel", choices=["io_parallel", "io_stream"], help="hls4ml I/O type")
    p.add_argument("--strategy", default="Latency", choices=["Latency", "Resource"], help="hls4ml strategy")
    p.add_argument("--reuse", type=int, default=1, help="hls4ml reuse factor (default 1)")
    p.add_argument("--vectors", type=int, default=10000, help="number of verification vectors (default 10000)")
    p.add_argument("--data", help=".npy/.npz (key x) of real inputs for a model file; default: the run's test split")
    p.add_argument(
        "--vendor",
        default="auto",
        choices=["auto", "off", "require"],
        help="vendor HLS flow: auto runs it when vitis_hls/vitis-run/vivado_hls is on PATH (default)",
    )
    p.add_argument(
        "--rtl",
        default="auto",
        choices=["auto", "on", "off"],
        help="open-source RTL route (da4ml Verilog, Icarus simulation, yosys): auto runs it when the encoder fits",
    )
    p.add_argument(
        "--latency-cutoff",
        type=float,
        default=None,
        help="RTL route: most adder levels between two pipeline registers (default: derived from --clock-ns)",
    )
    p.add_argument(
        "--allow-inexact",
        action="store_true",
        help="convert models with constructs that cannot be bit-exact; report the mismatches instead of refusing",
    )
    p.add_argument("--hls-root", default="hls", help="folder for hls4ml projects (default hls)")
    p.add_argument("--firmware-root", default="firmware", help="folder for firmware outputs (default firmware)")
    p.add_argument("--seed", type=int, default=0, help="seed for the random/tie/saturation vectors")
    p.add_argument("--force", action="store_true", help="replace existing hls/<name> and firmware/<name>")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def summary(report: dict) -> str:
    lines = [f"{'level':<14}{'vectors':>9}{'mismatches':>12}{'max LSB err':>13}"]
    for level, v in report["verification"].items():
        if "vectors" in v:
            lines.append(f"{level:<14}{v['vectors']:>9}{v['mismatches']:>12}{v.get('max_abs_lsb_error', '-'):>13}")
        else:
            lines.append(f"{level:<14}{'skipped':>9}  {v.get('reason', v.get('status', ''))}")
    for r in report.get("routes", []):
        res, lat = r.get("resources") or {}, r.get("latency") or {}
        lines.append(
            f"{r['route']} [{r['kind']}]: LUT {res.get('LUT')} FF {res.get('FF')} DSP {res.get('DSP')} "
            f"BRAM {res.get('BRAM')}, latency {lat.get('cycles_max')} cycles"
        )
    lines.append(f"report: {report['paths']['firmware']}/report.json")
    html = Path(report["paths"]["firmware"]) / "report.html"
    if html.exists():
        lines.append(str(html))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    quiet_tensorflow()
    from micae.hls.convert import HlsOptions
    from micae.synthesize import SynthRequest, synthesize

    req = SynthRequest(
        model=Path(a.model),
        name=a.name,
        hls_root=Path(a.hls_root),
        firmware_root=Path(a.firmware_root),
        options=HlsOptions(
            backend=a.backend, part=a.part, clock_ns=a.clock_ns, io_type=a.io_type, strategy=a.strategy, reuse=a.reuse
        ),
        vectors=a.vectors,
        data=Path(a.data) if a.data else None,
        vendor=a.vendor,
        rtl=a.rtl,
        latency_cutoff=a.latency_cutoff,
        allow_inexact=a.allow_inexact,
        force=a.force,
        seed=a.seed,
    )
    report = synthesize(req)
    print(summary(report))
    return 0


def entry() -> int:
    return run_cli(main)


if __name__ == "__main__":
    raise SystemExit(entry())
