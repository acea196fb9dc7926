"""``micae evaluate``: a trained run and the chip's algorithms on any data, into evaluation.json/md/html."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from micae import __version__
from micae.errors import ConfigError, DataError
from micae.evaluate.autoencoder import RunModels, autoencoder_candidates, open_run
from micae.evaluate.block import Block, check_elinks_list, elinks_block
from micae.evaluate.data import DataRequest, EvalData, load_data
from micae.evaluate.definitions import definitions
from micae.evaluate.schema import DataInfo, Evaluation, RunInfo
from micae.log import info

DEFAULT_ELINKS = (2, 3, 4, 5)
"""The e-link counts of 98% of the modules (76% have 2)."""


@dataclass
class Outcome:
    """The typed result and the per-wafer arrays behind it (plots, per_wafer.npz)."""

    evaluation: Evaluation
    block: Block
    stem: str


def run_info(run: RunModels, elinks: list[int]) -> RunInfo:
    note = run.note
    scored = sorted(run.models) if run.elinks in elinks and not note else []
    if run.elinks is not None and run.elinks not in elinks and not note:
        note = (
            f"the run's L = {run.elinks} is not among the e-link counts evaluated ({', '.join(map(str, elinks))}): "
            "its autoencoder is not scored; the chip's algorithms are"
        )
    return RunInfo(
        path=str(run.path.resolve()),
        name=run.path.name,
        dataset=trained_on(run.cfg.raw),
        elinks=run.elinks,
        elinks_source=run.elinks_source,
        normalisation=run.normalisation,
        layout=run.layout,
        n_parts=run.n_parts,
        decoder_module_sum=run.takes_module_sum("ae"),
        autoencoders=scored,
        note=note,
    )


@dataclass
class Prepared:
    """The run, the wafers and the e-link counts, before anything is scored."""

    run: RunModels | None
    data: EvalData
    elinks: list[int]


def prepare(run_dir: str | Path | None, request: DataRequest, elinks: Iterable[int] | None = None) -> Prepared:
    """Open the run (None: the chip's algorithms only) and read the data; every input error surfaces here,
    before the slow part."""
    run = open_run(run_dir) if run_dir is not None else None
    wanted = check_elinks_list(elinks) if elinks is not None else None
    if wanted == []:
        raise ConfigError("--elinks lists no e-link count", "pass e.g. --elinks 2,3,4,5")
    own = [run.elinks] if run is not None and run.elinks else []
    ls = wanted or check_elinks_list([*DEFAULT_ELINKS, *own])
    data = load_data(request, run)
    if data.n_nonempty == 0:
        raise DataError(f"{data.info['description']}: every selected wafer is all zero", "select rows with charge")
    return Prepared(run, data, ls)


def score_prepared(p: Prepared) -> Outcome:
    """Score the run's autoencoders (at its L) and every chip / literature algorithm (at each L)."""
    start = time.perf_counter()
    keep = p.data.calq_rows.sum(axis=1) > 0
    calq = p.data.calq_rows[keep]
    info(f"evaluating on {p.data.info['description']}: {len(calq)} non-empty wafers, L = {p.elinks}")
    run_meta = run_info(p.run, p.elinks) if p.run is not None else None
    ae = {p.run.elinks: autoencoder_candidates(p.run, calq)} if run_meta and run_meta.autoencoders else {}
    block = elinks_block(p.data.calq_rows, p.elinks, ae)
    evaluation = Evaluation(
        micae_version=__version__,
        created=_dt.datetime.now().isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - start, 2),
        data=DataInfo(
            **p.data.info,
            wafers_read=len(p.data.calq_rows),
            wafers_dropped_zero=int((~keep).sum()),
            wafers_evaluated=int(keep.sum()),
        ),
        run=run_meta,
        definitions=definitions(),
        elinks=block.results,
    )
    return Outcome(evaluation, block, p.data.stem)


def evaluate(run_dir: str | Path | None, request: DataRequest, elinks: Iterable[int] | None = None) -> Outcome:
    """:func:`prepare` then :func:`score_prepared` (no files written)."""
    return score_prepared(prepare(run_dir, request, elinks))


def default_out(run_dir: str | Path, stem: str) -> Path:
    return Path(run_dir) / "evaluation" / stem


def write_outputs(out: Path, outcome: Outcome, *, force: bool) -> Path:
    """evaluation.json, evaluation.md, evaluation.html, plots/ and per_wafer.npz into ``out`` (atomically)."""
    from micae.evaluate.page import write_pages
    from micae.outputs import staged_output, staging_path

    out = Path(out)
    if (out.exists() or staging_path(out).exists()) and not force:
        raise ConfigError(f"evaluation output {out} already exists", "pass --force to replace it, or choose --out DIR")
    with staged_output(out, force=True) as work:
        (work / "evaluation.json").write_text(outcome.evaluation.to_json())
        _write_per_wafer(work / "per_wafer.npz", outcome.block)
        write_pages(work, outcome.evaluation, outcome.block)
    return out


def _write_per_wafer(path: Path, block: Block) -> None:
    arrays = {"lit_cells": block.lit.astype(np.int16)}
    for L, emds in block.emds.items():
        arrays.update({f"emd__L{L}__{name}": v.astype(np.float32) for name, v in emds.items()})
    np.savez_compressed(path, **arrays)


def run_evaluate(
    run_dir: str | Path | None,
    request: DataRequest,
    *,
    elinks: Iterable[int] | None = None,
    out: str | Path | None = None,
    force: bool = False,
) -> tuple[Path, Evaluation]:
    """The whole command: inputs checked and the output refused (without --force) before anything is scored."""
    from micae.outputs import staging_path

    if run_dir is None and out is None:
        raise ConfigError("without --model there is no run folder to write into", "pass --out DIR")
    prepared = prepare(run_dir, request, elinks)
    target = Path(out) if out is not None else default_out(run_dir, prepared.data.stem)
    if (target.exists() or staging_path(target).exists()) and not force:
        raise ConfigError(
            f"evaluation output {target} already exists", "pass --force to replace it, or choose --out DIR"
        )
    outcome = score_prepared(prepared)
    return write_outputs(target, outcome, force=force), outcome.evaluation


def trained_on(raw: dict) -> str:
    """One line: the run's data (file and rows, or generator preset), and its pre-training if any."""
    d = raw.get("dataset") or {}
    where = d.get("path") or (f"preset {d.get('preset')}" if d.get("preset") else "")
    text = f"{d.get('name')}{' ' + str(where) if where else ''}"
    if d.get("path") and d.get("rows"):
        text += f", rows {d['rows']}"
    pre = raw.get("pretrain") or {}
    if int(pre.get("epochs") or 0) > 0:
        text += (
            f" (after {pre['epochs']} epochs of pre-training on {pre.get('n_samples')} generated hgcal-synth "
            f"{pre.get('preset')} wafers)"
        )
    return text
