"""Shared test helpers: small encoders with weights that reach saturation and ties."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# real Vivado HLS 2020.1 reports; CI clones the repo with shared/ beside it
VIVADO_2020_1 = SHARED / "fixtures" / "vendor-reports" / "vivado-hls-2020.1"


def randomize_weights(model, seed: int = 0, scale: float = 1.0) -> None:
    """Uniform weights over most of the quantizer range, so accumulators can saturate."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([rng.uniform(-scale, scale, size=w.shape).astype(np.float32) for w in ws])


@pytest.fixture(scope="session")
def tf():
    import tensorflow

    return tensorflow


@pytest.fixture
def fixtures() -> Path:
    """The real vendor report fixtures (skips, saying where it looked, when shared/ is absent)."""
    if not VIVADO_2020_1.is_dir():
        pytest.skip(f"real vendor report fixtures not found at {VIVADO_2020_1} (clone shared/ beside the repo)")
    return VIVADO_2020_1


# ---- scheduling on 2 cores (make test: pytest -n 2 --dist loadfile) --------------------------------------------
# xdist hands out whole files in collection order. The longest files go first, so that short ones fill the end
# instead of one long file running alone on one core (the test files are otherwise alphabetical, which put the
# sweep files last). The first ones train and synthesize without the RTL route, so da4ml's numba kernels, which
# every worker would otherwise compile for ~140 s on its first RTL test, are compiled once meanwhile by
# `python -m micae.rtl.warm` in the background (numba's on-disk cache is then read by both workers).
LONGEST_FIRST = (
    "test_sweep_dask.py",  # ~400 s of one worker, no RTL (the seconds: the CI log of 2026-12-03)
    "test_sweep_study.py",  # ~300 s, no RTL
    "test_findings.py",  # ~200 s, no RTL
    "test_real_encoders.py",  # ~450 s: the CMS CAE forms through every level
    "test_econt_elinks.py",
    "test_report_html.py",
    "test_frontend_graph.py",
    "test_objectives.py",
    "test_rtl_sim.py",
    "test_determinism.py",
    "test_bad_inputs.py",
    "test_real_training.py",
    "test_train.py",
    "test_synthesize.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: a file's tests keep their order


def pytest_sessionstart(session) -> None:
    """Start compiling da4ml's kernels beside the first tests (the xdist controller or a plain run, once)."""
    import subprocess
    import sys

    config = session.config
    if hasattr(config, "workerinput") or os.environ.get("MICAE_TEST_WARM", "1") == "0":
        return
    config._micae_warm = subprocess.Popen(
        [sys.executable, "-m", "micae.rtl.warm"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def pytest_sessionfinish(session) -> None:
    warm = getattr(session.config, "_micae_warm", None)
    if warm is not None and warm.poll() is None:
        warm.kill()
        warm.wait(timeout=30)
