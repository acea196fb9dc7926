"""Step ``load``: read the model file and run the exactness guard (refuse what cannot be bit-exact)."""

from __future__ import annotations

from micae.errors import ConfigError, ConstraintError
from micae.flow.context import FlowContext, required
from micae.log import info, progress
from micae.results.report import ModelSection


def run(ctx: FlowContext) -> list[ModelSection]:
    sections = _load(ctx)
    if ctx.request.block == "econt":  # refuse a block the encoder cannot take now, not after the RTL route ran
        from micae.flow.steps.econt_block import check_block

        check_block(ctx)
    return sections


def _load(ctx: FlowContext) -> list[ModelSection]:
    from micae.models.extract import GuardReport, inspect_encoder, shared_encoder
    from micae.models.io import load_model

    req = ctx.request
    if ctx.model_file.suffix == ".onnx":
        _no_hgq_options(ctx)
        return load_qonnx_model(ctx)
    with progress("load model"):
        keras_model = shared_encoder(load_model(ctx.model_file))
    from micae.graph.hgq_front import is_hgq_model

    if is_hgq_model(keras_model):
        return load_hgq_model(ctx, keras_model)
    _no_hgq_options(ctx)
    with progress("guard: exactness checks"):
        try:
            guard = inspect_encoder(
                keras_model, name=ctx.name, fold_batchnorm=req.fold_batchnorm, **_cut_options(ctx, keras_model)
            )
        except ConstraintError as exc:
            if not req.allow_inexact:
                raise
            guard = GuardReport(encoder=None, problems=[exc.one_line()])
    blocking = [p for p in guard.problems if p not in guard.folded]
    if blocking and not req.allow_inexact:
        raise ConstraintError(
            blocking[0], "fix the model, or pass --allow-inexact to convert anyway and see the mismatches"
        )
    for problem in guard.problems:
        info(f"warning ({'--fold-batchnorm' if problem in guard.folded else '--allow-inexact'}): {problem}")
    for warning in getattr(guard, "warnings", []) or []:
        info(f"warning: {warning}")
    ctx.guard = guard
    ctx.keras_model = getattr(guard, "keras_encoder", None) or keras_model
    return [model_section(ctx)]


REFERENCES = {"qkeras": "QKeras", "qonnx": "qonnx's executor", "hgq": "HGQ's predict"}
"""report.json ``model.reference``: what every level is compared with."""


def _no_hgq_options(ctx: FlowContext) -> None:
    """--input-int-bits/--input-signed state an HGQ input's range; other models carry theirs in their quantizer."""
    if ctx.request.input_int_bits is not None or ctx.request.input_signed:
        raise ConfigError(
            f"--input-int-bits/--input-signed apply to HGQ models only; {ctx.model_file.name} has no HGQ layers",
            "leave them out: the model's input quantizer gives the input's range",
        )


def load_hgq_model(ctx: FlowContext, keras_model) -> list[ModelSection]:
    """An HGQ encoder: the integer model from its layers, the HGQ model's own predict as the reference of every
    level; hls4ml reads HGQ's proxy model, calibrated with micae's exact ranges."""
    from micae.graph.hgq_front import calibrate, read_hgq
    from micae.models.extract import GuardReport

    req = ctx.request
    if req.input_layer or req.output_layer:
        raise ConstraintError("input_layer/output_layer cut QKeras models only", "save the HGQ encoder alone")
    with progress("guard: exactness checks"):
        encoder, problems, ranges = read_hgq(
            keras_model, ctx.name, req.input_mask, req.input_int_bits, req.input_signed
        )
    # the proxy model hls4ml reads gets micae's exact ranges as its calibration (no WRAP can act)
    keras_model.micae_proxy = calibrate(keras_model, ranges, encoder.input_type)
    if problems and not req.allow_inexact:
        raise ConstraintError(
            problems[0], "fix the model, or pass --allow-inexact to convert anyway and see the mismatches"
        )
    taken = [name for name, _, _ in encoder.layers]
    ctx.guard = GuardReport(encoder, problems, layers_taken=taken, keras_encoder=keras_model)
    ctx.keras_model = keras_model
    return [model_section(ctx)]


def is_qonnx(ctx: FlowContext) -> bool:
    """Whether the model is a QONNX graph (its reference is qonnx's executor, not QKeras)."""
    from micae.graph.onnx_front import QonnxReference

    return isinstance(ctx.keras_model, QonnxReference)


def load_qonnx_model(ctx: FlowContext) -> list[ModelSection]:
    """A QONNX graph: the integer model from its nodes, qonnx's executor as the reference of every level."""
    from micae.graph.onnx_front import QonnxReference, load_qonnx, read_qonnx
    from micae.models.extract import GuardReport, check_accumulators

    req = ctx.request
    if req.input_layer or req.output_layer:
        raise ConstraintError("input_layer/output_layer cut Keras models only", "export the QONNX encoder alone")
    with progress("load QONNX model"):
        model = load_qonnx(ctx.model_file)
    with progress("guard: exactness checks"):
        encoder = read_qonnx(model, ctx.name, req.input_mask)
    taken = [name for name, _, _ in encoder.layers]
    problems = check_accumulators(encoder, "qonnx's executor (float32)")
    if problems and not req.allow_inexact:
        raise ConstraintError(
            problems[0], "fix the model, or pass --allow-inexact to convert anyway and see the mismatches"
        )
    ctx.guard = GuardReport(encoder, problems, layers_taken=taken)
    ctx.keras_model = QonnxReference(model, ctx.model_file)
    return [model_section(ctx)]


def _cut_options(ctx: FlowContext, keras_model) -> dict:
    """The encoder-cut options the user gave; a training run's own mask (8x8 layout) when none is given."""
    from micae.graph.mask import run_input_mask

    req = ctx.request
    opts = {"input_layer": req.input_layer, "output_layer": req.output_layer, "input_mask": req.input_mask}
    if req.input_mask is None and ctx.run_dir is not None:
        opts["input_mask"] = run_input_mask(ctx.run_dir, tuple(int(v) for v in keras_model.input_shape[1:]))
        if opts["input_mask"] is not None:
            info(f"input mask from the training run: {int((~opts['input_mask'].astype(bool)).sum())} dead cells")
    return {k: v for k, v in opts.items() if v is not None}


def model_section(ctx: FlowContext) -> ModelSection:
    """report.json ``model``: the file, its shape, and the exact integer description when there is one."""
    keras_model, encoder, guard = ctx.keras_model, ctx.encoder, required(ctx.guard, "the guard's findings")
    section = {
        "name": ctx.name,
        "file": str(ctx.model_file),
        "input_shape": [int(v) for v in keras_model.input_shape[1:]],
        "parameters": int(keras_model.count_params()),
        "exact": not guard.problems,
        "problems": list(guard.problems),
        "warnings": list(getattr(guard, "warnings", []) or []),
    }
    if getattr(guard, "layers_taken", None):
        section["layers_taken"] = list(guard.layers_taken)
    from micae.flow.steps.vectors import reference_name

    section["reference"] = REFERENCES[reference_name(ctx)]
    if encoder is None:
        return ModelSection(**section)
    from micae.train.econt_config import run_elinks

    budget = encoder.bit_budget(elinks=run_elinks(ctx.run_dir) if ctx.run_dir is not None else None)
    section.update(
        latent_size=encoder.n_latent,
        input_type=encoder.input_type.to_dict(),
        latent_type=encoder.latent_type.to_dict(),
        stages=[stage.describe(in_type) for stage, in_type in zip(encoder.stages, encoder.stage_input_types())],
        bit_budget=budget,
        compression_factor=budget["compression_factor"],
    )
    return ModelSection(**section)
