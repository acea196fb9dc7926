"""The bad-input matrix: every failure is one line naming the problem and the fix, exit != 0, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from micae.errors import ConfigError, DataError, ToolError, UnsafeModelError


def cli(script: str, *args, cwd=None, env=None) -> subprocess.CompletedProcess:
    e = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *map(str, args)],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        env=e,
        timeout=300,
    )


def assert_one_line_error(proc, *needles, code=2):
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "(fix: " in errors[0]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


CSV_CASES = {
    "wrong_columns": ("1,2,3\n4,5,6\n", "column"),
    "non_numeric": (",".join(["1"] * 47 + ["abc"]) + "\n", "abc"),
    "nan": (",".join(["1"] * 47 + ["nan"]) + "\n", "NaN"),
    "negative": (",".join(["1"] * 47 + ["-4"]) + "\n", "negative"),
    "empty": ("", "empty"),
    "truncated": (",".join(["1"] * 48) + "\n" + ",".join(["1"] * 20), "truncated"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CSV_CASES))
def test_train_refuses_bad_csv(tmp_path, case):
    text, needle = CSV_CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    proc = cli("train_qat.py", "--dataset", "econt-csv", "--data", path, "--out", tmp_path / "runs")
    line = assert_one_line_error(proc, path.name)
    assert needle.lower() in line.lower()
    assert not (tmp_path / "runs" / "econt").exists()


@pytest.mark.slow
def test_debug_shows_traceback(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    proc = cli("train_qat.py", "--dataset", "econt-csv", "--data", path, "--out", tmp_path, "--debug")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


@pytest.mark.slow
def test_train_refuses_compression_below_three(tmp_path):
    # ECON-T counts values: 48 cells into 20 latents is 2.4, whatever the bits
    proc = cli("train_qat.py", "--latent", "20", "--n-samples", "500", "--out", tmp_path)
    assert_one_line_error(proc, "compression factor 2.4", "below the limit 3", "at most 16 latents")
    # the bit ratio has its own limit, off unless set
    proc = cli(
        "train_qat.py", "--latent-bits", "12", "--n-samples", "500", "--out", tmp_path, "--set", "min_bit_compression=3"
    )
    assert_one_line_error(proc, "bit ratio 2 ", "below min_bit_compression 3")


@pytest.mark.slow
def test_train_refuses_wrong_npz_key(tmp_path):
    np.savez(tmp_path / "bad.npz", data=np.zeros((10, 48)))
    proc = cli("train_qat.py", "--dataset", "npz", "--data", tmp_path / "bad.npz", "--out", tmp_path)
    assert_one_line_error(proc, "'x'", "data")


def _encoder_file(tmp_path):
    from micae.models.encoder import build_encoder
    from micae.models.io import save_model
    from micae.models.spec import EncoderSpec

    path = tmp_path / "enc file.h5"  # a path with a space
    save_model(build_encoder(EncoderSpec(), seed=0), path)
    return path


@pytest.mark.slow
def test_synth_refuses_data_of_wrong_shape_and_nan(tmp_path, tf):
    enc = _encoder_file(tmp_path)
    np.save(tmp_path / "wrong.npy", np.zeros((5, 8, 8, 1), dtype=np.float32))
    proc = cli(
        "synthesize.py",
        "--model",
        enc,
        "--data",
        tmp_path / "wrong.npy",
        "--hls-root",
        tmp_path / "h",
        "--firmware-root",
        tmp_path / "f",
    )
    assert_one_line_error(proc, "(5, 8, 8, 1)", "(4, 4, 3)")
    bad = np.zeros((5, 4, 4, 3), dtype=np.float32)
    bad[2, 1, 1, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    proc = cli(
        "synthesize.py",
        "--model",
        enc,
        "--data",
        tmp_path / "nan.npy",
        "--hls-root",
        tmp_path / "h",
        "--firmware-root",
        tmp_path / "f",
    )
    assert_one_line_error(proc, "sample 2", "NaN")
    assert not (tmp_path / "h").exists() or not any((tmp_path / "h").iterdir())


@pytest.mark.slow
def test_synth_refuses_truncated_model_and_missing_model(tmp_path, tf):
    enc = _encoder_file(tmp_path)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(enc.read_bytes()[:4000])
    assert_one_line_error(cli("synthesize.py", "--model", cut), "cut.h5", "corrupt or truncated")
    assert_one_line_error(cli("synthesize.py", "--model", tmp_path / "nope.h5"), "does not exist")


def test_lambda_model_is_refused_before_its_code_runs(tmp_path, tf):
    from micae.models.io import load_model

    marker = tmp_path / "code_ran"
    marker_name = str(marker)

    def side_effect(x):
        with open(marker_name, "w") as f:
            f.write("ran")
        return x

    x_in = tf.keras.Input(shape=(4,))
    model = tf.keras.Model(x_in, tf.keras.layers.Lambda(side_effect, name="sneaky")(x_in))
    model.save(tmp_path / "lambda.h5")
    marker.unlink()
    with pytest.raises(UnsafeModelError, match="'sneaky' \\(Lambda\\) .*carries Python code"):
        load_model(tmp_path / "lambda.h5")
    assert not marker.exists()


def test_unknown_custom_layer_and_quantizer_string_are_refused():
    from micae.models.io import check_model_config

    with pytest.raises(UnsafeModelError, match="'mine' \\(MyLayer\\) .*not a supported layer"):
        check_model_config(
            {
                "class_name": "Functional",
                "config": {"name": "m", "layers": [{"class_name": "MyLayer", "config": {"name": "mine"}}]},
            }
        )
    with pytest.raises(UnsafeModelError, match="not a known quantizer"):
        check_model_config({"class_name": "QActivation", "config": {"name": "q", "activation": "__import__('os')"}})


def test_output_under_a_file_is_reported_unwritable(tmp_path):
    from micae.outputs import staged_output

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write to"):
        with staged_output(blocker / "run", force=False):
            pass


def test_missing_tool_crash_and_hang(tmp_path, monkeypatch):
    from micae.tools import require_tool, run_tool

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError, match="'yosys' is not on PATH.*apt-get install yosys"):
        require_tool("yosys")
    crash = tmp_path / "crashy"
    crash.write_text("#!/bin/sh\necho step one\necho fatal: boom\nexit 7\n")
    crash.chmod(0o755)
    with pytest.raises(ToolError, match="exit code 7.*fatal: boom"):
        run_tool([str(crash)], cwd=tmp_path, timeout_s=10)
    hang = tmp_path / "hangs"
    hang.write_text("#!/bin/sh\necho waiting\nexec /bin/sleep 60\n")
    hang.chmod(0o755)
    with pytest.raises(ToolError, match="did not finish within 1 s.*waiting"):
        run_tool([str(hang)], cwd=tmp_path, timeout_s=1)


def test_user_inputs_errors(tmp_path):
    from micae.verify.inputs import load_user_inputs

    np.savez(tmp_path / "k.npz", y=np.zeros(3))
    with pytest.raises(DataError, match="no array 'x'.*\\['y'\\]"):
        load_user_inputs(tmp_path / "k.npz", (4, 4, 3))
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(DataError, match="not numbers"):
        load_user_inputs(tmp_path / "s.npy", (4, 4, 3))
    np.save(tmp_path / "flat.npy", np.ones((3, 48)))
    assert load_user_inputs(tmp_path / "flat.npy", (4, 4, 3)).shape == (3, 4, 4, 3)


@pytest.mark.slow
def test_paths_with_spaces_work_end_to_end(tmp_path):
    root = tmp_path / "my runs"
    proc = cli(
        "train_qat.py",
        "--config",
        "models/digits_micae.yaml",
        "--epochs",
        "2",
        "--no-float-twin",
        "--out",
        root / "models dir",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = cli(
        "synthesize.py",
        "--model",
        root / "models dir" / "digits_micae",
        "--vectors",
        "300",
        "--hls-root",
        root / "hls dir",
        "--firmware-root",
        root / "fw dir",
        "--rtl",
        "on",
        "--rtl-vectors",
        "300",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (root / "fw dir" / "digits_micae" / "report.html").exists()
    rtl = root / "fw dir" / "digits_micae" / "rtl"
    rerun = subprocess.run(["bash", str(rtl / "run_sim.sh")], cwd=rtl, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "PASS 300" in rerun.stdout, rerun.stdout[-1000:] + rerun.stderr[-1000:]
