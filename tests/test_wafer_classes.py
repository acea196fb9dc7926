"""EMD by wafer occupancy and per-wafer wins: hand-made wafers and EMDs, and the report table built from them."""

from __future__ import annotations

import numpy as np
import pytest

from micae.metrics.wafer_classes import emd_by_occupancy, occupancy, wafer_wins


def test_occupancy_counts_lit_cells_per_wafer():
    x = np.zeros((3, 4, 4, 3))
    x[0, 0, 0, 0] = 0.5
    x[1].flat[:20] = 1.0 / 128
    x[2] = 1.0
    assert occupancy(x).tolist() == [1, 20, 48]


def test_emd_by_occupancy_bins_means_medians_and_undefined_values():
    occ = np.array([3, 5, 13, 30, 31, 32])
    emds = {
        "quantized": np.array([1.0, 3.0, 0.5, 0.2, 0.4, np.nan]),
        "bc": np.array([0.0, 0.0, 0.7, np.nan, np.nan, np.nan]),
    }
    bins = emd_by_occupancy(occ, emds, edges=(0, 12, 16, 20, 49))
    assert [(b["lo"], b["hi"], b["n"]) for b in bins] == [(0, 12, 2), (12, 16, 1), (20, 49, 3)]  # 16-19 is empty
    assert bins[0]["emd_mean"] == {"quantized": 2.0, "bc": 0.0}
    assert bins[1]["emd_median"] == {"quantized": 0.5, "bc": 0.7}
    # the NaN (undefined) EMD is left out of the mean; a model with none defined in the bin gets None
    assert bins[2]["emd_mean"]["quantized"] == pytest.approx(0.3)
    assert bins[2]["emd_mean"]["bc"] is None


def test_wafer_wins_counts_better_worse_and_ties_on_defined_pairs():
    emds = {
        "quantized": np.array([0.1, 0.5, 0.3, 0.3, np.nan]),
        "stc": np.array([0.2, 0.4, 0.3, 0.9, 0.1]),
    }
    wins = wafer_wins(emds)
    assert wins == {"stc": {"better": 0.5, "worse": 0.25, "tie": 0.25, "n": 4}}


def test_report_table_reads_the_stored_bins():
    import json
    from pathlib import Path

    from micae.report.sections_run import occupancy_blocks
    from micae.results.metrics import metrics_from_json

    raw = json.loads((Path(__file__).parent / "fixtures" / "results-v0" / "metrics.json").read_text())
    scores = {"mse": 0.01, "mse_median": 0.01}
    raw.update(
        {
            "n_parts": 1,
            "quantized": {**scores, "emd_mean": 0.8},
            "baselines": {
                "pca_tied": {**scores, "emd_mean": 1.2},
                "pca_joint": {**scores, "emd_mean": 1.2},
                "stc": {**scores, "emd_mean": 0.5},
            },
            "emd_by_occupancy": [
                {
                    "lo": 0,
                    "hi": 12,
                    "n": 7,
                    "emd_mean": {"quantized": 0.97, "pca_tied": 1.4, "pca_joint": 1.4, "stc": 0.37},
                    "emd_median": {"quantized": 0.9, "pca_tied": 1.3, "pca_joint": 1.3, "stc": 0.33},
                }
            ],
            "wafer_wins": {"stc": {"better": 0.208, "worse": 0.792, "tie": 0.0, "n": 7}},
        }
    )
    table, text = occupancy_blocks(metrics_from_json(raw))
    assert table.head == ["lit cells per wafer", "wafers", "QAT model", "PCA (tied)", "STC, equal-bit (micae)"]
    assert table.rows == [["0-11", "7", "0.97 / 0.9", "1.4 / 1.3", "0.37 / 0.33"]]
    said = "".join(s.text for s in text.spans)
    assert "STC, equal-bit (micae) on 20.8% (worse on 79.2%)" in said
    del raw["emd_by_occupancy"]
    assert occupancy_blocks(metrics_from_json(raw)) == []
