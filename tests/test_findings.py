"""micae findings: the verdict rules on hand-made numbers, the solitary-encoder trainer, the study end to end."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from conftest import REPO
from micae.errors import ConfigError, ConstraintError
from micae.findings import verdicts as v

DIGITS = REPO / "models" / "digits_micae.yaml"


# ---- verdicts: each rule decides both ways when the numbers change -------------------------------------------


def test_concatenation_verdict_follows_the_worst_part():
    ok = v.concatenation_verdict([0.01, 0.02], [0.1, 0.1], minimum=0.5)
    assert ok.status == v.CONFIRMED
    assert ok.numbers["explained_fraction"] == pytest.approx([0.9, 0.8])
    bad = v.concatenation_verdict([0.01, 0.06], [0.1, 0.1], minimum=0.5)  # part 1 explains only 0.4
    assert bad.status == v.NOT_CONFIRMED
    assert "part 1" in bad.evidence


def test_reproduction_verdict_compares_each_part_with_its_own_cae():
    assert v.reproduction_verdict([0.0105, 0.02], [0.01, 0.02], tolerance=0.1).status == v.CONFIRMED
    bad = v.reproduction_verdict([0.0105, 0.025], [0.01, 0.02], tolerance=0.1)  # part 1 is 25% worse
    assert bad.status == v.NOT_CONFIRMED
    assert bad.numbers["ratios"] == pytest.approx([1.05, 1.25])


def test_ratio_verdict_is_a_symmetric_band():
    assert v.ratio_verdict("c", 1.05, 1.0, 0.1, "a", "b").status == v.CONFIRMED
    worse = v.ratio_verdict("c", 1.2, 1.0, 0.1, "a", "b")
    better = v.ratio_verdict("c", 0.8, 1.0, 0.1, "a", "b")
    assert worse.status == better.status == v.NOT_CONFIRMED
    assert "worse than" in worse.evidence and "better than" in better.evidence


def test_saturation_verdicts_flip_with_the_curve():
    lats = [8, 16, 32, 64, 128]
    sat = v.saturation_verdicts(lats, [1.0, 0.5, 0.3, 0.2, 0.199], 0.05, (32, 128))
    assert [x.status for x in sat] == [v.CONFIRMED, v.CONFIRMED]
    assert sat[0].numbers["l_sat"] == 64
    still_improving = v.saturation_verdicts(lats, [1.0, 0.5, 0.3, 0.2, 0.1], 0.05, (32, 128))
    assert [x.status for x in still_improving] == [v.NOT_CONFIRMED, v.INCONCLUSIVE]
    early = v.saturation_verdicts(lats, [1.0, 0.5, 0.49, 0.49, 0.48], 0.05, (32, 128))
    assert early[0].numbers["l_sat"] == 16
    assert [x.status for x in early] == [v.CONFIRMED, v.NOT_CONFIRMED]
    # the order of the points does not matter; one point cannot show anything
    assert v.saturation_verdicts(lats[::-1], [0.199, 0.2, 0.3, 0.5, 1.0], 0.05, (32, 128))[0].numbers["l_sat"] == 64
    assert {x.status for x in v.saturation_verdicts([16], [0.1], 0.05, (32, 128))} == {v.INCONCLUSIVE}


def test_overfitting_verdict_flips_on_a_rising_or_high_validation_loss():
    train = [1.0, 0.6, 0.4, 0.3, 0.25, 0.22, 0.2, 0.19]
    good = v.overfitting_verdict("MICAE", train, [0.9, 0.6, 0.42, 0.32, 0.27, 0.23, 0.21, 0.2], 1.1, 0.05, last=3)
    assert good.status == v.CONFIRMED
    rising = v.overfitting_verdict("MICAE", train, [0.9, 0.6, 0.42, 0.32, 0.3, 0.33, 0.36, 0.4], 1.1, 0.05, last=3)
    assert rising.status == v.NOT_CONFIRMED and "above its minimum" in rising.evidence
    gap = v.overfitting_verdict("CAE", train, [1.2 * t for t in train], 1.1, 0.05, last=3)
    assert gap.status == v.NOT_CONFIRMED and gap.numbers["val_train_ratio"] == pytest.approx(1.2)
    assert v.overfitting_verdict("CAE", [], [], 1.1, 0.05).status == v.INCONCLUSIVE


def test_combine_needs_every_check():
    c, n, i = (v.Verdict("x", s, "", "") for s in (v.CONFIRMED, v.NOT_CONFIRMED, v.INCONCLUSIVE))
    assert v.combine("x", [c, c]).status == v.CONFIRMED
    assert v.combine("x", [c, n, i]).status == v.NOT_CONFIRMED
    assert v.combine("x", [c, i]).status == v.INCONCLUSIVE


# ---- the study file ------------------------------------------------------------------------------------------


def _study(folder, datasets: dict, **extra):
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "datasets": datasets, **extra}))
    return path


def _digits(**kw) -> dict:
    entry = {"base": str(DIGITS), "latent": 4, "sweep_latents": [2, 4], "set": {"train.epochs": 1}}
    entry.update(kw)
    return entry


def test_study_file_errors_name_the_key(tmp_path):
    from micae.findings import load_study

    with pytest.raises(ConfigError, match="unknown key"):
        load_study(_study(tmp_path, {"digits": _digits()}, epochs=3))
    with pytest.raises(ConfigError, match="may not set"):
        load_study(_study(tmp_path, {"digits": _digits(set={"encoder.latent": 8})}))
    with pytest.raises(ConfigError, match="sweep_latents"):
        load_study(_study(tmp_path, {"digits": _digits(sweep_latents=[0, 4])}))
    # 16 pixels -> 64 latents breaks the default min_compression 3: refused before anything trains
    with pytest.raises(ConstraintError):
        load_study(_study(tmp_path, {"digits": _digits(sweep_latents=[4, 64])}))
    study = load_study(_study(tmp_path, {"digits": _digits(sweep_latents=[4, 64], set={"min_compression": 0.25})}))
    assert study.datasets[0].sweep_latents == [4, 64]


# ---- the solitary trainer -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solitary(tmp_path_factory):
    """Two parts of 4x4x1 random tiles, one epoch: N = 2 solitary encoders and their concatenation."""
    from micae.findings.solitary import build_solitary, train_solitary
    from micae.train.config import load_config

    cfg = load_config(DIGITS, sets=["train.epochs=1", "train.batch_size=32", "encoder.latent=4"])
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 17, size=(160, 2, 4, 4, 1)) / 16).astype(np.float32)
    ds = SimpleNamespace(
        x_train=x[:96], x_val=x[96:128], x_test=x[128:], n_parts=2, input_shape=(4, 4, 1), layout="image"
    )
    initial = [e.get_weights() for e in build_solitary(cfg, ds.input_shape, 2)[0]]
    models = train_solitary(cfg, ds, tmp_path_factory.mktemp("solitary"))
    return models, ds, initial


def test_solitary_encoders_are_distinct_and_frozen(solitary):
    models, _, initial = solitary
    e0, e1 = models.encoders
    assert e0 is not e1 and e0.name != e1.name
    assert not np.array_equal(initial[0][0], initial[1][0])  # different seeds: different starting weights
    assert not np.array_equal(e0.get_weights()[0], e1.get_weights()[0])
    assert not e0.trainable and not e1.trainable
    assert set(models.phases) == {"solo0", "solo1", "concat"}
    assert all(p["epochs_run"] == 1 for p in models.phases.values())


def test_concatenation_is_in_part_order_and_the_decoder_sees_both(solitary):
    import tensorflow as tf

    models, ds, _ = solitary
    x = ds.x_test
    z = tf.keras.Model(models.concat.inputs, models.concat.get_layer("latents").output)
    got = z.predict([x[:, 0], x[:, 1]], verbose=0)
    want = np.concatenate([models.encoders[i].predict(x[:, i], verbose=0) for i in range(2)], axis=-1)
    np.testing.assert_array_equal(got, want)  # quantized latents: exactly the same values
    decoder = models.concat.layers[-1]
    assert decoder.input_shape[-1] == 8  # 2 parts x 4 latents
    base = models.concat.predict([x[:, 0], x[:, 1]], verbose=0)
    for part in range(2):
        changed = [x[:, 0], x[:, 1]]
        changed[part] = x[::-1, part]
        assert not np.array_equal(models.concat.predict(changed, verbose=0), base), f"part {part} is ignored"


def test_own_reconstructions_use_each_parts_cae(solitary):
    from micae.findings.solitary import own_reconstructions, parameter_counts

    models, ds, _ = solitary
    own = own_reconstructions(models, ds.x_test)
    assert own.shape == ds.x_test.shape
    np.testing.assert_array_equal(own[:, 1], models.caes[1].predict(ds.x_test[:, 1], verbose=0))
    counts = parameter_counts(models)
    enc = models.encoders[0].count_params()
    assert counts["total"] == models.concat.count_params() == 2 * enc + counts["trainable_final"]
    assert counts["trained_all"] > counts["total"]  # the two CAE decoders were trained too


# ---- the whole study -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_findings_end_to_end(tmp_path):
    """A test-sized study (digits, 300 samples, 1 epoch, latent grid [2, 4]): every finding on the page."""
    from micae.cli.findings import main

    cfg = _study(
        tmp_path,
        {"digits": _digits(set={"dataset.n_samples": 300, "train.epochs": 1, "train.float_twin": False})},
        workers=2,
    )
    assert main(["--config", str(cfg), "--out", str(tmp_path / "out")]) == 0
    root = tmp_path / "out" / "tiny"
    result = json.loads((root / "findings.json").read_text())
    assert [f["id"] for f in result["findings"]] == [1, 2, 3, 4, 5, 6]
    for f in result["findings"]:
        assert f["checks"], f"finding {f['id']} has no check"
        assert {c["status"] for c in f["checks"]} <= {v.CONFIRMED, v.NOT_CONFIRMED, v.INCONCLUSIVE}
    assert set(result["comparisons"]["digits"]) == {"solitary", "frozen", "joint"}
    assert [p["latent"] for p in result["sweeps"]["digits"]["points"]] == [2, 4]
    assert all(p["status"] == "ok" for p in result["sweeps"]["digits"]["points"])
    html = (root / "findings.html").read_text()
    for f in result["findings"]:
        assert f["claim"] in html
    for png in ("comparison.png", "latent_sweep.png", "loss_curves.png"):
        assert (root / "plots" / png).stat().st_size > 1000
    with pytest.raises(ConfigError, match="already exists"):  # a finished study is not overwritten
        main(["--config", str(cfg), "--out", str(tmp_path / "out")])
    # the verdicts are computed: thresholds nothing can miss confirm findings 1-4, nothing is retrained
    loose = {"explained_min": -1e9, "similar": 1e9}
    cfg.write_text(yaml.safe_dump({**yaml.safe_load(cfg.read_text()), "tolerances": loose}))
    assert main(["--config", str(cfg), "--out", str(tmp_path / "out"), "--page-only"]) == 0
    again = json.loads((root / "findings.json").read_text())
    assert [f["status"] for f in again["findings"][:4]] == [v.CONFIRMED] * 4
    assert again["comparisons"] == result["comparisons"]
