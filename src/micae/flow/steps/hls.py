"""Step ``hls``: the hls4ml project with micae's exact precisions, its C model, and the ``c_model`` level."""

from __future__ import annotations

import shutil

from micae.flow.context import FlowContext
from micae.flow.results import LevelResult
from micae.flow.steps.vectors import codes_or_scaled, level_result
from micae.log import progress
from micae.outputs import ship_paths


def run(ctx: FlowContext) -> list[LevelResult]:
    from micae.hls import convert as hconv
    from micae.hls.project import raise_testbench_precision, write_project_readme, write_tb_data

    front = front_end(ctx)
    ctx.hls_refused = front.refusal(ctx.keras_model)
    if ctx.hls_refused is not None:
        return [LevelResult.skipped("c_model", ctx.hls_refused)]
    req, vec, stage = ctx.request, ctx.main_vectors, ctx.hls_out
    ctx.hls_model = front.convert(ctx.keras_model, ctx.encoder, stage, ctx.name, req.options)
    if vec.latent_frac is None:  # no integer model: read codes at the precision hls4ml chose
        vec.latent_frac = _output_frac(ctx.hls_model)
        vec.expected = codes_or_scaled(vec.expected_values, vec.latent_frac)
    hconv.compile_c_model(ctx.hls_model)
    with progress("verify: c_model"):
        got = codes_or_scaled(hconv.c_model_predict(ctx.hls_model, vec.x), vec.frac)
        result = level_result("c_model", vec, vec.expected_codes, got)
    with progress("hls: tb_data and testbench"):
        project = hconv.project_name_for(ctx.name)
        write_tb_data(stage, vec.x, vec.expected_values)
        raise_testbench_precision(stage, project)
        write_project_readme(
            stage,
            project,
            req.options.backend,
            len(vec.x),
            shipped_as=ctx.hls_dir,
            reference=front.REFERENCE,
            note=front.README_NOTE,
        )
        ship_paths(stage / "hls4ml_config.yml", stage, ctx.hls_dir)
    return [result]


def front_end(ctx: FlowContext):
    """The one place the hls4ml front end is picked by the model's kind: :mod:`micae.hls.convert_onnx` (hls4ml's
    ONNX reader) for a QONNX graph, :mod:`micae.hls.convert_hgq` (HGQ's proxy model) for an HGQ model,
    :mod:`micae.hls.convert` (its Keras reader) otherwise. Each sets micae's exact precisions and answers
    ``refusal``, ``convert``, ``REFERENCE`` and ``README_NOTE``."""
    from micae.flow.steps.vectors import reference_name
    from micae.hls import convert, convert_hgq, convert_onnx

    return {"qonnx": convert_onnx, "hgq": convert_hgq}.get(reference_name(ctx), convert)


def _output_frac(hls_model) -> int:
    """Fractional bits of the hls4ml output type (for models micae could not read exactly)."""
    precision = hls_model.get_output_variables()[0].type.precision
    return int(precision.width - precision.integer)


def copy_logs(ctx: FlowContext, *names: str) -> None:
    """Keep the tool logs of the HLS project with the firmware."""
    logs = ctx.fw_out / "logs"
    logs.mkdir(exist_ok=True)
    for name in names:
        if (ctx.hls_out / name).exists():
            shutil.copyfile(ctx.hls_out / name, logs / name)
