"""Where a sweep keeps its files.

<out>/<sweep>/
    sweep.json                the resolved sweep (points, their configs and synth options)
    results.csv               one row per point
    pareto_front.csv          the rows on a Pareto front
    pareto.png                quality against LUTs and against latency
    points/<point>/
        config.yaml           the point's full run config (what the point trains)
        log.txt               output of its training and synthesis
        models/<point>/       the training run (encoder.h5, metrics.json, ...)
        hls/<point>/          the hls4ml project
        firmware/<point>/     report.json, Verilog, logs
        done.json             written last: status, error, seconds, fingerprint
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PointPaths:
    root: Path
    name: str

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def log(self) -> Path:
        return self.root / "log.txt"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def run(self) -> Path:
        return self.models / self.name

    @property
    def hls(self) -> Path:
        return self.root / "hls"

    @property
    def firmware(self) -> Path:
        return self.root / "firmware"

    @property
    def metrics(self) -> Path:
        return self.run / "metrics.json"

    @property
    def report(self) -> Path:
        return self.firmware / self.name / "report.json"

    @property
    def done(self) -> Path:
        return self.root / "done.json"


def sweep_dir(out: Path, name: str) -> Path:
    return Path(out) / name


def point_paths(sweep_root: Path, point_name: str) -> PointPaths:
    return PointPaths(Path(sweep_root) / "points" / point_name, point_name)
