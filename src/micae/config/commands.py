"""The options of ``micae sweep``, ``micae findings`` and ``micae report``: one schema each, from which the CLI
(flags, help, defaults) is made and by which every value is validated, on one line naming the option."""

from __future__ import annotations

from typing import Annotated

from micae.config.base import Schema
from micae.config.types import Cli, Flag, Integer, Text

DEFAULT_FINDINGS = "findings/micae_findings.yaml"


class SweepCommand(Schema):
    """``micae sweep``: which sweep file, where its outputs go, and which Dask cluster runs its points."""

    config: Annotated[Text(), Cli(metavar="SWEEP.yaml")]
    """sweep YAML file (a grid: or a search:), e.g. sweeps/latent_size.yaml"""
    out: Annotated[Text(null=True), Cli(metavar="DIR")] = None
    """folder for the sweep outputs (none: the sweep file's folder)"""
    jobs: Annotated[Integer(ge=1, null=True), Cli(aliases=("--workers",), metavar="N")] = None
    """worker processes of the local Dask cluster, one point each at a time (none: the machine's cores)"""
    scheduler: Annotated[Text(null=True), Cli(metavar="ADDRESS")] = None
    """run on an existing Dask cluster: its scheduler address, e.g. tcp://host:8786"""
    scheduler_file: Annotated[Text(null=True), Cli(metavar="FILE")] = None
    """run on an existing Dask cluster: its scheduler file (shared filesystem)"""
    force: Flag = False
    """redo every point, even finished ones"""
    resume: Flag = False
    """for unfinished points keep a finished training and continue an interrupted one (default: redo them from
    scratch)"""
    dry_run: Flag = False
    """list the points and their state, run nothing"""


class FindingsCommand(Schema):
    """``micae findings``: which study file, where its page goes, how many workers."""

    config: Annotated[Text(), Cli(metavar="STUDY.yaml")] = DEFAULT_FINDINGS
    """study YAML file"""
    out: Annotated[Text(null=True), Cli(metavar="DIR")] = None
    """folder for the study's output folder (none: the study file's folder)"""
    name: Text(null=True) = None
    """output name (none: the study file's name: key, or its file name)"""
    workers: Annotated[Integer(ge=1, null=True), Cli(metavar="N")] = None
    """local Dask workers of the latent sweep (none: the study file's)"""
    force: Flag = False
    """replace an existing study output"""
    resume: Flag = False
    """continue an interrupted study (<name>.incomplete/): finished approaches and sweep points are reused"""
    page_only: Flag = False
    """train nothing: recompute the verdicts of the finished study with the study file's tolerances and rewrite
    its findings.html and findings.json"""


class ReportCommand(Schema):
    """``micae report``: which firmware folder (report.json) and which training run to rebuild the page from."""

    name: Text(null=True) = None
    """run name: reads <models-root>/<name>/ and <firmware-root>/<name>/"""
    models_root: Annotated[Text(), Cli(metavar="DIR")] = "models"
    """folder holding the training runs"""
    firmware_root: Annotated[Text(), Cli(metavar="DIR")] = "firmware"
    """folder holding the firmware outputs"""
    run: Annotated[Text(null=True), Cli(metavar="DIR")] = None
    """training run folder (instead of --name); omit with --firmware for firmware sections only"""
    firmware: Annotated[Text(null=True), Cli(metavar="DIR")] = None
    """firmware folder holding report.json (instead of --name)"""
    no_run: Flag = False
    """firmware sections only (the encoder came from a model file, there is no training run)"""
    no_probing: Flag = False
    """do not compute the latent-probing arrays (probing.npz) for a run folder that lacks them"""
