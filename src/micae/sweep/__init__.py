"""Parameter sweeps: a grid of run configs, each trained and synthesized in its own folder.

``grid`` reads sweep files and names the points, ``runner`` trains and
synthesizes them as Dask tasks (a LocalCluster, or an existing scheduler;
``cluster``, ``point``), resumably; ``study`` searches ranges with Optuna
(NSGA-II) on the same cluster; ``results`` and ``pareto`` turn the points'
files into results.csv and the Pareto plot.
"""

from micae.sweep.grid import SweepSpec, expand_grid, load_sweep, point_name
from micae.sweep.pareto import pareto_front
from micae.sweep.runner import SweepOutcome, run_sweep, write_results

__all__ = [
    "SweepOutcome",
    "SweepSpec",
    "expand_grid",
    "load_sweep",
    "pareto_front",
    "point_name",
    "run_sweep",
    "write_results",
]
