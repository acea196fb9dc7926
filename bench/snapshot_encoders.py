"""Snapshot what micae makes of the reference encoders, to prove a refactor or a da4ml change left it alone.

For each encoder: the integer model (stage entries, every Keras layer's tensor types as hls4ml
precisions, bit budget, accumulator types), its latents and rounding/saturation coverage on
300 stress vectors, the Verilog of ``write_rtl`` (da4ml's adder-level cut at 5 ns; for seed 0
also the Nexus timing-driven cut, one stage, and a cut at 2 adder levels) and, for Keras
encoders, the hls4ml project's ``firmware/*.h`` and weights. Encoders: ``conv_dense_encoder``
seeds 0-2 (built by hand) and eleven Keras encoders (tests/frontend_models.py and a few more:
the trainable eLink tail, a max-pool before its quantizer with a layer's own activation, an
unsigned latent requantized).

    python bench/snapshot_encoders.py OUT            # write a snapshot (a few minutes; use cpu-slot)
    python bench/snapshot_encoders.py --compare A B  # byte-compare two snapshots, print what differs

Run it from two checkouts (``PYTHONPATH=<checkout>/src:<checkout>``) and compare. Issue 21's op
refactor (micae.fixed.ops) and da4ml's public API only: no difference from main except the
precisions of the hand-built encoders, which main did not record (bench/README.md).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ and tests/ as packages


def keras_models() -> dict:
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    from tests import frontend_models as fm

    from micae.models.encoder import elink_output
    from micae.models.quantizers import QuantSpec

    out = {
        "cae": (fm.cae(seed=0), {}),
        "cae_cond": (fm.cae(seed=1, conditions=True), {}),
        "cae_elink5": (fm.cae(seed=2, tail_bits=5), {}),
        "cae_mask": (fm.cae(seed=3), {"input_mask": "8x8"}),
        "two_conv": (fm.two_conv(), {}),
        "dense_only": (fm.dense_only(), {}),
        "max_pooled": (fm.pooled(), {}),
        "avg_pooled": (fm.pooled(pool="avg"), {}),
    }
    lat = QuantSpec(9, 1)
    x_in = tf.keras.Input((16,), name="x")
    z = QActivation(lat.qkeras(), name="lat")(QActivation(lat.qkeras(), name="q_in")(x_in))
    out["elink_ste5"] = (tf.keras.Model(x_in, elink_output(z, 5, lat), name="elink_ste5"), {})
    q = quantized_bits(6, 0, alpha=1)
    x_in = tf.keras.Input((6, 6, 2), name="x")
    x = QActivation(quantized_bits(7, 1), name="q")(x_in)
    x = tf.keras.layers.ZeroPadding2D(((2, 0), (1, 3)), name="pad")(x)
    x = QConv2D(3, 3, padding="same", kernel_quantizer=q, bias_quantizer=q, name="c")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="mp")(x)
    x = QActivation(quantized_bits(8, 2), name="a")(x)
    x = tf.keras.layers.Flatten(name="f")(x)
    x = QDense(5, kernel_quantizer=q, bias_quantizer=q, activation=quantized_bits(9, 2), name="d")(x)
    model = tf.keras.Model(x_in, x, name="deferred_pool_own_act")
    fm._randomize(model, 5)
    out["deferred_pool_own_act"] = (model, {})
    x_in = tf.keras.Input((4, 4, 1), name="x")
    x = QActivation(quantized_bits(8, 1, keep_negative=False), name="q")(x_in)
    x = tf.keras.layers.Flatten(name="f")(x)
    x = QDense(6, kernel_quantizer=q, bias_quantizer=q, name="d")(x)
    x = QActivation(quantized_relu(8, 2), name="r")(x)
    x = QActivation(quantized_bits(6, 1, keep_negative=False), name="rq")(x)
    model = tf.keras.Model(x_in, x, name="relu_requant")
    fm._randomize(model, 6)
    out["relu_requant"] = (model, {})
    return out


def dump_encoder(enc, d: Path, codes: np.ndarray) -> None:
    from micae.hls.precision import layer_precisions
    from micae.verify.vectors import coverage

    info = {
        "input_type": enc.input_type.to_dict(),
        "latent_type": enc.latent_type.to_dict(),
        "stages": [s.describe(t) for s, t in zip(enc.stages, enc.stage_input_types())],
        "layer_precisions": {(n + "__activation" if own else n): p for n, own, p in layer_precisions(enc)},
        "layers": [list(v) for v in enc.layers],
        "input_columns": None if enc.input_columns is None else list(enc.input_columns),
        "bit_budget": enc.bit_budget(),
        "acc_types": [s.acc_type(t).to_dict() for s, t in zip(enc.stages, enc.stage_input_types())],
    }
    (d / "encoder.json").write_text(json.dumps(info, indent=1, default=str))
    np.save(d / "codes.npy", codes)
    np.save(d / "latents.npy", enc.latents(codes))
    (d / "coverage.json").write_text(json.dumps(coverage(enc, codes), indent=1))


CUTS = {"default": {}, "nexus": {"family": "nexus"}, "one_stage": {"latency_cutoff": 0}, "cut2": {"latency_cutoff": 2}}


def dump_rtl(enc, d: Path, codes: np.ndarray, cuts: tuple[str, ...]) -> None:
    from micae.rtl.build import write_rtl
    from micae.rtl.trace import evaluate, trace_encoder

    traced = trace_encoder(enc)
    summary = {"interp_exact": bool(np.array_equal(evaluate(traced, enc.live(codes)), enc.latents(codes)))}
    for cut in cuts:
        sec = write_rtl(enc, d / f"rtl_{cut}", traced=traced, vectors_in=codes[:50], **CUTS[cut]).to_json()
        summary[cut] = {"cycles": sec["latency_cycles"], "da4ml": {k: v for k, v in sec["da4ml"].items()}}
        (d / f"rtl_{cut}" / "rtl.json").unlink()  # holds absolute paths and versions; its figures are above
    (d / "rtl_summary.json").write_text(json.dumps(summary, indent=1, default=str))


def dump_hls(model, enc, d: Path, name: str) -> None:
    from micae.hls.convert import HlsOptions, convert

    prj = d / "hls_tmp"
    convert(model, enc, prj, name, HlsOptions())
    keep = d / "hls"
    keep.mkdir()
    for p in sorted((prj / "firmware").glob("*.h")):
        shutil.copyfile(p, keep / p.name)
    for p in sorted((prj / "firmware" / "weights").glob("*.txt")):
        shutil.copyfile(p, keep / ("w_" + p.name))
    shutil.rmtree(prj)


def snapshot(out: Path) -> None:
    from bench.reference_encoders import conv_dense_encoder

    from micae.models.extract import extract_encoder
    from micae.verify.vectors import build_vector_set

    for seed in (0, 1, 2):
        enc = conv_dense_encoder(seed=seed, name=f"econt_like_s{seed}")
        d = out / f"ref_s{seed}"
        d.mkdir(parents=True, exist_ok=True)
        codes, _ = build_vector_set(enc, 300, seed=seed)
        dump_encoder(enc, d, codes)
        dump_rtl(enc, d, codes, tuple(CUTS) if seed == 0 else ("default",))
        print("done", d, flush=True)
    for name, (model, cut) in keras_models().items():
        guard = extract_encoder(model, name=name, **cut)
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        codes, _ = build_vector_set(guard.encoder, 300, seed=1)
        dump_encoder(guard.encoder, d, codes)
        dump_rtl(guard.encoder, d, codes, ("default", "nexus") if name == "cae_elink5" else ("default",))
        dump_hls(guard.keras_encoder, guard.encoder, d, name)
        print("done", d, flush=True)


def compare(a: Path, b: Path) -> int:
    """Files that differ (JSON compared as data, ignoring da4ml's version), missing or extra."""
    diffs = []
    for pa in sorted(p for p in a.rglob("*") if p.is_file()):
        rel = pa.relative_to(a)
        pb = b / rel
        if not pb.exists():
            diffs.append(f"missing in {b}: {rel}")
        elif pa.suffix == ".json":
            ja, jb = (json.loads(p.read_text()) for p in (pa, pb))
            for j in (ja, jb):
                for cut in j.values() if isinstance(j, dict) else ():
                    if isinstance(cut, dict) and isinstance(cut.get("da4ml"), dict):
                        cut["da4ml"].pop("version", None)
            if ja != jb:
                diffs.append(f"differs: {rel}")
        elif not filecmp.cmp(pa, pb, shallow=False):
            diffs.append(f"differs: {rel}")
    extra = [p.relative_to(b) for p in sorted(b.rglob("*")) if p.is_file()]
    diffs += [f"extra in {b}: {rel}" for rel in extra if not (a / rel).exists()]
    print("\n".join(diffs) or "identical")
    return len(diffs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", nargs="?", type=Path, help="folder to write the snapshot into")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two snapshots instead")
    args = p.parse_args(argv)
    if args.compare:
        return 1 if compare(*args.compare) else 0
    if args.out is None:
        p.error("give OUT, or --compare A B")
    snapshot(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
