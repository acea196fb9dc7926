"""QKeras encoder -> hls4ml project with exact precisions and real test vectors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from micae.config.synth import BACKENDS, DEFAULT_PART, IO_TYPES, STRATEGIES, HlsOptions  # noqa: F401 (re-exported)
from micae.errors import ToolError
from micae.fixed.graph import IntegerEncoder
from micae.hls.precision import apply_precisions
from micae.log import progress

REFERENCE = "the QKeras latents"
"""what the project's expected outputs (tb_data) are"""
README_NOTE = ""
"""what the project's README says about this front end"""


def refusal(keras_model) -> str | None:
    """Why hls4ml cannot convert the model exactly: None, the guard refused every such Keras model already."""
    return None


def project_name_for(name: str) -> str:
    """A C identifier for the top function (hls4ml uses it for file names too)."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not ident or ident[0].isdigit():
        ident = "m_" + ident
    return ident


def hls_config(keras_model, encoder: IntegerEncoder | None, options: HlsOptions) -> dict:
    import hls4ml

    config = hls4ml.utils.config_from_keras_model(keras_model, granularity="name", backend=options.backend)
    config["Model"]["Strategy"] = options.strategy
    config["Model"]["ReuseFactor"] = options.reuse
    for entry in config.get("LayerName", {}).values():
        if "ReuseFactor" in entry:
            entry["ReuseFactor"] = options.reuse
        if "Strategy" in entry or options.strategy != "Latency":
            entry["Strategy"] = options.strategy
    if encoder is not None:
        apply_precisions(config, encoder, keras_model.layers[0].name)
    return config


def convert(keras_model, encoder: IntegerEncoder | None, out_dir: Path, name: str, options: HlsOptions):
    """Write the hls4ml project into ``out_dir`` and return the hls4ml model."""
    import hls4ml

    options.validate()
    from micae.hls.rewrite import exact_layers

    keras_model = exact_layers(keras_model, fuse_batchnorm=encoder is not None)
    extra: dict = {}
    if encoder is not None:
        from micae.hls.fold import fold_tail

        keras_model, extra = fold_tail(keras_model, encoder)
    config = hls_config(keras_model, encoder, options)
    for layer, prec in extra.items():
        config.setdefault("LayerName", {}).setdefault(layer, {}).setdefault("Precision", {}).update(prec)
    with progress("hls4ml: convert"):
        model = hls4ml.converters.convert_from_keras_model(
            keras_model, **project_settings(config, out_dir, name, options)
        )
    with progress("hls4ml: write project"):
        model.write()
    return model


def project_settings(config: dict, out_dir: Path, name: str, options) -> dict:
    """The hls4ml converter's keyword arguments, the same for every front end (Keras, QONNX)."""
    return dict(
        hls_config=config,
        output_dir=str(out_dir),
        project_name=project_name_for(name),
        backend=options.backend,
        part=options.part,
        clock_period=options.clock_ns,
        io_type=options.io_type,
        # micae sets the exact precision of every layer itself (padding, pools and the eLink tail included), so
        # hls4ml's own bit-exact inference, which has no rule for ZeroPadding2D, stays off; a model micae cannot
        # read (--allow-inexact) gets hls4ml's defaults.
        bit_exact=False,
    )


def compile_c_model(model) -> None:
    from micae.tools import require_tool

    require_tool("g++")
    try:
        with progress("hls4ml: compile C model"):
            model.compile()
    except Exception as exc:  # hls4ml raises plain Exceptions from its g++ call
        raise ToolError(
            f"the C++ hls4ml generated does not compile ({exc}); the compiler output is above",
            "the model uses a construct hls4ml cannot build: use alpha=1 quantizers and the supported layers",
        ) from exc


def c_model_predict(model, x: np.ndarray) -> np.ndarray:
    out = model.predict(np.ascontiguousarray(x, dtype=np.float32))
    return np.asarray(out, dtype=np.float64).reshape(len(x), -1)
