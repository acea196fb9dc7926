"""Multi-objective search (Optuna NSGA-II): search files, constraints, the front, and resuming after Ctrl-C."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from micae.errors import ConfigError

DIGITS = REPO / "models" / "digits_micae.yaml"
ECONT = REPO / "models" / "econt.yaml"


def search_file(folder: Path, **extra) -> Path:
    raw = {
        "name": "tinystudy",
        "base": str(DIGITS),
        "set": {"train.epochs": 1, "train.float_twin": False},
        "search": {"encoder.latent": [2, 4, 8], "encoder.latent_quant.bits": {"low": 4, "high": 6, "step": 2}},
        "labels": {"encoder.latent_quant.bits": "bits"},
        "trials": 3,
        "objectives": ["quality", "weights_nz"],
        "population": 2,
        "synth": {"vectors": 300, "rtl": "off", "vendor": "off"},
        **extra,
    }
    if "encoder.latent_quant.bits" not in raw["search"]:
        del raw["labels"]
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / "study.yaml"
    f.write_text(yaml.safe_dump(raw))
    return f


# ---- fast: search files ------------------------------------------------------------------------------


def test_a_search_file_gives_optuna_distributions_and_resolved_objectives(tmp_path):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from micae.sweep.search import distributions, load_study, study_point

    spec = load_study(
        search_file(
            tmp_path,
            search={
                "encoder.latent": [2, 4],
                "train.learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
                "encoder.latent_quant.bits": {"low": 4, "high": 8, "step": 2},
            },
        )
    )
    d = distributions(spec.space)
    assert isinstance(d["encoder.latent"], CategoricalDistribution) and d["encoder.latent"].choices == (2, 4)
    assert isinstance(d["encoder.latent_quant.bits"], IntDistribution) and d["encoder.latent_quant.bits"].step == 2
    assert isinstance(d["train.learning_rate"], FloatDistribution) and d["train.learning_rate"].log
    assert spec.objectives == ["mse", "weights_nz"] and spec.columns == ["test_mse", "weights_nz"]  # digits: MSE
    p = study_point(spec, {"encoder.latent": 4, "train.learning_rate": 0.005, "encoder.latent_quant.bits": 6})
    assert p.name == "latent4_bits6_learning_rate0p005" and p.skip is None
    assert p.config.raw["encoder"]["latent_quant"]["bits"] == 6 and p.config.train["learning_rate"] == 0.005
    assert study_point(spec, {"encoder.latent": 8, "train.learning_rate": 0.005, "encoder.latent_quant.bits": 6}).skip


def test_quality_is_emd_on_hgcal_data(tmp_path):
    from micae.sweep.search import load_study

    spec = load_study(
        search_file(
            tmp_path,
            base=str(ECONT),
            set={"train.epochs": 1, "train.float_twin": False, "econt.elinks": None},  # 8 latents: off the frame
            search={"encoder.latent": [8, 16]},
        )
    )
    assert spec.objectives == ["emd", "weights_nz"] and spec.columns == ["emd_mean", "weights_nz"]


@pytest.mark.parametrize(
    "extra, match",
    [
        ({"grid": {"encoder.latent": [2]}}, "both grid: and search:"),
        ({"search": {"encoder.latent": {"low": 4, "high": 2}}}, "must be a number below high"),
        ({"search": {"encoder.latent": {"low": 2}}}, r"search.encoder.latent = \{'low': 2\}: high is missing"),
        ({"search": {"encoder.latent": 3}}, "search.encoder.latent = 3: is not a range or a list"),
        ({"search": {"encoder.latent": [2, 2]}}, "repeats a value"),
        ({"search": {"encoder.bogus": [2, 3]}}, "encoder.bogus = 2: unknown key; encoder takes"),
        ({"objectives": ["quality", "area"]}, "unknown objective 'area'"),
        ({"objectives": ["quality", "LUT"]}, "needs hardware figures but synth.rtl and synth.vendor are off"),
        ({"trials": 0}, "trials = 0: must be an integer >= 1"),
        ({"population": 1}, "population = 1: must be an integer >= 2"),
        ({"search": {"encoder.latent_quant.bits": [6, "x"]}}, "encoder.latent_quant.bits = 'x': must be an integer"),
    ],
)
def test_bad_search_files_are_refused(tmp_path, extra, match):
    from micae.sweep.search import load_study

    with pytest.raises(ConfigError, match=match):
        load_study(search_file(tmp_path, **extra))


def test_constraints_keep_infeasible_and_inexact_points_off_the_front(tmp_path):
    import optuna

    from micae.sweep.search import constraint_violation, distributions, load_study, study_point
    from micae.sweep.study import tell_point

    assert constraint_violation("compression 2.5 < 3") == pytest.approx(0.5) and constraint_violation(None) == 0
    spec = load_study(search_file(tmp_path))
    study = optuna.create_study(directions=["minimize", "minimize"])
    dists = distributions(spec.space)
    outcomes = [  # (params, the point's results row as the point's files would give it)
        ({"encoder.latent": 8, "encoder.latent_quant.bits": 4}, None),  # compression 2 < 3: never trained
        ({"encoder.latent": 2, "encoder.latent_quant.bits": 6}, {"status": "ok", "test_mse": 0.09, "weights_nz": 240}),
        ({"encoder.latent": 4, "encoder.latent_quant.bits": 6}, {"status": "ok", "test_mse": 0.08, "weights_nz": 310}),
        ({"encoder.latent": 4, "encoder.latent_quant.bits": 4}, {"status": "ok", "test_mse": 0.085, "weights_nz": 400}),
        (
            {"encoder.latent": 2, "encoder.latent_quant.bits": 4},
            {"status": "mismatch", "test_mse": 0.01, "weights_nz": 9, "mismatches": 3},
        ),
        ({"encoder.latent": 2, "encoder.latent_quant.bits": 6}, {"status": "failed", "error": "train: boom"}),
    ]
    told = []
    for params, row in outcomes:
        study.enqueue_trial(params)
        trial = study.ask(dists)
        assert trial.params == params
        point = study_point(spec, params)
        told.append(tell_point(study, spec, trial.number, point, {"compression": 4, **(row or {})}))
    assert told == ["infeasible", "complete", "complete", "complete", "infeasible", "fail"]
    t = study.trials
    assert t[0].values == [math.inf, math.inf] and t[0].user_attrs["skip"] == "compression 2 < 3"
    assert t[5].state == optuna.trial.TrialState.FAIL and t[5].user_attrs["error"] == "train: boom"
    front = sorted(tr.user_attrs["point"] for tr in study.best_trials)
    # latent4_bits4 is dominated by latent4_bits6; the inexact point is better on both but violates bit_exact
    assert front == ["latent2_bits6", "latent4_bits6"]


def test_a_stored_study_from_another_search_is_refused(tmp_path):
    from micae.sweep.search import distributions, load_study
    from micae.sweep.study import open_study, trained_count, unfinished_trials

    spec = load_study(search_file(tmp_path))
    open_study(spec, tmp_path).ask()  # interrupted before its parameters were chosen
    again = open_study(spec, tmp_path)  # the same search continues the stored study
    assert len(again.trials) == 1 and again.user_attrs["micae"]["objectives"] == ["mse", "weights_nz"]
    again.ask(distributions(spec.space))  # left running with its parameters: to be evaluated again
    waiting = unfinished_trials(again, spec)
    assert [t.number for t in waiting] == [1]
    assert again.trials[0].state.name == "FAIL" and "interrupted" in again.trials[0].user_attrs["error"]
    assert trained_count(again) == 0
    other = load_study(search_file(tmp_path / "b", objectives=["weights_nz", "quality"]))
    with pytest.raises(ConfigError, match="made from another search"):
        open_study(other, tmp_path)


# ---- slow: a real study, interrupted and resumed ------------------------------------------------------


def _trials(journal: Path, name: str):
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not journal.exists():
        return []
    try:
        return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(journal)))).trials
    except KeyError:  # the study is being created
        return []


@pytest.mark.slow
def test_a_study_resumes_after_ctrl_c_without_redoing_finished_trials(tmp_path):
    import psutil
    from optuna.trial import TrialState

    from micae.cli.sweep import main

    f = search_file(tmp_path)
    out, root = tmp_path / "out", tmp_path / "out" / "tinystudy"
    journal = root / "study.journal"
    # one point at a time: when the first trial is told, the next is still training, so the Ctrl-C below
    # always lands in a running study (with two workers both points could finish before it arrives)
    args = ["--config", str(f), "--out", str(out), "--jobs", "1"]
    cli = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "sweep.py"), *args],
        stdout=(tmp_path / "cli.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # a pytest-xdist worker ignores SIGINT and children inherit that; a terminal's Ctrl-C is not ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 900
        while not any(
            t.state == TrialState.COMPLETE and "skip" not in t.user_attrs for t in _trials(journal, "tinystudy")
        ):
            assert cli.poll() is None and time.monotonic() < deadline, (tmp_path / "cli.log").read_text()[-3000:]
            time.sleep(1)
        os.killpg(cli.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole process group
        assert cli.wait(timeout=180) == 130
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait(timeout=30)
    # nothing of the interrupted run is left running (local cluster, trainings, syntheses)
    deadline = time.monotonic() + 60
    while [p for p in psutil.process_iter(["cmdline"]) if str(root) in " ".join(p.info["cmdline"] or [])]:
        assert time.monotonic() < deadline, "processes of the interrupted study are still running"
        time.sleep(1)
    first = {t.number: t for t in _trials(journal, "tinystudy") if t.state == TrialState.COMPLETE}
    trained = {n: t for n, t in first.items() if "skip" not in t.user_attrs}
    assert trained
    stamps = {
        t.user_attrs["point"]: (root / "points" / t.user_attrs["point"] / "done.json").stat().st_mtime_ns
        for t in trained.values()
    }

    assert main(args) == 0
    after = _trials(journal, "tinystudy")
    assert not [t for t in after if t.state == TrialState.RUNNING]
    points = {t.user_attrs["point"] for t in after if t.state == TrialState.COMPLETE and "skip" not in t.user_attrs}
    assert len(points) == 3  # trials: 3 counts distinct trained points
    for n, t in first.items():  # finished trials are kept as they were, their points not redone
        assert after[n].state == TrialState.COMPLETE and after[n].values == t.values
    for point, stamp in stamps.items():
        assert (root / "points" / point / "done.json").stat().st_mtime_ns == stamp
    header, *rows = [ln.split(",") for ln in (root / "results.csv").read_text().splitlines()]
    front = [r[header.index("point")] for r in rows if r[header.index("front")] == "1"]
    assert front and all(r[header.index("status")] == "ok" for r in rows if r[header.index("point")] in front)
    summary = (root / "summary.md").read_text()
    for point in front:
        link = f"points/{point}/firmware/{point}/report.html"
        assert link in summary and (root / link).is_file()
    assert (root / "study.png").stat().st_size > 0 and (root / "pareto.png").stat().st_size > 0
    assert json.loads((root / "sweep.json").read_text())["objectives"] == {
        "mse": "test_mse",
        "weights_nz": "weights_nz",
    }
