"""The ECON-T autoencoder block (issue 22) at L = 2..5: 10^6 RTL vectors, Icarus cross-check, resources, timing.

For each run folder (a chip encoder trained at L e-links, e.g. /tmp/real/runs/econt_real_L2 .. _L5):

1. the encoder's exact integer model (micae's guard) and its da4ml RTL at ``--clock-ns``;
2. vectors (:func:`micae.econt.block_vectors.block_vectors`): the edge sources (empty wafers, every msb 0..21,
   sums 2^k - 1 and 2^k, single lit cells, CALQ at 2^22 - 1), the real rows of ``--csv`` (read with micae's
   econt-csv loader, all rows, zero-sum ones kept), random wafers to ``--vectors``;
3. levels, every one compared as integers (``--hls-only``: the first two only):
   * ``integer model`` -- the encoder's integer latents on the block's normalised inputs vs QKeras' latents on
     the same inputs (raw / 128 in the run's layout);
   * ``block_csim`` -- the block's HLS C++ around the encoder's hls4ml project (g++, hls4ml's ap_types), every
     vector, the L e-link words vs the Python reference;
   * ``rtl`` -- Verilator, every vector, the L e-link words vs the Python reference (micae.econt.block);
   * ``rtl_crosscheck`` -- Icarus on the edge sources and random others (``--icarus`` rows);
4. resources and timing: yosys ``synth_xilinx`` on ``--part`` with the per-stage logic-only STA (a lower bound:
   cell delays, no routing) for the encoder alone and the block; with ``--pnr nexus|ecp5`` nextpnr
   place-and-route of both (behind micae's six-pin wrapper).

Usage: python bench/econt_block.py RUN_DIR [RUN_DIR ...] [--vectors 1000000] [--pnr nexus] [--json out.json]
       [--hls-only]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from micae.data.econt_csv import load_econt_csv
from micae.econt.block import FrameLayout
from micae.econt.block_vectors import block_vectors
from micae.flow.steps.vectors import qkeras_latents
from micae.graph.mask import run_input_mask
from micae.models.extract import inspect_encoder, shared_encoder
from micae.models.io import load_model
from micae.rtl.build import write_rtl
from micae.rtl.econt_block import sim_inputs, write_block_rtl
from micae.rtl.sta import logic_sta_and_resources
from micae.train.econt_config import run_elinks
from micae.verify.compare import values_to_codes
from micae.verify.econt_block import reference, simulate_block

SHARED_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "econt-public" / "ttbar_0PU.csv"


def _layout(run: Path) -> str:
    import yaml

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    return str(cfg["dataset"]["layout"])


def _integer_level(keras_model, encoder, layout: str, raw: np.ndarray, latents: np.ndarray) -> dict:
    from micae.data.geometry import arrange

    x = arrange(raw / 128.0, layout).astype(np.float32)
    q = values_to_codes(qkeras_latents(keras_model, x), encoder.latent_type.frac)
    bad = np.any(q != latents, axis=1)
    return {"vectors": len(raw), "mismatches": int(bad.sum())}


def _sta(folder: Path, top: str, part: str, clock_ns: float) -> dict:
    sta, res = logic_sta_and_resources(folder, top, part, clock_ns)
    return {
        "LUT": res.LUT,
        "FF": res.FF,
        "CARRY": res.CARRY,
        "SRL": sum(n for c, n in res.cells.items() if c.startswith("SRL")),
        "logic_sta_fmax_mhz": sta.fmax_mhz,
        "logic_sta_stage_ns": sta.stage_delays_ns,
        "logic_sta_critical": sta.critical_path,
        "yosys_seconds": sta.seconds,
    }


def _pnr(folder: Path, top: str, family: str, clock_ns: float, work: Path) -> dict:
    from micae.rtl.pnr import place_and_route

    entry = place_and_route(folder, top, family=family, clock_ns=clock_ns, seed=1, work_dir=work)
    res = entry.resources
    return {
        "pnr_fmax_mhz": entry.fmax_mhz,
        "pnr_met": entry.met,
        "pnr_device": entry.target,
        "pnr_LUT": getattr(res, "LUT", None),
        "pnr_FF_without_wrapper": getattr(res, "FF", 0) - (entry.wrapper_ff or 0) if res else None,
        "pnr_seconds": entry.seconds,
    }


def _hls_block(keras_model, encoder, layout: str, elinks: int, calq, bx, words, args, work: Path) -> dict:
    """The block's HLS C++ around the hls4ml project of the encoder: g++, every vector (level block_csim)."""
    from micae.hls.convert import HlsOptions, convert
    from micae.hls.econt_block import write_block_hls
    from micae.verify.econt_block_csim import block_csim

    t0 = time.monotonic()
    convert(keras_model, encoder, work / "hls", "enc", HlsOptions(part=args.part, clock_ns=args.clock_ns))
    folder = write_block_hls(
        work / "hls",
        "enc",
        elinks=elinks,
        layout=layout,
        latent_type=encoder.latent_type,
        part=args.part,
        clock_ns=args.clock_ns,
    )
    convert_s = time.monotonic() - t0
    comparison, seconds = block_csim(folder, "enc", calq, bx, words)
    return {
        "vectors": comparison.vectors,
        "mismatches": comparison.mismatches,
        "hls4ml_s": round(convert_s, 1),
        **seconds,
    }


def bench_run(run: Path, args, real: np.ndarray | None, work: Path) -> dict:
    t0 = time.monotonic()
    keras_model = shared_encoder(load_model(run / "encoder.h5"))
    shape = tuple(int(v) for v in keras_model.input_shape[1:])
    guard = inspect_encoder(keras_model, name="enc", input_mask=run_input_mask(run, shape))
    encoder, layout, elinks = guard.encoder, _layout(run), args.elinks or run_elinks(run)
    if not args.hls_only:
        write_rtl(encoder, work / "enc", clock_ns=args.clock_ns)
    calq, bx, slices = block_vectors(args.vectors, seed=0, real=real)
    t1 = time.monotonic()
    ref = reference(encoder, layout, calq, bx, elinks)
    ref_s = time.monotonic() - t1
    integer = _integer_level(keras_model, encoder, layout, ref.raw, ref.latents)
    hls = _hls_block(keras_model, encoder, layout, elinks, calq, bx, ref.words, args, work)
    if args.hls_only:
        return {"run": str(run), "elinks": elinks, "vectors": len(calq), "integer_model": integer, "block_csim": hls}
    edge = slices["calq_22_bit_limit"].stop
    rng = np.random.default_rng(1)
    rows = np.sort(np.concatenate([np.arange(edge), rng.choice(np.arange(edge, len(calq)), args.icarus - edge, False)]))
    manifest = write_block_rtl(
        work / "enc",
        work / "block",
        elinks=elinks,
        layout=layout,
        vectors_in=sim_inputs(calq[rows], bx[rows]),
        vectors_out=ref.words[rows],
    )
    ver = simulate_block(work / "block", calq, bx, ref.words)
    ica = simulate_block(work / "block", calq[rows], bx[rows], ref.words[rows], simulator="icarus")
    out = {
        "run": str(run),
        "elinks": elinks,
        "layout": layout,
        "latent_bits": FrameLayout.of(elinks).latent_bits,
        "encoder_latent": encoder.latent_type.describe(),
        "vectors": len(calq),
        "sources": {k: s.stop - s.start for k, s in slices.items()},
        "reference_seconds": round(ref_s, 2),
        "integer_model": integer,
        "rtl_verilator": {
            "vectors": ver.vectors,
            "mismatches": ver.mismatches,
            "build_s": ver.build_seconds,
            "run_s": ver.run_seconds,
        },
        "rtl_icarus": {"vectors": ica.vectors, "mismatches": ica.mismatches, "seconds": ica.seconds},
        "block_csim": hls,
        "cycles": {"block": manifest.latency_cycles, "encoder": manifest.latency_cycles - 6},
        "encoder": _sta(work / "enc", "enc", args.part, args.clock_ns),
        "block": _sta(work / "block", "econt_block", args.part, args.clock_ns),
    }
    if args.pnr != "off":
        out["encoder"].update(_pnr(work / "enc", "enc", args.pnr, args.clock_ns, work / "pnr_enc"))
        out["block"].update(_pnr(work / "block", manifest.top, args.pnr, args.clock_ns, work / "pnr_block"))
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--vectors", type=int, default=1_000_000)
    ap.add_argument("--icarus", type=int, default=2000)
    ap.add_argument("--elinks", type=int, default=None, help="default: the run's econt.elinks")
    ap.add_argument("--clock-ns", type=float, default=10.0)
    ap.add_argument("--part", default="xcvu9p-flga2104-2L-e")
    ap.add_argument("--pnr", default="off", choices=("off", "nexus", "ecp5"))
    ap.add_argument("--csv", type=Path, default=SHARED_CSV)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--hls-only", action="store_true", help="only the integer model and the HLS block (no RTL)")
    args = ap.parse_args(argv)
    real = load_econt_csv(args.csv, keep_zero_rows=True)[0].astype(np.int64) if args.csv.is_file() else None
    results = []
    for run in args.runs:
        with tempfile.TemporaryDirectory(prefix="micae_block_bench_") as tmp:
            res = bench_run(run, args, real, Path(tmp))
        print(json.dumps(res), flush=True)
        results.append(res)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
