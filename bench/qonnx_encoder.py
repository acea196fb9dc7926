"""One encoder through both front ends at 10^6 RTL vectors: QKeras -> micae and QKeras -> QONNX -> micae.

The chip-shaped QKeras encoder of ``tests/test_qonnx.py`` (4x4x3 -> QConv2D 3x3 s2 -> quantized_relu ->
Flatten -> QDense 6 -> quantized_bits(9, 3)), random weights, is written as the equivalent QONNX graph
(``tests/qonnx_models.qkeras_to_qonnx``), then ``micae synth`` runs on both files. Every level of each run is
compared with its own reference (QKeras, resp. qonnx's executor) as integer codes; the two runs' RTL vector sets
are the same (same seed, same integer model), so 0 mismatches on both means identical RTL outputs.

    PYTHONPATH=src:. cpu-slot .venv/bin/python bench/qonnx_encoder.py --out /tmp/qonnx_bench [--rtl-vectors 1000000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _synth(path: Path, name: str, out: Path, rtl_vectors: int) -> tuple[dict, float]:
    from micae.synthesize import SynthRequest, synthesize

    req = SynthRequest(
        model=path,
        name=name,
        hls_root=out / "hls",
        firmware_root=out / "fw",
        vectors=2000,
        rtl_vectors=rtl_vectors,
        rtl="on",
        vendor="off",
        rtl_resources=True,
        force=True,
    )
    started = time.time()
    report = synthesize(req)
    return report, time.time() - started


def _same_vectors(model, graph: Path, n: int) -> None:
    """Both front ends' integer models give the same vector set (the RTL levels of the two runs see the same
    inputs), and QKeras and qonnx give the same latent codes on it."""
    import numpy as np

    from micae.graph.onnx_front import QonnxReference, load_qonnx, read_qonnx
    from micae.models.extract import inspect_encoder
    from micae.verify.vectors import build_vector_set

    via_keras = inspect_encoder(model, name="chip").encoder
    wrapped = load_qonnx(graph)
    via_qonnx = read_qonnx(wrapped, "chip")
    a, _ = build_vector_set(via_keras, n, seed=1)
    b, _ = build_vector_set(via_qonnx, n, seed=1)
    assert np.array_equal(a, b), "the two integer models give different vector sets"
    x = via_keras.input_type.to_float(a).reshape(-1, 4, 4, 3)
    started = time.time()
    k = via_keras.latent_type.to_int(model.predict(x, batch_size=8192, verbose=0))
    t_keras = time.time() - started
    started = time.time()
    q = via_qonnx.latent_type.to_int(QonnxReference(wrapped, graph).predict(x, batch_size=8192))
    t_qonnx = time.time() - started
    diff = int((k != q).any(axis=1).sum())
    print(
        f"{n} vectors: QKeras vs qonnx latent codes differ on {diff} rows "
        f"(QKeras {t_keras:.1f} s, qonnx {t_qonnx:.1f} s)"
    )
    assert diff == 0


def main() -> None:
    import onnx
    from tests import qonnx_models as qm
    from tests.test_qonnx import _qkeras_encoder

    from micae.models.io import save_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rtl-vectors", type=int, default=1_000_000)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = _qkeras_encoder()
    h5, graph = args.out / "chip.h5", args.out / "chip.onnx"
    save_model(model, h5)
    onnx.save(qm.qkeras_to_qonnx(model), str(graph))
    _same_vectors(model, graph, args.rtl_vectors)
    rows = {}
    for name, path in (("chip_qkeras", h5), ("chip_qonnx", graph)):
        report, seconds = _synth(path, name, args.out, args.rtl_vectors)
        levels = {
            k: {f: v.get(f) for f in ("vectors", "mismatches", "max_abs_lsb_error", "status")}
            for k, v in report["verification"].items()
        }
        rows[name] = {"seconds": round(seconds, 1), "levels": levels, "resources": report.get("resources")}
        print(name, f"{seconds:.1f} s", json.dumps(levels))
    (args.out / "qonnx_bench.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
