"""Step ``vectors``: real, saturating, rounding-tie and random inputs; QKeras' latents; the integer-model level."""

from __future__ import annotations

import numpy as np

from micae.fixed.arith import quantize_float
from micae.flow.context import FlowContext, VectorSet
from micae.log import info, progress
from micae.results.levels import Comparison, LevelResult
from micae.results.report import VectorsSection
from micae.verify.compare import compare_codes, values_to_codes


def run(ctx: FlowContext) -> list[LevelResult | VectorsSection]:
    with progress("vectors: build"):
        ctx.vectors = vec = build(ctx, ctx.request.vectors)
    with progress(f"{reference_name(ctx)}: reference latents"):
        vec.expected_f = qkeras_latents(ctx.keras_model, vec.x)
    sources = {k: s.stop - s.start for k, s in vec.slices.items()}
    encoder = ctx.encoder
    if encoder is None:
        return [VectorsSection(total=int(len(vec.x)), sources=sources)]
    vec.latent_frac = encoder.latent_type.frac
    vec.expected = values_to_codes(vec.expected_f, vec.latent_frac)
    from micae.verify.vectors import coverage

    cov = coverage(encoder, vec.input_codes)
    data = vec.slices.get("test_split")
    if data is not None and data.stop > data.start:  # the data's own inputs, apart from micae's constructed ones
        for stage, own in zip(cov, coverage(encoder, vec.input_codes[data])):
            stage.update(
                data_vectors=data.stop - data.start,
                data_vectors_with_ties=own["vectors_with_ties"],
                data_vectors_saturating=own["vectors_saturating"],
            )
    section = VectorsSection(total=int(len(vec.x)), sources=sources, coverage=cov)
    label = {"qkeras": "QKeras", "hgq": "HGQ"}.get(reference_name(ctx), "qonnx")
    with progress(f"verify: integer model vs {label}"):
        return [section, level_result("integer_model", vec, vec.expected, encoder.latents(vec.input_codes))]


def test_inputs(ctx: FlowContext) -> np.ndarray | None:
    """Real inputs: ``--data``, else the training run's test split, else none."""
    from micae.verify.inputs import load_run_inputs, load_user_inputs

    shape = tuple(int(v) for v in ctx.keras_model.input_shape[1:])
    if ctx.request.data is not None:
        return load_user_inputs(ctx.request.data, shape)
    if ctx.run_dir is not None:
        return load_run_inputs(ctx.run_dir, shape)
    return None


def build(ctx: FlowContext, n_total: int) -> VectorSet:
    """``n_total`` vectors: the test split, saturation, ties and the random grid (see ``build_vector_set``)."""
    from micae.verify.vectors import build_vector_set

    req, encoder = ctx.request, ctx.encoder
    shape = tuple(int(v) for v in ctx.keras_model.input_shape[1:])
    test_x = test_inputs(ctx)
    if encoder is None:  # --allow-inexact on a model micae cannot read: real or uniform inputs only
        rng = np.random.default_rng(req.seed)
        x = test_x if test_x is not None else rng.uniform(-1, 1, size=(n_total, *shape)).astype(np.float32)
        source = "test_split" if test_x is not None else "random_uniform"
        return VectorSet(x=x, codes=None, slices={source: slice(0, len(x))})
    test_codes = None
    if test_x is not None:
        test_codes = quantize_float(test_x.reshape(len(test_x), -1), encoder.input_type)
    codes, slices = build_vector_set(encoder, n_total, test_codes=test_codes, seed=req.seed)
    x = encoder.input_type.to_float(codes).astype(np.float32).reshape(-1, *shape)
    info(f"{len(x)} vectors: " + ", ".join(f"{k} {s.stop - s.start}" for k, s in slices.items()))
    return VectorSet(x=x, codes=codes, slices=slices)


def reference_name(ctx: FlowContext) -> str:
    """What the expected latents come from: QKeras, qonnx's executor for a QONNX graph, or an HGQ model's predict."""
    from micae.flow.steps.load import is_qonnx
    from micae.graph.hgq_front import is_hgq_model

    if is_qonnx(ctx):
        return "qonnx"
    return "hgq" if hasattr(ctx.keras_model, "layers") and is_hgq_model(ctx.keras_model) else "qkeras"


def qkeras_latents(keras_model, x: np.ndarray) -> np.ndarray:
    """The reference latents: QKeras' ``predict`` (or a QONNX graph's executor, which answers the same call)."""
    out = keras_model.predict(x, batch_size=4096, verbose=0)
    return np.asarray(out, dtype=np.float64).reshape(len(x), -1)


def level_result(level: str, vec: VectorSet, expected: np.ndarray, got: np.ndarray, **how) -> LevelResult:
    """Compare integer codes; see :func:`level_from_comparison`."""
    return level_from_comparison(level, vec, Comparison(**compare_codes(expected, got)), **how)


def level_from_comparison(level: str, vec: VectorSet, comparison: Comparison, **how) -> LevelResult:
    """A level from a comparison (or a simulation), naming the vector source (test split, ties, ...) of every
    mismatch; ``how`` says how it ran (simulator, run, log, ...)."""
    rows = comparison.mismatch_rows or []
    first = [[*row, vec.source_of(row[0])] for row in comparison.first_mismatches]
    by_source = {name: int(sum(s.start <= r < s.stop for r in rows)) for name, s in vec.slices.items()}
    return LevelResult.from_comparison(
        level, comparison.model_copy(update={"first_mismatches": first}), by_source, **how
    )


def codes_or_scaled(values: np.ndarray, frac: int) -> np.ndarray:
    """Integer codes at ``2**-frac``; off-grid values (inexact models) are rounded for the report."""
    try:
        return values_to_codes(values, frac)
    except ValueError:
        return np.rint(np.asarray(values) * 2.0**frac).astype(np.int64)
