"""ECON-T CSVs with a CALQ header: the public files as they are, columns by name, metadata in aux, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import SHARED

from micae.data import load_dataset
from micae.data.econt_csv import CALQ_NAMES, load_econt_csv, read_econt_csv
from micae.errors import DataError

PUBLIC = SHARED / "data" / "econt-public"
PILEUP, TTBAR = PUBLIC / "CALQ_output_head.csv", PUBLIC / "ttbar_0PU.csv"


def _public(path):
    if not path.is_file():
        pytest.skip(f"public ECON-T file not found at {path} (clone shared/ beside the repo)")
    return path


def _raw_rows(path):
    """The file's data lines parsed independently of the loader (csv module, every row, ints)."""
    import csv

    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    return header, np.array([[int(c) for c in r] for r in body], dtype=np.int64)


@pytest.mark.parametrize(("name", "lines"), [("pileup", 4000), ("ttbar", 38382)])
def test_public_files_load_unmodified(name, lines):
    path = _public(PILEUP if name == "pileup" else TTBAR)
    header, raw = _raw_rows(path)
    assert header == list(CALQ_NAMES) and len(raw) == lines
    table = read_econt_csv(path)
    zero = raw.sum(axis=1) == 0
    assert table.info["header"] is True and table.info["rows_read"] == lines
    assert table.info["rows_dropped_zero_sum"] == int(zero.sum())
    assert table.info["rows_kept"] == lines - int(zero.sum()) == len(table.charges)
    np.testing.assert_array_equal(table.charges.astype(np.int64), raw[~zero])
    assert table.columns == {}


def test_public_file_dataset_counts_dropped_rows(tmp_path):
    path = _public(PILEUP)
    _, raw = _raw_rows(path)
    body = "\n".join(",".join(map(str, r)) for r in raw[:300])
    zeros = "\n".join([",".join(["0"] * 48)] * 7)
    f = tmp_path / "with_zeros.csv"
    f.write_text(",".join(CALQ_NAMES) + "\n" + zeros + "\n" + body + "\n")
    ds = load_dataset("econt-csv", path=str(f))
    assert ds.meta["wafers_dropped_zero_sum"] == 7 + int((raw[:300].sum(1) == 0).sum())
    assert ds.meta["source"]["rows_read"] == 307 and sum(ds.sizes.values()) == 300


def _write(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def test_shuffled_header_gives_the_same_charges(tmp_path):
    rng = np.random.default_rng(1)
    q = rng.integers(0, 500, (50, 48)) * (rng.random((50, 48)) < 0.4)
    q[3] = 0  # an all-zero wafer, dropped in both files
    plain = _write(tmp_path / "plain.csv", CALQ_NAMES, q)
    perm = rng.permutation(48)
    shuffled = _write(tmp_path / "shuffled.csv", [CALQ_NAMES[k] for k in perm], q[:, perm])
    a, b = read_econt_csv(plain), read_econt_csv(shuffled)
    np.testing.assert_array_equal(a.charges, b.charges)
    np.testing.assert_array_equal(a.charges.astype(np.int64), np.delete(q, 3, axis=0))
    assert b.info["rows_dropped_zero_sum"] == 1
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("\n".join(",".join(map(str, r)) for r in q) + "\n")
    np.testing.assert_array_equal(load_econt_csv(headerless)[0], a.charges)


def test_metadata_columns_land_in_aux(tmp_path):
    from micae.data import unarrange

    rng = np.random.default_rng(2)
    n = 40
    q = rng.integers(1, 90, (n, 48))
    q[5] = 0
    eta = np.round(rng.uniform(1.5, 3.0, n), 3)
    mod = np.where(np.arange(n) % 3 == 0, "HD", "LD")
    layer = np.arange(n) % 7 + 1
    frac = np.round(rng.random(n), 4)
    header = ["wafer", "tc_eta", *CALQ_NAMES[:20], "ModType", *CALQ_NAMES[20:], "layer", "SimEnergyFraction"]
    rows = [[i, eta[i], *q[i, :20], mod[i], *q[i, 20:], layer[i], frac[i]] for i in range(n)]
    path = _write(tmp_path / "meta.csv", header, rows)
    table = read_econt_csv(path)
    keep = np.arange(n) != 5
    assert table.info["metadata"] == {
        "wafer": "int64",
        "tc_eta": "float64",
        "ModType": "string",
        "layer": "int64",
        "SimEnergyFraction": "float64",
    }
    np.testing.assert_array_equal(table.columns["tc_eta"], eta[keep])
    assert table.columns["ModType"].tolist() == mod[keep].tolist()
    np.testing.assert_array_equal(table.columns["layer"], layer[keep])
    ds = load_dataset("econt-csv", path=str(path), split=(0.5, 0.25, 0.25))
    assert ds.meta["metadata_columns"] == sorted(["wafer", "tc_eta", "ModType", "layer", "SimEnergyFraction"])
    seen = []
    for split in ("train", "val", "test"):
        aux = ds.aux[split]
        assert {"wafer", "tc_eta", "ModType", "layer", "SimEnergyFraction", "norm_scale"} <= set(aux)
        # every wafer keeps its own metadata and its own charges through the shuffle into splits
        charges = unarrange(ds.split(split)[:, 0], "4x4x3") * aux["norm_scale"][:, None]
        for i, row in zip(aux["wafer"], charges):
            assert aux["layer"][list(aux["wafer"]).index(i)] == layer[i]
            np.testing.assert_array_equal(np.rint(row).astype(np.int64), q[i])
        assert [mod[i] for i in aux["wafer"]] == aux["ModType"].tolist()
        np.testing.assert_array_equal(aux["tc_eta"], eta[aux["wafer"]])
        seen += list(aux["wafer"])
    assert sorted(seen) == [i for i in range(n) if i != 5]


def test_metadata_with_reserved_name_is_refused(tmp_path):
    path = _write(tmp_path / "r.csv", [*CALQ_NAMES, "norm_scale"], [[1] * 48 + [2]] * 4)
    with pytest.raises(DataError, match="norm_scale"):
        load_dataset("econt-csv", path=str(path))


def test_pandas_numbered_header_is_skipped(tmp_path):
    q = np.arange(1, 49)[None].repeat(3, 0)
    path = _write(tmp_path / "p.csv", [str(j) for j in range(50)], [[*r, 7, 8] for r in q])
    table = read_econt_csv(path)
    np.testing.assert_array_equal(table.charges, q)
    assert table.info["rows_read"] == 3 and "column numbers" in table.info["charge_columns"]


# ---------------------------------------------------------------- errors


def _error(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as exc:
        read_econt_csv(path)
    return str(exc.value), exc.value


def test_header_missing_calq_names(tmp_path):
    names = [n for n in CALQ_NAMES if n not in ("CALQ_3", "CALQ_17", "CALQ_18", "CALQ_19")] + ["a", "b", "c", "d"]
    msg, err = _error(tmp_path, ",".join(names) + "\n" + ",".join(["1"] * 48) + "\n")
    assert "lacks 4 of the 48 charge columns: CALQ_3, CALQ_17..CALQ_19" in msg
    assert "CALQ_0..CALQ_47" in err.fix


def test_header_without_any_calq_name(tmp_path):
    names = [f"tc{k}" for k in range(48)]
    msg, _ = _error(tmp_path, ",".join(names) + "\n" + ",".join(["1"] * 48) + "\n")
    assert "lacks 48 of the 48 charge columns: CALQ_0..CALQ_47" in msg


def test_header_duplicate_name(tmp_path):
    names = [*CALQ_NAMES, "CALQ_5"]
    msg, _ = _error(tmp_path, ",".join(names) + "\n" + ",".join(["1"] * 49) + "\n")
    assert "'CALQ_5' twice (columns 5 and 48)" in msg
    names = [*CALQ_NAMES, "layer", "layer"]
    msg, _ = _error(tmp_path, ",".join(names) + "\n" + ",".join(["1"] * 50) + "\n")
    assert "'layer' twice (columns 48 and 49)" in msg


def test_header_non_numeric_charge_names_line_and_column(tmp_path):
    perm = list(reversed(CALQ_NAMES))
    cells = ["1"] * 48
    cells[10] = "oops"  # file column 10 is CALQ_37 under the reversed header
    text = ",".join(perm) + "\n" + ",".join(["2"] * 48) + "\n" + ",".join(cells) + "\n"
    msg, err = _error(tmp_path, text)
    assert "line 3, column 10 (CALQ_37): 'oops' is not a number" in msg
    assert "remove the header" not in err.fix


def test_header_string_metadata_is_not_a_charge_error(tmp_path):
    text = ",".join([*CALQ_NAMES, "ModType"]) + "\n" + ",".join(["1"] * 48 + ["HD"]) + "\n"
    table = read_econt_csv(_write_text(tmp_path, text))
    assert table.columns["ModType"].tolist() == ["HD"]


def _write_text(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_header_ragged_and_truncated(tmp_path):
    head = ",".join([*CALQ_NAMES, "layer"])
    good = ",".join(["1"] * 49)
    msg, _ = _error(tmp_path, "\n".join([head, good, ",".join(["1"] * 48), good]) + "\n")
    assert "ragged rows: line 3 has 48 columns but the header has 49" in msg
    msg, err = _error(tmp_path, "\n".join([head, good, good, ",".join(["1"] * 30)]))
    assert "last line (line 4) is truncated: 30 columns instead of 49 and has no final newline" in msg
    assert "delete the last line" in err.fix


def test_header_non_integer_charges_are_read_as_floats(tmp_path):
    text = ",".join(CALQ_NAMES) + "\n" + ",".join(["1.5"] + ["0"] * 47) + "\n" + ",".join(["2"] * 48) + "\n"
    table = read_econt_csv(_write_text(tmp_path, text))
    assert table.charges[0, 0] == 1.5 and table.charges[1, 0] == 2.0  # not truncated to 1


def test_header_only(tmp_path):
    msg, _ = _error(tmp_path, ",".join(CALQ_NAMES) + "\n")
    assert "header but no data lines" in msg


def test_header_negative_and_nan_charges(tmp_path):
    head = ",".join(reversed(CALQ_NAMES))
    cells = ["1"] * 48
    cells[0] = "-3"  # file column 0 is CALQ_47
    msg, _ = _error(tmp_path, head + "\n" + ",".join(cells) + "\n")
    assert "line 2, column 0 (CALQ_47): negative charge -3" in msg
    cells[0] = "nan"
    msg, _ = _error(tmp_path, head + "\n" + ",".join(["1"] * 48) + "\n" + ",".join(cells) + "\n")
    assert "line 3, column 0 (CALQ_47)" in msg and "not finite" in msg
