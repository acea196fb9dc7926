"""One encoder through both front ends at 10^6 RTL vectors: QKeras -> micae and QKeras -> QONNX -> micae.

The chip-shaped QKeras encoder of ``tests/test_qonnx.py`` (5x5x3 -> QConv2D 3x3 s2 -> quantized_relu ->
Flatten -> QDense 6 -> quantized_bits(9, 3)), random weights, is written as the equivalent QONNX graph
(``tests/qonnx_models.qkeras_to_qonnx``), then ``micae synth`` runs on both files. Every level of each run is
compared with its own reference (QKeras, resp. qonnx's executor) as integer codes; the two runs' RTL vector sets
are the same (same seed, same integer model), so 0 mismatches on both means identical RTL outputs. The two hls4ml
C models (QKeras through hls4ml's Keras reader, the QONNX graph through its ONNX reader, both with micae's
precisions) are then compared with each other directly on ``--c-vectors`` vectors, as integer codes.

    PYTHONPATH=src:. cpu-slot .venv/bin/python bench/qonnx_encoder.py --out /tmp/qonnx_bench [--rtl-vectors 1000000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def timed_synth(path: Path, name: str, out: Path, rtl_vectors: int, **settings) -> tuple[dict, float]:
    """``micae synth`` of a model file at every level (2000 main vectors, yosys on, no vendor); (report, seconds).
    ``settings``: further synth settings (bench/hgq_encoder.py passes the input range)."""
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
        **settings,
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
    x = via_keras.input_type.to_float(a).reshape(-1, *via_keras.input_shape)
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


def _c_models(model, graph: Path, out: Path, n: int) -> None:
    """The QKeras and the QONNX hls4ml C models on the same ``n`` vectors: integer codes, each other and micae's."""

    from micae.config.synth import HlsOptions
    from micae.graph.onnx_front import QonnxReference, load_qonnx, read_qonnx
    from micae.hls import convert, convert_onnx
    from micae.models.extract import inspect_encoder
    from micae.verify.vectors import build_vector_set

    via_keras = inspect_encoder(model, name="chip").encoder
    wrapped = load_qonnx(graph)
    via_qonnx = read_qonnx(wrapped, "chip")
    codes, _ = build_vector_set(via_keras, n, seed=2)
    x = via_keras.input_type.to_float(codes).reshape(-1, *via_keras.input_shape)
    got = {}
    for name, front, ref, enc in (
        ("qkeras", convert, model, via_keras),
        ("qonnx", convert_onnx, QonnxReference(wrapped, graph), via_qonnx),
    ):
        hls_model = front.convert(ref, enc, out / f"c_model_{name}", f"chip_{name}", HlsOptions())
        convert.compile_c_model(hls_model)
        started = time.time()
        got[name] = enc.latent_type.to_int(convert.c_model_predict(hls_model, x))
        print(f"{name} C model: {n} vectors in {time.time() - started:.1f} s")
    expected = via_keras.latents(codes)
    diff = int((got["qkeras"] != got["qonnx"]).any(axis=1).sum())
    wrong = {k: int((v != expected).any(axis=1).sum()) for k, v in got.items()}
    print(f"{n} vectors: the QKeras and QONNX C models differ on {diff} rows; vs the integer model: {wrong}")
    assert diff == 0 and not any(wrong.values())


FORMS = {
    "encoder(relu)": lambda qm: qm.encoder(seed=3),
    "encoder(signed)": lambda qm: qm.encoder(seed=3, relu=False),
    "encoder(conv pads)": lambda qm: qm.encoder(seed=3, pads=(1, 0, 1, 2)),
    "encoder(maxpool)": lambda qm: qm.encoder(seed=3, maxpool=True),
    "encoder(relu, maxpool, quant)": lambda qm: qm.encoder(seed=3, maxpool=True, pool_first=True),
    "gemm_encoder": lambda qm: qm.gemm_encoder(seed=3),
    "padded_bipolar_encoder": lambda qm: qm.padded_bipolar_encoder(seed=3),
}
"""QONNX graph forms whose hls4ml C model is compared with qonnx's executor (``tests/qonnx_models.py``)"""


def _forms(out: Path, n: int) -> dict:
    """Each graph form's hls4ml C model vs qonnx's executor on ``n`` vectors (micae's vector set), integer codes."""
    import onnx
    from tests import qonnx_models as qm

    from micae.config.synth import HlsOptions
    from micae.graph.onnx_front import QonnxReference, load_qonnx, read_qonnx
    from micae.hls import convert, convert_onnx
    from micae.verify.vectors import build_vector_set

    rows = {}
    for i, (label, build) in enumerate(FORMS.items()):
        path = out / f"form{i}.onnx"
        onnx.save(build(qm), str(path))
        ref = QonnxReference(load_qonnx(path), path)
        enc = read_qonnx(ref.model, f"form{i}")
        assert convert_onnx.refusal(ref) is None, label
        hls_model = convert_onnx.convert(ref, enc, out / f"form{i}_hls", f"form{i}", HlsOptions())
        convert.compile_c_model(hls_model)
        codes, _ = build_vector_set(enc, n, seed=0)
        x = enc.input_type.to_float(codes).reshape(-1, *enc.input_shape)
        expected = enc.latent_type.to_int(ref.predict(x))
        got = enc.latent_type.to_int(convert.c_model_predict(hls_model, x))
        rows[label] = {"vectors": n, "mismatches": int((got != expected).any(axis=1).sum())}
        print(f"{label}: C model vs qonnx on {n} vectors: {rows[label]['mismatches']} rows differ")
    return rows


def main() -> None:
    import onnx
    from tests import qonnx_models as qm
    from tests.test_qonnx import _qkeras_encoder

    from micae.models.io import save_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rtl-vectors", type=int, default=1_000_000)
    ap.add_argument("--c-vectors", type=int, default=100_000)
    ap.add_argument("--forms-only", action="store_true", help="only the graph forms' C models vs qonnx")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    forms = _forms(args.out, 2000)
    if args.forms_only:
        return
    model = _qkeras_encoder()
    h5, graph = args.out / "chip.h5", args.out / "chip.onnx"
    save_model(model, h5)
    onnx.save(qm.qkeras_to_qonnx(model), str(graph))
    _same_vectors(model, graph, args.rtl_vectors)
    _c_models(model, graph, args.out, args.c_vectors)
    rows = {}
    for name, path in (("chip_qkeras", h5), ("chip_qonnx", graph)):
        report, seconds = timed_synth(path, name, args.out, args.rtl_vectors)
        levels = {
            k: {f: v.get(f) for f in ("vectors", "mismatches", "max_abs_lsb_error", "status")}
            for k, v in report["verification"].items()
        }
        rows[name] = {"seconds": round(seconds, 1), "levels": levels, "resources": report.get("resources")}
        print(name, f"{seconds:.1f} s", json.dumps(levels))
    (args.out / "qonnx_bench.json").write_text(json.dumps({"forms": forms, **rows}, indent=1))


if __name__ == "__main__":
    main()
