"""The issue-24 layers at 10**6 RTL vectors: the small encoder (4x4x3 -> conv 3x3 s2 -> dense 16) per layer.

Per layer: QConv2DBatchnorm, Keras ReLU, Activation('relu'), LeakyReLU(0.125), BatchNormalization with
power-of-two scales, QBatchNormalization (po2 quantizers, epsilon 1e-10) and, for contrast, an inexact
BatchNormalization folded with --fold-batchnorm. Each is saved to .h5 and synthesized through the whole
flow: integer model, hls4ml C model and csim on the default 10**4 vectors (ties and saturations of every
stage first), Verilator on 10**6 (the main set, then random, tie and saturation vectors), Icarus on its
subset. Random weights (tests/frontend_models.py), generated inputs; no data file.

    PYTHONPATH=src:. cpu-slot python bench/user_layers.py [--out table.md] [--only convbn,relu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

LAYERS = {
    "convbn": "QConv2DBatchnorm (folded by QKeras)",
    "relu": "Keras ReLU, then quantized_bits",
    "act_relu": "Activation('relu'), then quantized_bits",
    "leaky": "LeakyReLU(alpha=0.125), then quantized_bits",
    "bn": "BatchNormalization, power-of-two scales",
    "qbn": "QBatchNormalization, po2 quantizers, epsilon=1e-10",
    "bn_fold": "BatchNormalization, scale 1.24 (inexact), --fold-batchnorm",
}
LEVELS = ("integer_model", "c_model", "csim", "rtl", "rtl_crosscheck")


def build(block: str):
    import tensorflow as tf
    from tests import frontend_models as fm

    if block == "bn_fold":
        return fm.small_encoder("bn")
    model = fm.small_encoder(block, bn=dict(epsilon=1e-10) if block == "qbn" else None)
    if block == "bn":
        fm.batchnorm_po2(tf, model)
    return model


def run(block: str, root: Path) -> dict:
    from micae.flow import run_synthesis
    from micae.models.io import save_model
    from micae.synthesize import SynthRequest

    path = root / f"{block}.h5"
    save_model(build(block), path)
    req = SynthRequest(
        model=path,
        name=f"small_{block}",
        hls_root=root / "hls",
        firmware_root=root / "fw",
        rtl="on",
        vendor="off",
        rtl_resources=False,
        fold_batchnorm=block == "bn_fold",
    )
    started = time.perf_counter()
    report = run_synthesis(req).to_json()
    return {"seconds": time.perf_counter() - started, "report": report}


def row(block: str, result: dict) -> str:
    ver = result["report"]["verification"]
    cells = []
    for level in LEVELS:
        v = ver.get(level) or {}
        cells.append(f"{v.get('mismatches')} / {v.get('vectors')}" if v.get("vectors") else "not run")
    exact = "yes" if result["report"]["model"]["exact"] else "no (folded)"
    return f"| {LAYERS[block]} | {exact} | " + " | ".join(cells) + f" | {result['seconds']:.0f} s |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this file")
    parser.add_argument("--only", default=",".join(LAYERS), help="comma-separated blocks")
    args = parser.parse_args()
    blocks = [b for b in args.only.split(",") if b]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for block in blocks:
            result = run(block, Path(tmp))
            lines.append(row(block, result))
            print(lines[-1], flush=True)
    head = "| layer | exact | " + " | ".join(LEVELS) + " | wall time |"
    table = "\n".join([head, "|" + "---|" * (len(LEVELS) + 3), *lines])
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
