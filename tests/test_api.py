"""The Python API (micae.convert / micae.train): the README's example runs as written, predict is bit-exact
with QKeras (integer codes), bad input is refused in one line before anything runs."""

from __future__ import annotations

import os
import re
import types

import numpy as np
import pytest
from tests.conftest import REPO

from micae.errors import ConfigError


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    m = re.search(r"<!-- api-example[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md lost its api-example block"
    return m.group(1)


@pytest.mark.slow
def test_the_readme_example_runs_and_predict_is_bit_exact(tmp_path, tf):
    from micae.verify.compare import values_to_codes

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope: dict = {}
        exec(compile(readme_example(), "README.md", "exec"), scope)  # noqa: S102 - our own documentation
    finally:
        os.chdir(cwd)
    enc, x, codes, report = scope["enc"], scope["x"], scope["codes"], scope["report"]
    # predict: the integer model's codes equal QKeras' latents at the latent LSB, every one
    qkeras = scope["keras_encoder"].predict(x, verbose=0).reshape(len(x), -1)
    expected = values_to_codes(qkeras, enc.encoder.latent_type.frac)
    assert codes.dtype == np.int64 and codes.shape == (200, 4)
    assert np.array_equal(codes, expected)
    assert enc.latent_lsb == 2.0**-enc.encoder.latent_type.frac
    # verify: the three in-process levels, typed, on the given inputs plus generated ones
    levels = scope["levels"]
    assert list(levels) == ["integer_model", "c_model", "csim"]
    assert all(
        lv.vectors == 500 and lv.mismatches == 0 and lv.mismatches_by_source["test_split"] == 0
        for lv in levels.values()
    )
    # write: the folders micae synth writes, and the typed report of report.json
    name = enc.name
    assert (tmp_path / "my_firmware" / "hls" / name / "tb_data").is_dir()
    fw = tmp_path / "my_firmware" / "firmware" / name
    from micae.results.report import load_report

    assert load_report(fw) == report and report.ok and report.rtl is not None
    assert report.verification["rtl"].vectors == 2000 and report.verification["rtl"].mismatches == 0
    assert report.options.sources["clock_ns"] == "given" and report.options.vectors == 500


def test_synthesize_writes_into_the_converters_folder_with_its_options(tmp_path, tf, monkeypatch):
    import micae
    from micae.models.encoder import build_encoder
    from micae.models.spec import EncoderSpec

    seen = {}
    monkeypatch.setattr("micae.flow.run_synthesis", lambda request: seen.setdefault("request", request))
    enc = micae.convert(
        build_encoder(EncoderSpec(input_shape=(4, 4, 1), filters=2, latent=4), seed=0),
        name="toy",
        output_dir=tmp_path / "out",
        clock_ns=8.0,
    )
    enc.synthesize(pnr="nexus")
    request = seen["request"]
    assert request.hls_root == tmp_path / "out" / "hls" and request.firmware_root == tmp_path / "out" / "firmware"
    assert (request.options.clock_ns, request.options.pnr, request.name) == (8.0, "nexus", "toy")
    assert request.source("pnr") == "given" and request.source("part") == "default"
    assert repr(enc).startswith("<micae encoder 'toy': input [4, 4, 1], 4 latents, exact=True>")


def test_bad_input_is_refused_in_one_line(tmp_path, tf):
    import micae
    from micae.models.encoder import build_encoder
    from micae.models.io import save_model
    from micae.models.spec import EncoderSpec

    path = tmp_path / "enc.h5"
    save_model(build_encoder(EncoderSpec(input_shape=(4, 4, 1), filters=2, latent=4), seed=0), path)
    with pytest.raises(ConfigError, match=r"clock_ns = 'fast': must be a positive number"):
        micae.convert(path, clock_ns="fast")
    with pytest.raises(ConfigError, match="unknown key"):
        micae.convert(path, clock=5)
    with pytest.raises(ConfigError, match="got a list"):
        micae.convert([1, 2])
    with pytest.raises(ConfigError, match="does not exist"):
        micae.convert(tmp_path / "nowhere.h5")
    enc = micae.convert(path, output_dir=tmp_path / "out")
    assert enc.model_path == path and enc.name == "enc"
    with pytest.raises(ConfigError, match=r"inputs of shape \(3, 5\) do not fit the encoder's input \(4, 4, 1\)"):
        enc.predict(np.zeros((3, 5)))
    with pytest.raises(ConfigError, match="unknown verification level"):
        enc.verify(levels=["rtl"])
    flat = enc.predict(np.full((2, 16), 0.5, dtype=np.float32))  # flat inputs are fine too
    assert flat.shape == (2, 4) and flat.dtype == np.int64


def test_import_micae_stays_light():
    """``import micae`` must not pull TensorFlow; micae.convert is imported when first used."""
    import subprocess
    import sys

    code = "import sys, micae; assert callable(micae.convert); print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert out.stdout.strip() == "False"


def test_micae_train_is_the_api_whatever_was_imported_before(tmp_path):
    """``micae.train`` is also the name of the training package: once a ``micae.train.*`` module is imported (as
    ``micae.convert`` does), calling it still calls :func:`micae.api.train`."""
    import micae
    import micae.train.config  # noqa: F401  (binds the package to micae.train)
    from micae.api import train

    assert isinstance(micae.train, types.ModuleType) and callable(micae.train)
    for call in (micae.train, train):
        with pytest.raises(ConfigError, match=r"train.epochs = 'abc'"):
            call({"train": {"epochs": "abc"}}, out=tmp_path)


@pytest.mark.slow
def test_train_from_a_mapping_returns_the_typed_metrics(tmp_path, tf):
    import micae
    from micae.results.metrics import Metrics, load_metrics

    metrics = micae.train(
        {
            "name": "api",
            "dataset": {"n_samples": 600},
            "encoder": {"filters": 2, "latent": 4},
            "decoder": {"filters": 8},
            "train": {"epochs": 1, "float_twin": False},
        },
        out=tmp_path,
    )
    assert isinstance(metrics, Metrics) and metrics.name == "api"
    assert metrics == load_metrics(tmp_path / "api") and metrics.training["micae"].epochs_run == 1
    assert metrics.quantized.emd_mean is not None and metrics.bit_budget.latent_values == 4
    with pytest.raises(ConfigError, match=r"train.epochs = 'abc'"):
        micae.train({"train": {"epochs": "abc"}}, out=tmp_path)
