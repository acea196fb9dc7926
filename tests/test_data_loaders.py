"""Loaders (ECON-T CSV, npz, digits, hgcal-synth), normalisation, splits and load_dataset."""

from __future__ import annotations

import numpy as np
import pytest

from micae.data import Dataset, arrange, load_dataset, split_indices, validate_array
from micae.data.digits import tile_images, untile_images
from micae.data.econt_csv import load_econt_csv
from micae.data.normalise import maxcharge, normalise, sumlog2
from micae.errors import ConfigError, DataError

ROWS = np.array(
    [
        [3] + [0] * 47,
        [0] * 48,  # dropped: zero sum
        list(range(48)),
        [5] * 48,
    ],
    dtype=np.int64,
)


def write_csv(path, rows, extra=("7", "label")):
    lines = [",".join([str(v) for v in r] + list(extra)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- ECON-T CSV


def test_csv_reads_48_columns_and_drops_zero_rows(tmp_path):
    p = write_csv(tmp_path / "ok.csv", ROWS)
    data, info = load_econt_csv(p)
    np.testing.assert_array_equal(data, ROWS[[0, 2, 3]])
    assert data.dtype == np.float64
    assert info["rows_read"] == 4 and info["rows_dropped_zero_sum"] == 1 and info["n_columns"] == 50
    assert len(info["sha256"]) == 64
    data2, _ = load_econt_csv(p, max_rows=2)
    np.testing.assert_array_equal(data2, ROWS[[0, 2]])


def test_csv_without_final_newline_and_crlf(tmp_path):
    p = tmp_path / "crlf.csv"
    p.write_text("\r\n".join(",".join(map(str, r)) for r in ROWS))  # no final newline, full last row
    data, _ = load_econt_csv(p)
    assert data.shape == (3, 48)


def _csv_error(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(DataError) as exc:
        load_econt_csv(p)
    return str(exc.value), exc.value


def _good_line(v=1):
    return ",".join([str(v)] * 48)


def test_csv_too_few_columns(tmp_path):
    msg, err = _csv_error(tmp_path, "\n".join([",".join(["1"] * 40)] * 3) + "\n")
    assert "40 columns" in msg and "48" in msg and err.fix


def test_csv_ragged(tmp_path):
    lines = [_good_line()] * 5
    lines[2] = ",".join(["1"] * 47)
    msg, _ = _csv_error(tmp_path, "\n".join(lines) + "\n")
    assert "ragged" in msg and "line 3" in msg and "47 columns" in msg


def test_csv_non_numeric(tmp_path):
    cells = ["1"] * 48
    cells[5] = "abc"
    msg, _ = _csv_error(tmp_path, _good_line() + "\n" + ",".join(cells) + "\n")
    assert "line 2, column 5 (CALQ_5)" in msg and "'abc' is not a number" in msg


def test_csv_bad_first_line_without_header_names_the_cell(tmp_path):
    cells = ["1"] * 48
    cells[3] = "x"  # one stray word among numbers is a bad cell, not a header
    msg, err = _csv_error(tmp_path, ",".join(cells) + "\n" + _good_line() + "\n")
    assert "line 1, column 3 (CALQ_3)" in msg and "'x' is not a number" in msg
    assert "CALQ_0..CALQ_47" in err.fix and "remove the header" not in err.fix


@pytest.mark.parametrize("token", ["nan", "inf", "-inf"])
def test_csv_non_finite(tmp_path, token):
    cells = ["1"] * 48
    cells[7] = token
    msg, _ = _csv_error(tmp_path, _good_line() + "\n" + _good_line() + "\n" + ",".join(cells) + "\n")
    assert "line 3, column 7" in msg and "not finite" in msg


def test_csv_negative(tmp_path):
    cells = ["1"] * 48
    cells[47] = "-2"
    msg, _ = _csv_error(tmp_path, ",".join(cells) + "\n")
    assert "line 1, column 47 (CALQ_47)" in msg and "negative charge -2" in msg


def test_csv_empty(tmp_path):
    msg, _ = _csv_error(tmp_path, "")
    assert "empty" in msg
    msg, _ = _csv_error(tmp_path, "\n\n", name="blank.csv")
    assert "empty" in msg


def test_csv_truncated_last_line(tmp_path):
    text = _good_line(2) + "\n" + _good_line(3) + "\n" + ",".join(["4"] * 20)
    msg, err = _csv_error(tmp_path, text)
    assert "truncated" in msg and "line 3" in msg and "20 columns" in msg and "no final newline" in msg
    assert "delete the last line" in err.fix


def test_csv_blank_line_inside(tmp_path):
    msg, _ = _csv_error(tmp_path, _good_line() + "\n\n" + _good_line() + "\n")
    assert "line 2 is empty" in msg


def test_csv_missing_file_and_all_zero(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_econt_csv(tmp_path / "nope.csv")
    msg, _ = _csv_error(tmp_path, _good_line(0) + "\n")
    assert "zero total charge" in msg


# ---------------------------------------------------------------- normalisation


def test_sumlog2_values():
    tc = np.zeros((4, 48))
    tc[0, 0] = 3  # sum 3 -> scale 2
    tc[1, :8] = 1  # sum 8 -> scale 8
    tc[2, :3] = [0.25, 0.25, 0.2]  # sum 0.7 -> scale 0.5
    x, scale = sumlog2(tc)  # row 3: zero sum
    assert x.dtype == np.float32
    np.testing.assert_array_equal(scale, [2, 8, 0.5, 1])
    assert x[0, 0] == 1.5 and x[1, 0] == 0.125
    np.testing.assert_allclose(x[2, :3], [0.5, 0.5, 0.4], rtol=1e-6)
    assert np.all(x[3] == 0) and np.all(np.isfinite(x))
    np.testing.assert_allclose(x[:3] * scale[:3, None], tc[:3], rtol=1e-6)


def test_sumlog2_range_on_random_charges():
    rng = np.random.default_rng(0)
    tc = rng.integers(0, 5000, (1000, 48)) * (rng.random((1000, 48)) < 0.2)
    tc[:, 0] += 1
    x, _ = sumlog2(tc)
    sums = x.sum(axis=1)
    assert x.min() >= 0 and x.max() < 2
    assert np.all((sums >= 1 - 1e-6) & (sums < 2))


def test_maxcharge_and_none():
    tc = np.array([[2.0, 4.0] + [0.0] * 46, [0.0] * 48])
    x, scale = maxcharge(tc)
    np.testing.assert_array_equal(x[0, :2], [0.5, 1.0])
    assert np.all(x[1] == 0) and scale[1] == 1
    x, scale = normalise(tc, "none")
    np.testing.assert_array_equal(x, tc.astype(np.float32))
    with pytest.raises(ConfigError, match="sumlog2"):
        normalise(tc, "zscore")


# ---------------------------------------------------------------- splits / Dataset


def test_split_indices():
    a = split_indices(100, (0.8, 0.1, 0.1), seed=1)
    b = split_indices(100, (0.8, 0.1, 0.1), seed=1)
    c = split_indices(100, (0.8, 0.1, 0.1), seed=2)
    assert [len(i) for i in a] == [80, 10, 10]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    assert sorted(np.concatenate(a)) == list(range(100))
    assert [len(i) for i in split_indices(7, (1.0, 0.0, 0.0))] == [7, 0, 0]
    with pytest.raises(ConfigError, match="summing to 1"):
        split_indices(10, (0.5, 0.1, 0.1))
    with pytest.raises(DataError, match="too few"):
        split_indices(5, (0.8, 0.1, 0.1))


def test_validate_array_and_dataset_checks():
    good = np.zeros((3, 1, 4, 4, 3), np.float32)
    validate_array(good, "x", rank=5)
    with pytest.raises(DataError, match="dtype float64"):
        validate_array(good.astype(np.float64), "x")
    bad = good.copy()
    bad[1, 0, 2, 3, 1] = np.nan
    with pytest.raises(DataError, match=r"non-finite.*\(1, 0, 2, 3, 1\)"):
        validate_array(bad, "x", rank=5)
    with pytest.raises(DataError, match="rank 4"):
        validate_array(good[:, 0], "x", rank=5)
    with pytest.raises(DataError, match="x_val"):
        Dataset("t", good, bad, good, (4, 4, 3), 1, "4x4x3")


# ---------------------------------------------------------------- load_dataset


def test_hgcal_synth_dataset_shapes_and_determinism():
    a = load_dataset("hgcal-synth", n_samples=200, seed=5)
    b = load_dataset("hgcal-synth", n_samples=200, seed=5)
    c = load_dataset("hgcal-synth", n_samples=200, seed=6)
    assert a.x_train.shape == (160, 1, 4, 4, 3) and a.x_val.shape == (20, 1, 4, 4, 3)
    assert a.x_train.dtype == np.float32 and a.sizes == {"train": 160, "val": 20, "test": 20}
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_train, c.x_train)
    # sumlog2: each wafer sums to [1, 2)
    sums = a.x_train.reshape(160, -1).sum(axis=1)
    assert np.all((sums >= 1 - 1e-5) & (sums < 2))
    assert set(a.aux["train"]) == {
        "energy",
        "impact_x",
        "impact_y",
        "n_showers",
        "norm_scale",
        "module_sum",  # integer charges: the chip's 5E4M module sum, decoded and normalised
        "module_sum_code",
        "calq",  # the raw integer CALQ, for the chip's algorithms
    }
    # the raw integer CALQ rides along (for the chip's algorithms): normalised, it gives the model input
    calq = a.aux["train"]["calq"]
    assert calq.dtype == np.int32 and calq.shape == (160, 48)
    np.testing.assert_allclose(calq.sum(axis=1) / a.aux["train"]["norm_scale"], sums, rtol=1e-6)
    assert a.meta["seed"] == 5 and a.meta["generator"]["name"] == "micae.data.hgcal_synth"
    assert a.meta["normalisation"]["method"] == "sumlog2" and a.meta["sizes"]["test"] == 20


def test_hgcal_synth_8x8_and_parts():
    ds = load_dataset(
        "hgcal-synth", n_samples=50, layout="8x8", n_parts=3, normalisation="maxcharge", split=(0.6, 0.2, 0.2)
    )
    assert ds.x_train.shape == (30, 3, 8, 8, 1) and ds.n_parts == 3 and ds.input_shape == (8, 8, 1)
    assert ds.aux["train"]["energy"].shape == (30, 3)
    from micae.data.geometry import pixel_mask

    assert np.all(ds.x_train[..., pixel_mask("8x8") == 0] == 0)
    assert ds.x_train.max() <= 1.0


def test_csv_dataset_groups_consecutive_wafers(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.integers(1, 100, (10, 48))
    p = write_csv(tmp_path / "w.csv", rows)
    ds = load_dataset("econt-csv", path=str(p), n_parts=2, split=(1.0, 0.0, 0.0))
    assert ds.x_train.shape == (5, 2, 4, 4, 3) and ds.x_val.shape == (0, 2, 4, 4, 3)
    expect = arrange(sumlog2(rows)[0], "4x4x3").reshape(5, 2, 4, 4, 3)
    got = sorted(map(bytes, ds.x_train))
    assert got == sorted(map(bytes, expect))
    assert ds.meta["source"]["sha256"] and ds.meta["source"]["rows_read"] == 10
    with pytest.raises(ConfigError, match="path"):
        load_dataset("econt-csv")


def test_digits_tiling():
    ds = load_dataset("digits", tiles=4)
    n = sum(ds.sizes.values())
    assert n == 1797 and ds.x_train.shape[1:] == (4, 4, 4, 1) and ds.n_parts == 4 and ds.layout == "image"
    assert ds.x_train.min() >= 0 and ds.x_train.max() <= 1 and ds.x_train.max() == 1
    assert set(np.unique(ds.aux["train"]["label"])) == set(range(10))
    img = np.arange(64, dtype=np.float32).reshape(1, 8, 8)
    t4 = tile_images(img, 4)
    np.testing.assert_array_equal(t4[0, 1, :, :, 0], img[0, :4, 4:])  # tile 1 = top-right
    np.testing.assert_array_equal(t4[0, 2, :, :, 0], img[0, 4:, :4])  # tile 2 = bottom-left
    assert tile_images(img, 1).shape == (1, 1, 8, 8, 1)
    t16 = tile_images(img, 16)
    assert t16.shape == (1, 16, 2, 2, 1)
    np.testing.assert_array_equal(t16[0, 5, :, :, 0], img[0, 2:4, 2:4])
    np.testing.assert_array_equal(untile_images(t16), img)
    with pytest.raises(ConfigError, match="tiles"):
        load_dataset("digits", tiles=3)
    with pytest.raises(ConfigError, match="n_parts"):
        load_dataset("digits", tiles=4, n_parts=2)


def test_unknown_dataset_lists_valid():
    with pytest.raises(ConfigError) as exc:
        load_dataset("mnist")
    assert "hgcal-synth" in str(exc.value) and "econt-csv" in str(exc.value) and "npz" in str(exc.value)


# ---------------------------------------------------------------- npz


def test_npz_tc_charges_and_model_input(tmp_path):
    rng = np.random.default_rng(1)
    tc = rng.integers(0, 50, (20, 48))
    tc[:, 3] += 1
    p = tmp_path / "tc.npz"
    np.savez(p, x=tc, y=np.arange(20))
    ds = load_dataset("npz", path=str(p), layout="8x8")
    assert ds.x_train.shape == (16, 1, 8, 8, 1) and ds.meta["normalisation"]["method"] == "sumlog2"
    assert sorted(np.concatenate([ds.aux[s]["y"] for s in ("train", "val", "test")])) == list(range(20))

    img = rng.random((30, 4, 4, 3)).astype(np.float64)
    p2 = tmp_path / "img.npz"
    np.savez(p2, x=img)
    ds2 = load_dataset("npz", path=str(p2))
    assert ds2.x_train.shape == (24, 1, 4, 4, 3) and ds2.x_train.dtype == np.float32

    parts = rng.random((30, 2, 5, 5, 1))
    p3 = tmp_path / "parts.npz"
    np.savez(p3, x=parts)
    ds3 = load_dataset("npz", path=str(p3), layout="image", n_parts=2)
    assert ds3.input_shape == (5, 5, 1) and ds3.x_test.shape == (3, 2, 5, 5, 1)


def _npz_error(path, **kw):
    with pytest.raises(DataError) as exc:
        load_dataset("npz", path=str(path), **kw)
    return str(exc.value)


def test_npz_errors(tmp_path):
    assert "not found" in _npz_error(tmp_path / "missing.npz")

    p = tmp_path / "k.npz"
    np.savez(p, inputs=np.zeros((4, 48)), labels=np.zeros(4))
    msg = _npz_error(p)
    assert "no array named 'x'" in msg and "inputs" in msg and "labels" in msg

    p = tmp_path / "s.npz"
    np.savez(p, x=np.zeros((10, 5, 5, 3)))
    msg = _npz_error(p, layout="4x4x3")
    assert "(10, 5, 5, 3)" in msg and "expected (N, 1, 4, 4, 3) or (N, 4, 4, 3)" in msg

    p = tmp_path / "n.npz"
    x = np.ones((10, 4, 4, 3))
    x[2, 1, 1, 0] = np.nan
    np.savez(p, x=x)
    assert "non-finite" in _npz_error(p) and "(2, 1, 1, 0)" in _npz_error(p)

    p = tmp_path / "str.npz"
    np.savez(p, x=np.array([["a"] * 48] * 3))
    assert "non-numeric dtype" in _npz_error(p)

    p = tmp_path / "obj.npz"
    np.savez(p, x=np.array([np.zeros(2), np.zeros(3)], dtype=object))
    assert "object" in _npz_error(p)

    p = tmp_path / "corrupt.npz"
    p.write_bytes(b"PK\x03\x04 this is not really a zip archive" * 10)
    assert "corrupt" in _npz_error(p) or "not a readable" in _npz_error(p)

    p = tmp_path / "neg.npz"
    tc = np.ones((5, 48))
    tc[3, 9] = -1
    np.savez(p, x=tc)
    assert "negative charge -1.0 at sample 3, TC 9" in _npz_error(p)

    p = tmp_path / "y.npz"
    np.savez(p, x=np.ones((5, 48)), y=np.arange(4))
    assert "'y' has shape (4,)" in _npz_error(p)
