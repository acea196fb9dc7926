"""An HGQ encoder at 10^6 RTL vectors: micae's integer model and RTL against HGQ's own predict, as integers.

The HGQ encoder of ``tests/hgq_models.py`` (4x4x3 -> HQuantize -> HConv2D 4x3x3 s2 relu -> PFlatten -> HDense 16,
random weights, per-weight kernel bits 1..5 and per-element activation bits drawn at random, seed 5), saved as .h5,
then ``micae synth --input-int-bits 2``. First the integer model is compared with HGQ's predict on the whole
10^6-vector set, then the flow runs every level it builds (integer model, Verilator, Icarus, yosys).

    PYTHONPATH=src:. cpu-slot .venv/bin/python bench/hgq_encoder.py --out /tmp/hgq_bench [--rtl-vectors 1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from qonnx_encoder import timed_synth  # noqa: E402  (the same synth of a model file at every level)


def _integer_model_vs_hgq(model, n: int, int_bits: int) -> dict:
    """The integer model against HGQ's predict on ``n`` vectors (micae's vector set, seed 1)."""

    from micae.graph.hgq_front import read_hgq
    from micae.verify.vectors import build_vector_set

    encoder, problems, _ = read_hgq(model, "hgq_enc", input_int_bits=int_bits)
    assert not problems, problems
    codes, slices = build_vector_set(encoder, n, seed=1)
    x = encoder.input_type.to_float(codes).reshape(-1, *encoder.input_shape)
    started = time.time()
    expected = encoder.latent_type.to_int(model.predict(x, batch_size=8192, verbose=0))
    t_hgq = time.time() - started
    started = time.time()
    got = encoder.latents(codes)
    t_micae = time.time() - started
    diff = int((expected != got).any(axis=1).sum())
    print(f"{n} vectors: integer model vs HGQ predict differ on {diff} rows (HGQ {t_hgq:.1f} s, micae {t_micae:.1f} s)")
    return {
        "vectors": n,
        "rows_differing": diff,
        "sources": {k: s.stop - s.start for k, s in slices.items()},
        "hgq_seconds": round(t_hgq, 1),
        "micae_seconds": round(t_micae, 1),
        "input_type": encoder.input_type.to_dict(),
        "latent_type": encoder.latent_type.to_dict(),
        "stages": [s.summary() for s in encoder.stages],
    }


def main() -> None:
    from tests import hgq_models as hm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rtl-vectors", type=int, default=1_000_000)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = hm.encoder(seed=5)
    path = args.out / "hgq_enc.h5"
    model.save(str(path))
    result = {"integer_model_vs_hgq": _integer_model_vs_hgq(model, args.rtl_vectors, hm.INPUT_INT_BITS)}
    report, seconds = timed_synth(path, "hgq_enc", args.out, args.rtl_vectors, input_int_bits=hm.INPUT_INT_BITS)
    levels = {
        k: {f: v.get(f) for f in ("vectors", "mismatches", "max_abs_lsb_error", "status", "reason")}
        for k, v in report["verification"].items()
    }
    result["synth"] = {
        "seconds": round(seconds, 1),
        "levels": levels,
        "resources": report.get("resources"),
        "timing": report.get("timing"),
    }
    print(f"synth {seconds:.1f} s", json.dumps(levels))
    (args.out / "hgq_bench.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
