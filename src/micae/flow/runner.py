"""Run registered steps: each ``run(ctx) -> results`` once its dependencies are done, independent ones at once.

Steps only return their results; the runner alone files them into the report draft, in registry order,
whatever order the steps finished in, so report.json does not depend on which thread won. The first step
that raises stops the run: running steps are waited for, steps not yet started are not started, and the
error propagates (outputs stay staged as ``<name>.incomplete``). Each step runs with the run's timings
recording (:func:`micae.log.recording`), so its progress messages are timed into the run, not a global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from importlib import import_module

from micae.flow.context import FlowContext
from micae.flow.results import ReportDraft, StepResult
from micae.log import progress, recording

StepFunction = Callable[[FlowContext], Iterable[StepResult] | None]


@dataclass(frozen=True)
class Step:
    """One transformation of the flow. ``needs``: names of the steps it reads from; ``None`` means every
    step registered before it (the safe default: a plain sequence)."""

    name: str
    run: StepFunction
    needs: tuple[str, ...] | None = None


def _dependencies(steps: Sequence[Step]) -> dict[str, set[str]]:
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"step names must be unique: {names}")
    deps = {}
    for i, step in enumerate(steps):
        wanted = set(names[:i]) if step.needs is None else set(step.needs)
        unknown = wanted - set(names[:i])
        if unknown:
            raise ValueError(f"step {step.name!r} needs {sorted(unknown)}, which are not registered before it")
        deps[step.name] = wanted
    return deps


def _timed(step: Step, ctx: FlowContext) -> list[StepResult]:
    with recording(ctx.timings), progress(f"step {step.name}"):
        return list(step.run(ctx) or [])


PACKAGES_IMPORTING_SUBMODULES = ("micae.rtl", "micae.graph", "micae.fixed", "micae.results", "micae.data")
"""Packages whose ``__init__`` imports their own submodules. Steps import lazily from worker threads: a thread
importing ``micae.rtl.build`` holds that module's lock while it waits for the package ``micae.rtl``, whose
``__init__`` (run by another thread) waits for ``micae.rtl.build``. Python breaks that deadlock by handing out a
partially initialised module (ImportError "cannot import name ... partially initialized module"), as the sweep
tests found. Importing the packages once, before any thread starts, removes the cycle."""


def _import_packages() -> None:
    for name in PACKAGES_IMPORTING_SUBMODULES:
        import_module(name)


def run_steps(
    steps: Sequence[Step], ctx: FlowContext, draft: ReportDraft | None = None, *, workers: int | None = None
) -> ReportDraft:
    """Run ``steps`` on ``ctx``, at most ``workers`` at once (default: every step whose needs are met), and file their
    results into ``draft`` (a new one when None) in registry order; returns the draft."""
    deps = _dependencies(steps)
    _import_packages()
    # steps mostly wait on external tools: with one thread per CPU (2 here) the 35 s yosys step waited ~20 s for
    # the Verilator and Icarus steps to free a thread, on the critical path; the OS shares the cores instead
    workers = workers or max(len(steps), 1)
    results: dict[str, list[StepResult]] = {}
    pending = list(steps)
    running: dict[Future, Step] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="micae-step") as pool:
        while pending or running:
            for step in [s for s in pending if deps[s.name] <= results.keys()]:
                pending.remove(step)
                running[pool.submit(_timed, step, ctx)] = step
            if not running:  # cannot happen with validated dependencies; guard against a silent hang
                raise RuntimeError(f"steps {[s.name for s in pending]} can never start")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                try:
                    results[step.name] = future.result()
                except BaseException:
                    pending.clear()
                    wait(running)  # let started tools finish or fail; nothing new starts
                    raise
    draft = ReportDraft() if draft is None else draft
    for step in steps:
        for result in results[step.name]:
            draft.file(result)
    return draft
