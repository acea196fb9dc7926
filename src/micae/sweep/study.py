"""Multi-objective search: an Optuna NSGA-II study whose trials are sweep points on the Dask cluster.

Ask/tell: the client asks the study for parameters, submits each trial's point
as a Dask future (``micae.sweep.point``), and tells the objectives as the
points complete. The study lives in ``<sweep>/study.journal`` (Optuna's
JournalStorage, a file), so running the same command again continues it:
complete and failed trials stay, trials that were running when the client
stopped are evaluated again (their point is reused when it finished).

A point the prefilter rejects (e.g. ``compression 2.5 < 3``) is not trained: its
trial is told as complete with infinite objectives and a violated
``compression`` constraint (``Trial.set_constraint``, which NSGA-II's
constrained domination reads). A point whose hardware disagrees with QKeras
violates the ``bit_exact`` constraint. Only feasible trials can be on the front.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from micae.errors import ConfigError
from micae.log import info
from micae.sweep.grid import Point, fingerprint
from micae.sweep.layout import point_paths, sweep_dir
from micae.sweep.point import is_finished, point_fingerprint
from micae.sweep.results import point_row, status_counts
from micae.sweep.search import StudySpec, constraint_violation, distributions, study_point

JOURNAL = "study.journal"
MAX_INFEASIBLE_PER_TRIAL = 10  # proposals per requested trial (repeats, prefilter rejects) before giving up


@dataclass
class StudyOutcome:
    root: Path
    rows: list[dict]
    ran: list[str]
    front: list[str]
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return status_counts(self.rows)


def _identity(spec: StudySpec) -> dict:
    """What a stored study must match to be continued."""
    from micae.train.config import load_config

    sweep = spec.sweep
    base = load_config(sweep.base).training_raw()  # the base config's content, not where it lies
    return {
        "objectives": spec.objectives,
        "space": spec.space,
        "fingerprint": fingerprint(base, sweep.fixed, sweep.synth, spec.space, spec.objectives),
    }


def open_study(spec: StudySpec, root: Path):
    """Create or load the study in ``root/study.journal``; refuse one made from a different search."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(root / JOURNAL)))
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        directions=["minimize"] * len(spec.objectives),
        load_if_exists=True,
    )
    ident = _identity(spec)
    stored = study.user_attrs.get("micae")
    if stored is None:
        study.set_user_attr("micae", ident)
    elif stored["fingerprint"] != ident["fingerprint"]:
        raise ConfigError(
            f"the study in {root / JOURNAL} was made from another search (objectives, ranges, set or synth differ)",
            f"give the search file another name:, or delete {root / JOURNAL} to start over",
        )
    # continue the sampler's random stream instead of proposing the first trials again
    seed = spec.seed + len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=spec.population)
    return study


def _objective_values(spec: StudySpec, row: dict) -> tuple[list[float] | None, str]:
    values = []
    for name, col in zip(spec.objectives, spec.columns):
        try:
            v = float(row.get(col))
        except (TypeError, ValueError):
            return None, f"no {name} number ({col} is empty: did the route that measures it run?)"
        if not math.isfinite(v):
            return None, f"{name} is {v}"
        values.append(v)
    return values, ""


def tell_point(study, spec: StudySpec, trial_number: int, point: Point, row: dict) -> str:
    """Tell the trial its point's outcome; returns the state told (complete, infeasible, fail)."""
    from optuna.trial import Trial, TrialState

    trial = Trial(study, study._storage.get_trial_id_from_study_id_trial_number(study._study_id, trial_number))
    trial.set_user_attr("point", point.name)
    if point.skip:
        trial.set_user_attr("skip", point.skip)
        trial.set_constraint("compression", constraint_violation(point.skip))
        trial.set_constraint("bit_exact", 0.0)
        study.tell(trial_number, [math.inf] * len(spec.objectives))
        return "infeasible"
    if row["status"] not in ("ok", "mismatch"):
        trial.set_user_attr("error", row.get("error") or row["status"])
        study.tell(trial_number, state=TrialState.FAIL)
        return "fail"
    values, why = _objective_values(spec, row)
    if values is None:
        trial.set_user_attr("error", why)
        study.tell(trial_number, state=TrialState.FAIL)
        return "fail"
    try:
        slack = point.config.min_compression - float(row.get("compression"))
    except (TypeError, ValueError):
        slack = 0.0
    trial.set_constraint("compression", min(slack, 0.0))
    trial.set_constraint("bit_exact", float(row.get("mismatches") or 0))
    study.tell(trial_number, values)
    return "complete" if row["status"] == "ok" else "infeasible"


def trained_count(study) -> int:
    """What counts against ``trials:``: distinct points trained (finished trials the prefilter did not reject).

    NSGA-II often proposes parameters again on small discrete spaces; a repeat reuses its point at no
    cost and does not count.
    """
    from optuna.trial import TrialState

    done = (TrialState.COMPLETE, TrialState.FAIL)
    trials = study.get_trials(deepcopy=False)
    return len(
        {
            t.user_attrs["point"]
            for t in trials
            if t.state in done and "point" in t.user_attrs and "skip" not in t.user_attrs
        }
    )


def run_study(
    spec: StudySpec,
    out: str | Path,
    *,
    jobs: int | None = None,
    resume: bool = False,
    say: Callable[[str], None] = info,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
) -> StudyOutcome:
    """Run (or continue) the study of ``spec`` under ``<out>/<name>/`` until ``spec.trials`` trials trained."""
    import os

    from micae.sweep.cluster import check_shared_folder, open_client, worker_threads
    from micae.sweep.runner import PointRunner, sweep_lock
    from micae.sweep.study_report import write_study_results

    root = sweep_dir(Path(out), spec.name).resolve()
    t0 = time.perf_counter()
    with sweep_lock(root):
        (root / "sweep.json").write_text(json.dumps(describe_study(spec), indent=2, default=str) + "\n")
        study = open_study(spec, root)
        before = trained_count(study)
        say(f"study {spec.name}: {before} of {spec.trials} trial(s) trained earlier ({root / JOURNAL})")
        ran: list[str] = []
        if before < spec.trials:
            local_threads = None if scheduler or scheduler_file else max(1, (os.cpu_count() or 1) // (jobs or 1))
            with open_client(scheduler=scheduler, scheduler_file=scheduler_file, workers=jobs) as client:
                check_shared_folder(client, root)
                runner = PointRunner(client, root, spec.sweep.synth, resume=resume, threads=local_threads)
                slots = worker_threads(client)
                place = scheduler or scheduler_file or "a local Dask cluster"
                say(f"searching {spec.keys} on {place} ({slots} at a time)")
                ran = _ask_tell_loop(study, spec, runner, root, slots, say)
        rows, front = write_study_results(study, spec, root)
    return StudyOutcome(root, rows, ran, front, round(time.perf_counter() - t0, 1))


def describe_study(spec: StudySpec) -> dict:
    s = spec.sweep
    return {
        "name": s.name,
        "source": str(s.source) if s.source else None,
        "base": str(s.base),
        "set": s.fixed,
        "search": spec.space,
        "trials": spec.trials,
        "objectives": dict(zip(spec.objectives, spec.columns)),
        "seed": spec.seed,
        "population": spec.population,
        "labels": s.labels,
        "synth": s.synth,
    }


def unfinished_trials(study, spec: StudySpec) -> list:
    """Trials an earlier client left running, to evaluate again; those without all parameters
    (Ctrl-C while they were being asked) are told as failed."""
    from optuna.trial import Trial, TrialState

    waiting = []
    for t in study.get_trials(deepcopy=False):
        if t.state != TrialState.RUNNING:
            continue
        if set(spec.keys) <= set(t.params):
            waiting.append(t)
            continue
        Trial(study, t._trial_id).set_user_attr("error", "interrupted before its parameters were chosen")
        study.tell(t.number, state=TrialState.FAIL)
    return waiting


def _ask_tell_loop(study, spec: StudySpec, runner, root: Path, slots: int, say) -> list[str]:
    """Keep ``slots`` trials in flight until enough trials trained; Ctrl-C cancels the running ones."""
    from distributed import as_completed

    dists = distributions(spec.space)
    inflight: dict = {}  # point name -> (future, point, [trial numbers])
    ac = as_completed()
    ran: list[str] = []
    asks = {"left": spec.trials * MAX_INFEASIBLE_PER_TRIAL}
    # trials left running by an interrupted client: evaluate them again (a finished point is reused)
    waiting = unfinished_trials(study, spec)
    if waiting:
        say(f"continuing {len(waiting)} trial(s) left running by an earlier run: {[t.number for t in waiting]}")

    def start(number: int, params: dict) -> None:
        point = study_point(spec, params)
        if point.name in inflight:  # the same parameters twice: one point, told to both trials
            inflight[point.name][2].append(number)
            return
        finished = is_finished(point_paths(root, point.name), point_fingerprint(point.config.raw, spec.sweep.synth))
        if point.skip or finished:
            state = tell_point(study, spec, number, point, point_row(point, point_paths(root, point.name)))
            say(f"trial {number}: {point.name}: {point.skip or 'finished earlier'} ({state})")
            return
        fut = runner.submit(point)
        inflight[point.name] = (fut, point, [number])
        ac.add(fut)

    def fill() -> None:
        while waiting and len(inflight) < slots:
            t = waiting.pop(0)
            start(t.number, t.params)
        while len(inflight) < slots and trained_count(study) + len(inflight) < spec.trials and asks["left"] > 0:
            asks["left"] -= 1
            trial = study.ask(dists)
            start(trial.number, trial.params)

    try:
        fill()
        for fut in ac:
            name = next(n for n, (f, _, _) in inflight.items() if f is fut)
            _, point, numbers = inflight.pop(name)
            record = runner.record(fut, point)
            row = point_row(point, point_paths(root, point.name))
            for number in numbers:
                state = tell_point(study, spec, number, point, row)
                say(f"trial {number}: {point.name}: {record['status']} ({state}) {_brief(spec, row)}")
            ran.append(point.name)
            from micae.sweep.study_report import write_study_results

            write_study_results(study, spec, root, plots=False)
            fill()
    except BaseException:
        runner.cancel([f for f, _, _ in inflight.values()])
        raise
    if asks["left"] <= 0 and trained_count(study) < spec.trials:
        say(
            f"stopped after {spec.trials * MAX_INFEASIBLE_PER_TRIAL} proposals: most repeated earlier points or broke "
            "the constraints; widen the search ranges"
        )
    return ran


def _brief(spec: StudySpec, row: dict) -> str:
    parts = []
    for name, col in zip(spec.objectives, spec.columns):
        v = row.get(col)
        parts.append(f"{name} {v:.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{name} -")
    return ", ".join(parts)
