"""Training on a real file's first rows (dataset.rows), pre-training on generated wafers (pretrain:), and the
held-out judgement of micae evaluate --rows on the rows the run never saw."""

from __future__ import annotations

import json

import numpy as np
import pytest

from micae.errors import ConfigError


def _calq(n: int, seed: int = 1) -> np.ndarray:
    from micae.data import hgcal_synth

    return hgcal_synth.generate(n, seed=seed)[0].astype(np.int64)


def _write_csv(path, calq: np.ndarray) -> None:
    lines = [",".join(f"CALQ_{k}" for k in range(48)), *(",".join(str(int(v)) for v in row) for row in calq)]
    path.write_text("\n".join(lines) + "\n")


def test_rows_keep_consecutive_rows_and_count_their_empty_wafers(tmp_path):
    from micae.data import load_dataset

    calq = _calq(200)
    calq[[5, 150, 190]] = 0  # one empty wafer inside :0.5, two outside
    calq[:, 0] = np.arange(200) + 1  # the row number in CALQ_0, to see which rows were kept
    calq[[5, 150, 190]] = 0
    _write_csv(tmp_path / "w.csv", calq)
    ds = load_dataset("econt-csv", path=str(tmp_path / "w.csv"), rows=":0.5", normalisation="sumlog2")
    src = ds.meta["source"]
    assert src["rows"] == {"spec": ":0.5", "start": 0, "stop": 100, "total": 200}
    assert (src["rows_dropped_zero_sum"], src["rows_kept"]) == (1, 99)
    calq_kept = np.concatenate([ds.aux[s]["calq"] for s in ("train", "val", "test")])
    assert sorted(calq_kept[:, 0].tolist()) == [r + 1 for r in range(100) if r != 5]
    tail = load_dataset("econt-csv", path=str(tmp_path / "w.csv"), rows="0.5:", n_samples=10)
    kept = np.concatenate([tail.aux[s]["calq"] for s in ("train", "val", "test")])[:, 0]
    assert sorted(kept.tolist()) == list(range(101, 111))  # the first 10 non-empty rows of the second half


def test_rows_are_refused_where_there_is_no_file(tmp_path):
    from micae.data import load_dataset

    with pytest.raises(ConfigError, match="selects rows of an econt-csv file"):
        load_dataset("hgcal-synth", n_samples=100, rows=":0.8")
    _write_csv(tmp_path / "w.csv", _calq(50))
    with pytest.raises(ConfigError, match="selects no row"):
        load_dataset("econt-csv", path=str(tmp_path / "w.csv"), rows="0.9:0.5")


def test_pretraining_needs_a_joint_run():
    pytest.importorskip("tensorflow")
    from micae.train.config import load_config
    from micae.train.run import pretrain_data

    cfg = load_config("models/econt.yaml", {"pretrain.epochs": 2, "train.mode": "encoder"})
    with pytest.raises(ConfigError, match="pre-training is for train.mode joint"):
        pretrain_data(cfg, None)


@pytest.mark.slow
def test_pretrained_run_on_a_files_first_rows_is_judged_on_the_rest(tmp_path):
    pytest.importorskip("tensorflow")
    from micae.cli.main import main
    from micae.evaluate import load_evaluation
    from micae.train.config import load_config
    from micae.train.run import train_run

    _write_csv(tmp_path / "real.csv", _calq(1000, seed=4))
    over = {"dataset.path": str(tmp_path / "real.csv"), "pretrain.n_samples": 2000, "pretrain.epochs": 1}
    over |= {"train.epochs": 1, "train.batch_size": 128}
    run, _ = train_run(load_config("models/econt_real.yaml", over), tmp_path / "runs", force=True)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset_meta"]["source"]["rows"]["stop"] == 800  # rows :0.8 of 1000
    assert metrics["test_samples"] == 80  # 10% of the 800 first rows
    pre = metrics["pretrain"]
    assert (pre["dataset"], pre["preset"], pre["epochs"], pre["samples"]["train"]) == ("hgcal-synth", "pileup", 1, 1600)
    assert {"pretrain", "pretrain_float", "micae", "float"} <= set(metrics["training"])
    phases = {line.split(",")[0] for line in (run / "history.csv").read_text().splitlines()[1:]}
    assert {"pretrain", "micae"} <= phases
    assert main(["evaluate", "--model", str(run), "--data", str(tmp_path / "real.csv"), "--rows", "0.8:"]) == 0
    ev = load_evaluation(run / "evaluation" / "real_rows800-1000")
    assert ev.data.seen_in_training == "no" and "disjoint" in ev.data.seen_in_training_why
    assert ev.run.elinks == 2 and {"ae", "bc", "stc16"} <= set(ev.elinks[2])
    assert (
        ev.run.dataset
        == f"econt-csv {tmp_path / 'real.csv'}, rows :0.8 (after 1 epochs of pre-training on 2000 "
        + ("generated hgcal-synth pileup wafers)")
    )
    whole = ["--data", str(tmp_path / "real.csv"), "--out", str(tmp_path / "e")]
    assert main(["evaluate", "--model", str(run), *whole]) == 0
    assert load_evaluation(tmp_path / "e").data.seen_in_training == "partly"
