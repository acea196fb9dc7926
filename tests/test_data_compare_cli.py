"""``micae data compare``: outputs, provenance, refusal to overwrite, and a self-comparison that must agree."""

from __future__ import annotations

import json

import numpy as np
import pytest

from micae.cli.main import main
from micae.data.econt_csv import CALQ_NAMES
from micae.data.hgcal_synth import generate


def _write_real(path, preset="nopileup", n=3000, seed=11):
    q, _ = generate(n, seed=seed, preset=preset)
    path.write_text(",".join(CALQ_NAMES) + "\n" + "\n".join(",".join(map(str, r)) for r in q) + "\n")
    return q


def test_compare_writes_json_and_html(tmp_path, capsys):
    real = _write_real(tmp_path / "real.csv")
    out = tmp_path / "cmp"
    assert (
        main(
            [
                "data",
                "compare",
                "--synth",
                "nopileup",
                "--data",
                str(tmp_path / "real.csv"),
                "--out",
                str(out),
                "--n",
                "3000",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    rec = json.loads((out / "compare.json").read_text())
    assert set(rec["ks"]) == {"lit_cells", "nonzero_charge", "tc_occupancy", "wafer_sum"}
    assert rec["data"]["file"] == "real.csv" and rec["data"]["rows"] == len(real)
    assert rec["synth"] == {**rec["synth"], "preset": "nopileup", "seed": 4, "n": 3000}
    assert rec["synth"]["generator"]["params"]["calq_min"] == 2
    # the same generator against itself (another seed): the distributions must agree closely
    assert max(rec["ks"].values()) < 0.07, rec["ks"]
    html = (out / "compare.html").read_text()
    assert "micae data compare: hgcal-synth nopileup vs real.csv" in html
    assert (out / "plots" / "distributions.png").stat().st_size > 10_000
    assert (out / "plots" / "occupancy.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "KS (two-sample): lit_cells" in printed and str(out / "compare.html") in printed


def test_compare_sees_a_different_regime(tmp_path):
    _write_real(tmp_path / "pu.csv", preset="pileup", n=2000)
    out = tmp_path / "cmp"
    main(
        ["data", "compare", "--synth", "nopileup", "--data", str(tmp_path / "pu.csv"), "--out", str(out), "--n", "2000"]
    )
    ks = json.loads((out / "compare.json").read_text())["ks"]
    assert ks["lit_cells"] > 0.5 and ks["wafer_sum"] > 0.5  # pile-up wafers are not ttbar wafers


def test_compare_refuses_to_overwrite_and_bad_input(tmp_path, capsys):
    from micae.cli.common import run_cli
    from micae.cli.main import entry  # noqa: F401 (the console entry point wraps main in run_cli)

    _write_real(tmp_path / "real.csv", n=500)
    args = [
        "data",
        "compare",
        "--synth",
        "pileup",
        "--data",
        str(tmp_path / "real.csv"),
        "--out",
        str(tmp_path / "c"),
        "--n",
        "500",
    ]
    assert run_cli(main, args) == 0
    capsys.readouterr()
    assert run_cli(main, args) == 2
    assert "already exists" in capsys.readouterr().err
    assert run_cli(main, [*args, "--force"]) == 0
    assert (
        run_cli(
            main,
            [
                "data",
                "compare",
                "--synth",
                "pileup",
                "--data",
                str(tmp_path / "none.csv"),
                "--out",
                str(tmp_path / "d"),
            ],
        )
        == 2
    )
    assert "file not found" in capsys.readouterr().err
    # the preset is validated by CompareOptions: one line, exit 2
    assert run_cli(main, ["data", "compare", "--synth", "200pu", "--data", str(tmp_path / "real.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "synth = '200pu': must be one of 'legacy', 'pileup', 'nopileup'" in err


def test_compare_record_is_exact_on_a_tiny_case(tmp_path):
    from micae.data.wafer_stats import wafer_statistics

    q = np.zeros((4, 48), dtype=np.int64)
    q[0, 0], q[1, [1, 2]], q[2, 47], q[3] = 5, (3, 40), 2, 0
    stats = wafer_statistics(q)
    assert stats["lit_cells"].tolist() == [1, 2, 1]
    assert stats["nonzero_charge"].tolist() == [5, 3, 40, 2]
    assert stats["tc_occupancy"].tolist() == [0, 1, 2, 47]
    assert stats["wafer_sum"].tolist() == [5, 43, 2]
    assert stats["occupancy"][[0, 1, 2, 47]].tolist() == [1 / 3] * 4 and stats["occupancy"].sum() == pytest.approx(
        4 / 3
    )
