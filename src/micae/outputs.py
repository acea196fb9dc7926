"""Atomic run folders: work happens in ``<name>.incomplete/`` and is renamed into place when done.

A crash or Ctrl-C never leaves a folder that looks complete: the previous good
output stays untouched, and the half-done one keeps the ``.incomplete`` suffix
and an ``INCOMPLETE`` marker (training can ``--resume`` from it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from micae.errors import ConfigError

MARKER = "INCOMPLETE"


def staging_path(final: Path) -> Path:
    return final.parent / f"{final.name}.incomplete"


def ship_paths(staged_file: Path, staging: Path, final: Path) -> None:
    """Rewrite the staging folder's path (absolute, and ``<name>.incomplete`` alone) to the final one in a text
    file a tool wrote while the run was staged (hls4ml's config names its OutputDir), so nothing that ships
    points at the folder the rename removes."""
    text = staged_file.read_text()
    fixed = text.replace(str(staging), str(final)).replace(staging.name, final.name)
    if fixed != text:
        staged_file.write_text(fixed)


def check_target(final: Path, *, force: bool, resume: bool = False) -> None:
    """Refuse to overwrite a finished run or silently drop an interrupted one."""
    if final.exists() and not (force or resume):
        raise ConfigError(
            f"output folder {final} already exists", "pass --force to replace it, or choose another --name"
        )
    staging = staging_path(final)
    if staging.exists() and not (force or resume):
        raise ConfigError(
            f"an interrupted run left {staging}",
            "pass --resume to continue it (training) or --force to start over",
        )


@contextmanager
def staged_output(final: Path, *, force: bool, resume: bool = False) -> Iterator[Path]:
    final = Path(final)
    check_target(final, force=force, resume=resume)
    staging = staging_path(final)
    if staging.exists() and not resume:
        shutil.rmtree(staging)
    try:
        staging.mkdir(parents=True, exist_ok=True)
        (staging / MARKER).write_text("this run did not finish; its outputs are not complete\n")
    except OSError as exc:
        raise ConfigError(
            f"cannot write to {staging.parent}: {exc.strerror}", "choose a writable output folder"
        ) from exc
    yield staging
    (staging / MARKER).unlink(missing_ok=True)
    old = final.parent / f"{final.name}.replaced"
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old)
