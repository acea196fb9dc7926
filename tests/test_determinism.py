"""Same config and seed: same weights, same tb_data, same Verilog, byte for byte."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest


def _digest(folder, pattern):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob(pattern))
        if p.is_file()
    }


@pytest.mark.slow
def test_two_runs_are_identical(tmp_path, tf):
    from micae.models.io import load_model
    from micae.synthesize import SynthRequest, synthesize
    from micae.train.config import load_config
    from micae.train.run import train_run

    outs = []
    for run in ("a", "b"):
        cfg = load_config("models/digits_micae.yaml", {"train.epochs": 3, "train.float_twin": False})
        out, _ = train_run(cfg, tmp_path / run, force=True)
        synthesize(
            SynthRequest(
                model=out,
                hls_root=tmp_path / run / "hls",
                firmware_root=tmp_path / run / "fw",
                vectors=400,
                rtl_vectors=400,
                vendor="off",
                rtl="auto",
            )
        )
        outs.append(tmp_path / run)
    a, b = (load_model(o / "digits_micae" / "encoder.h5") for o in outs)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    tb = [_digest(o / "hls" / "digits_micae" / "tb_data", "*.dat") for o in outs]
    assert tb[0] and tb[0] == tb[1]
    fw = [_digest(o / "fw" / "digits_micae", "rtl/**/*") for o in outs]  # Verilog, vectors, cocotb export
    assert fw[0] == fw[1]
    assert any(name.endswith(".v") for name in fw[0]), "no Verilog was written"
