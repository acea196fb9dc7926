"""Latent-space probing: the arrays a training run writes (probing.npz) and the report pictures drawn from them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from test_report_html import _fake_report, _fake_run, check_page

PROBING_PLOTS = {"latent_map.png", "latent_interpolations.png", "latent_meshgrid.png", "latent_traversals.png"}


@pytest.fixture(scope="module")
def hgcal_run(tmp_path_factory):
    """A tiny HGCAL run (1 epoch): train_run itself writes probing.npz."""
    from micae.train.config import load_config
    from micae.train.run import train_run

    over = {
        "name": "probe",
        "dataset.n_samples": 1500,
        "train.epochs": 1,
        "train.batch_size": 128,
        "train.float_twin": False,
    }
    cfg = load_config("models/econt.yaml", over)
    run_dir, _ = train_run(cfg, tmp_path_factory.mktemp("probing"), force=True)
    return run_dir


@pytest.fixture(scope="module")
def loaded(hgcal_run):
    from micae.models.io import load_model
    from micae.train.probing import encoder_latent_type, find_decoder

    with np.load(hgcal_run / "probing.npz") as z:
        arrays = {k: z[k] for k in z.files}
    with np.load(hgcal_run / "test_evaluation.npz") as ev:
        latents = ev["latents"]
    return {
        "a": arrays,
        "info": json.loads((hgcal_run / "probing.json").read_text()),
        "z": latents.reshape(len(latents), -1).astype(np.float64),
        "decoder": find_decoder(load_model(hgcal_run / "micae.h5")),
        "type": encoder_latent_type(load_model(hgcal_run / "encoder.h5")),
    }


@pytest.mark.slow  # shares a 1-epoch HGCAL training run
def test_training_writes_probing_arrays(hgcal_run, loaded):
    a, info, z = loaded["a"], loaded["info"], loaded["z"]
    n, d = z.shape
    assert d == 16 and info["latent_dims"] == 16
    assert a["map_xy"].shape == (n, 2)
    assert a["interp_decoded"].shape == (4, 9, 1, 4, 4, 3) and a["interp_latents"].shape == (4, 9, 16)
    assert a["grid_decoded"].shape == (7, 7, 1, 4, 4, 3) and a["grid_latents"].shape == (7, 7, 16)
    assert a["trav_decoded"].shape == (8, 9, 1, 4, 4, 3) and a["trav_latents"].shape == (8, 9, 16)
    assert info["traversal"]["dims"] == a["trav_dims"].tolist()
    # the 8 traversed latents are the 8 of largest spread on the test split
    assert set(a["trav_dims"]) == set(np.argsort(-z.std(axis=0), kind="stable")[:8])
    # every decoded latent vector is on the latent grid: an integer number of LSBs, within the rails
    lt = loaded["type"]
    for key in ("interp_latents", "grid_latents", "trav_latents"):
        codes = a[key] / lt.lsb
        assert np.array_equal(codes, np.round(codes)), key
        assert a[key].min() >= lt.min_value and a[key].max() <= lt.max_value


@pytest.mark.slow  # shares a 1-epoch HGCAL training run
def test_interpolation_ends_are_the_samples_decoded(loaded):
    a, z = loaded["a"], loaded["z"]
    pairs = a["interp_pairs"]
    assert len({int(i) for i in pairs.ravel()}) == pairs.size  # no sample twice
    assert np.array_equal(a["interp_latents"][:, 0], z[pairs[:, 0]])
    assert np.array_equal(a["interp_latents"][:, -1], z[pairs[:, 1]])
    ends = np.concatenate([z[pairs[:, 0]], z[pairs[:, 1]]]).astype(np.float32)
    direct = loaded["decoder"].predict(ends, verbose=0)  # the micae.h5 decoder called on the samples' own codes
    got = np.concatenate([a["interp_decoded"][:, 0, 0], a["interp_decoded"][:, -1, 0]])
    # float32 decoder outputs of the same codes: equal to float32 rounding (oneDNN may sum in another order for
    # another batch); the codes themselves are compared exactly above
    np.testing.assert_allclose(got, direct, rtol=1e-5, atol=1e-7)
    # the middle of a path is not one of its ends
    assert not np.array_equal(a["interp_decoded"][:, 4], a["interp_decoded"][:, 0])


@pytest.mark.slow  # shares a 1-epoch HGCAL training run
def test_traversal_holds_the_other_latents(loaded):
    a, z = loaded["a"], loaded["z"]
    ref = int(a["trav_ref"])
    assert np.array_equal(a["trav_ref_latent"], z[ref])
    for row, d in enumerate(a["trav_dims"]):
        lat = a["trav_latents"][row]
        others = np.delete(lat, d, axis=1)
        assert np.array_equal(others, np.repeat(np.delete(z[ref], d)[None], lat.shape[0], axis=0))
        assert np.array_equal(lat[:, d], a["trav_values"][row])
        assert lat[0, d] == z[:, d].min() and lat[-1, d] == z[:, d].max()  # the observed range, ends included
        assert np.all(np.diff(lat[:, d]) >= 0)


@pytest.mark.slow  # shares a 1-epoch HGCAL training run
def test_meshgrid_centre_is_the_mean(loaded):
    from micae.train.probing import snap

    a = loaded["a"]
    assert np.array_equal(a["grid_latents"][3, 3], snap(loaded["z"].mean(axis=0), loaded["type"]))
    pc = (loaded["z"] - a["basis_mean"]) @ a["basis"].T
    assert np.allclose(pc, a["map_xy"], atol=1e-5)  # the map is the PCA scores (float32 on disk)
    assert np.allclose(a["basis"] @ a["basis"].T, np.eye(2), atol=1e-9)


@pytest.mark.slow  # shares a 1-epoch HGCAL training run
def test_compute_probing_for_an_old_run_reproduces_the_training_run(hgcal_run, loaded, tmp_path):
    from micae.train.probing import compute_probing

    old = tmp_path / "old"
    shutil.copytree(hgcal_run, old)
    (old / "probing.npz").unlink()
    (old / "probing.json").unlink()
    compute_probing(old)
    with np.load(old / "probing.npz") as z:
        assert sorted(z.files) == sorted(loaded["a"])
        for k in z.files:
            assert np.array_equal(z[k], loaded["a"][k]), k


def test_two_latent_map_is_the_latents_themselves(tf):
    from micae.fixed.types import FixedType
    from micae.models.decoder import build_decoder
    from micae.models.spec import DecoderSpec
    from micae.train.probing import probe, snap

    lt = FixedType(width=8, frac=5, signed=True)
    rng = np.random.default_rng(1)
    lat = np.round(rng.normal(0, 1, (50, 1, 2)) * 32) / 32
    x = rng.random((50, 1, 4, 4, 3)).astype(np.float32)
    dec = build_decoder(DecoderSpec(filters=4), 2, (4, 4, 3), seed=0)
    arrays, info = probe(dec, lat, x, lt, seed=3, options={"n_pairs": 2, "grid": 5})
    assert info["map"]["kind"] == "latents"
    assert np.array_equal(arrays["map_xy"], lat[:, 0].astype(np.float32))
    assert np.array_equal(arrays["basis"], np.eye(2))
    assert np.array_equal(arrays["grid_latents"][2, 2], snap(lat[:, 0].mean(axis=0), lt))
    assert arrays["grid_decoded"].shape == (5, 5, 1, 4, 4, 3) and len(arrays["interp_pairs"]) == 2
    # seeded: the same pairs again, other pairs with another seed
    again, _ = probe(dec, lat, x, lt, seed=3, options={"n_pairs": 2, "grid": 5})
    assert np.array_equal(again["interp_pairs"], arrays["interp_pairs"])


def test_pairs_join_different_labels():
    from micae.train.probing import pick_pairs

    x = np.ones((40, 1, 2, 2, 1))
    x[:5] = 0  # empty samples are never picked
    labels = np.arange(40) % 3
    pairs = pick_pairs(x, 6, seed=0, labels=labels)
    assert len(pairs) == 6 and (pairs >= 5).all()
    assert all(labels[a] != labels[b] for a, b in pairs)
    assert np.array_equal(pairs, pick_pairs(x, 6, seed=0, labels=labels))


@pytest.mark.slow  # shares a 1-epoch HGCAL training run
def test_report_draws_the_probing_pictures(hgcal_run, tmp_path):
    from micae.report.build import write_html_report

    fw = tmp_path / "fw"
    fw.mkdir()
    out = write_html_report(fw, hgcal_run, _fake_report("probe"))
    page = check_page(out, expect_images=True)
    plots = {p.name for p in (fw / "plots").glob("*.png")}
    assert plots >= PROBING_PLOTS
    assert "latent_projection.png" not in plots  # the probing map shows the same points
    assert "vae_prior.png" not in plots
    words = " ".join(page.text)
    assert "Latent-space probing" in words and "decoded with the QAT decoder" in words
    md = (fw / "report.md").read_text()
    for name in PROBING_PLOTS:
        assert f"(plots/{name})" in md


def test_report_without_probing_npz_says_how(tmp_path):
    """An old run (no probing.npz, objective ae): no probing or VAE pictures, a note; a broken file the same."""
    from micae.report.build import write_html_report
    from micae.report.probing_figures import make_probing_figures
    from micae.report.run_data import load_run
    from micae.report.sections_probing import probing

    run = _fake_run(tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**metrics, "objective": "ae"}))
    fw = tmp_path / "fw"
    fw.mkdir()
    page = check_page(write_html_report(fw, run, _fake_report()), expect_images=True)
    plots = {p.name for p in (fw / "plots").glob("*.png")}
    assert not (PROBING_PLOTS | {"vae_prior.png"}) & plots
    assert "latent_projection.png" in plots
    assert "has no probing.npz" in " ".join(page.text)
    assert "VAE" not in (fw / "report.md").read_text()
    (run / "probing.npz").write_bytes(b"PK\x03\x04 truncated")
    figs = make_probing_figures(tmp_path / "plots", load_run(run), _fake_report())
    assert set(figs) == {"probing_missing"}
    assert "probing.npz/json cannot be read" in probing(load_run(run), figs, tmp_path / "plots")[0].spans[0].text


def test_vae_prior_for_a_vae_run(tmp_path):
    from micae.report.build import write_html_report

    run = _fake_run(tmp_path / "run", latent=6)
    metrics = json.loads((run / "metrics.json").read_text())
    with np.load(run / "test_evaluation.npz") as z:
        ev = {k: z[k] for k in z.files}
    ev["latent_logvar"] = np.full(ev["latents"].shape, -1.0)
    np.savez_compressed(run / "test_evaluation.npz", **ev)
    (run / "metrics.json").write_text(json.dumps({**metrics, "objective": "vae"}))
    fw = tmp_path / "fw"
    fw.mkdir()
    check_page(write_html_report(fw, run, _fake_report()), expect_images=True)
    assert (fw / "plots" / "vae_prior.png").is_file()
    md = (fw / "report.md").read_text()
    assert "## VAE: prior and posterior means" in md and "aggregate posterior" in md
    # the fake latent z0 is constant: flagged as collapsed, with its KL from latent_logvar
    assert "have posterior means that barely move" in md and "z0" in md
    kl0 = 0.5 * (0.25**2 + np.exp(-1.0) - 1.0 + 1.0)
    assert f"| z0 | 0.25 | 0 | {np.exp(-0.5):.4g} | {kl0:.4g} |" in md


@pytest.mark.slow  # shares a 1-epoch HGCAL training run
def test_cli_report_computes_probing_once(hgcal_run, tmp_path, capsys):
    from micae.cli.report import main

    old = tmp_path / "models" / "probe"
    shutil.copytree(hgcal_run, old)
    (old / "probing.npz").unlink()
    fw = tmp_path / "firmware" / "probe"
    fw.mkdir(parents=True)
    (fw / "report.json").write_text(json.dumps(_fake_report("probe")))
    argv = ["--name", "probe", "--models-root", str(tmp_path / "models"), "--firmware-root", str(tmp_path / "firmware")]
    assert main(argv) == 0
    assert (old / "probing.npz").is_file() and (fw / "plots" / "latent_traversals.png").is_file()


def test_two_wafer_micae_pictures(tmp_path, tf):
    """HGCAL MICAE with 2 wafers per sample: probing of the 2 x 4 concatenated latents, drawn per wafer."""
    from micae.fixed.types import FixedType
    from micae.models.decoder import build_decoder
    from micae.models.spec import DecoderSpec
    from micae.report.build import write_html_report
    from micae.train.probing import write_probing

    run = _fake_run(tmp_path / "run", n=40, n_parts=2, latent=4)
    with np.load(run / "test_evaluation.npz") as ev, np.load(run / "test_data.npz") as data:
        lat, x = ev["latents"], data["x"]
    dec = build_decoder(DecoderSpec(filters=4), 8, (4, 4, 6), seed=0)
    info = write_probing(run, dec, lat, x, FixedType(width=9, frac=6, signed=True), seed=0)
    assert info["latent_dims"] == 8 and info["n_parts"] == 2
    with np.load(run / "probing.npz") as z:
        assert z["interp_decoded"].shape == (4, 9, 2, 4, 4, 3)
        assert z["trav_dims"].tolist() == [2, 3, 6, 7]  # the fake z0 and z1 are constant in both inputs
    fw = tmp_path / "fw"
    fw.mkdir()
    page = check_page(write_html_report(fw, run, _fake_report()), expect_images=True)
    words = " ".join(page.text)
    assert "Each row shows the wafer of the input (of 2) its latent belongs to" in words
    assert "shower energy (sum over 2 inputs)" in words
    assert {p.name for p in (fw / "plots").glob("*.png")} >= PROBING_PLOTS
