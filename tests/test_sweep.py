"""Sweeps: grid expansion and naming, Pareto fronts, results rows, and resumable runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from micae.errors import ConfigError
from micae.sweep.grid import (
    build_spec,
    default_labels,
    expand_grid,
    format_value,
    load_sweep,
    parse_axes,
    point_name,
    synth_options,
    yaml_scalar,
)
from micae.sweep.pareto import mark_fronts, pareto_front
from micae.sweep.results import columns, hardware_cells

ECONT = REPO / "models" / "econt.yaml"
DIGITS = REPO / "models" / "digits_micae.yaml"


# ---- grid expansion and naming -------------------------------------------------------------------


def test_grid_is_a_product_of_entries_and_comma_keys_vary_together():
    axes = parse_axes(
        {"encoder.filters": [4, 8], "encoder.latent,encoder.latent_quant.bits": [[16, 9], [20, 8], [32, 5]]}
    )
    points = expand_grid(axes)
    assert len(points) == 6
    assert points[0] == {"encoder.filters": 4, "encoder.latent": 16, "encoder.latent_quant.bits": 9}
    assert points[-1] == {"encoder.filters": 8, "encoder.latent": 32, "encoder.latent_quant.bits": 5}
    assert all((p["encoder.latent"], p["encoder.latent_quant.bits"]) in {(16, 9), (20, 8), (32, 5)} for p in points)
    assert expand_grid([]) == [{}]


@pytest.mark.parametrize(
    "grid, match",
    [
        ({"a.b,c.d": [[1, 2], [3]]}, "does not give 2 values"),
        ({"a.b": []}, "non-empty list"),
        ({"a.b": 3}, "non-empty list"),
        ({"a.b": [1], "c.d,a.b": [[1, 2]]}, "appear twice"),
    ],
)
def test_malformed_grids_are_refused(grid, match):
    with pytest.raises(ConfigError, match=match):
        parse_axes(grid)


def test_point_names_are_short_unique_and_file_safe():
    labels = default_labels(["encoder.latent", "encoder.latent_quant.bits", "encoder.input_quant.bits"])
    assert labels == {
        "encoder.latent": "latent",
        "encoder.latent_quant.bits": "latent_quant_bits",
        "encoder.input_quant.bits": "input_quant_bits",
    }
    assert (
        point_name(
            {"encoder.latent": 16, "encoder.latent_quant.bits": 9},
            {"encoder.latent": "latent", "encoder.latent_quant.bits": "bits"},
        )
        == "latent16_bits9"
    )
    assert point_name({}, {}) == "base"
    assert [format_value(v) for v in (0.5, -1, 3.0, "dropout:0.1", None, True, "frozen-encoder")] == [
        "0p5",
        "m1",
        "3",
        "dropout-0p1",
        "none",
        "true",
        "frozen-encoder",
    ]


def test_yaml_values_round_trip_into_configs():
    for v in (1e-5, 0.003, "dropout:0.1", None, True, "off", {"bits": 9, "integer": 2}, [1, 2]):
        assert yaml.safe_load(yaml_scalar(v)) == v


def test_spec_resolves_full_run_configs_and_prefilters_compression():
    spec = build_spec(
        name="t",
        base=ECONT,
        fixed={"train.epochs": 2, "train.noise": None, "econt.elinks": None},  # latent widths off the chip's frame
        grid={"encoder.latent,encoder.latent_quant.bits": [[16, 10], [24, 8]], "train.mode": ["joint", "encoder"]},
        labels={"encoder.latent_quant.bits": "bits"},
    )
    names = [p.name for p in spec.points]
    assert names == [
        "latent16_bits10_modejoint",
        "latent16_bits10_modeencoder",
        "latent24_bits8_modejoint",
        "latent24_bits8_modeencoder",
    ]
    p = spec.points[0]
    assert p.config.name == p.name and p.config.train["epochs"] == 2
    assert p.config.raw["encoder"]["latent_quant"] == {
        "bits": 10,
        "integer": 1,
        "signed": False,
        "relu": True,
    }  # integer, signed and relu from econt.yaml
    assert p.config.raw["encoder"]["filters"] == 8  # the rest of the base config is kept
    assert p.skip is None
    assert spec.points[2].skip == "compression 2 < 3"  # 48 input values / 24 latents (ECON-T counts values)
    assert spec.synth == {"vectors": 1000, "rtl_vectors": 100_000, "rtl": "auto", "vendor": "off"}


def test_spec_errors_are_one_line_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"sweep point bogus1: train.bogus = 1: unknown key; train takes"):
        build_spec(name="t", base=ECONT, fixed={}, grid={"train.bogus": [1, 2]})
    with pytest.raises(ConfigError, match="same name"):
        build_spec(name="t", base=ECONT, fixed={}, grid={"train.learning_rate": [0.5, "0p5"]})
    with pytest.raises(ConfigError, match=r"synth.vectrs = 3: unknown key; synth takes"):
        build_spec(name="t", base=ECONT, fixed={}, grid={}, synth={"vectrs": 3})
    f = tmp_path / "s.yaml"
    f.write_text("base: nothere.yaml\n")
    with pytest.raises(ConfigError, match="does not exist"):
        load_sweep(f)
    f.write_text("base: x.yaml\nextra: 1\n")
    with pytest.raises(ConfigError, match=r"extra = 1: unknown key; allowed: base, grid, labels, name, set, synth"):
        load_sweep(f)


def test_sweep_file_paths_are_relative_to_the_file_and_yaml_off_is_a_mode(tmp_path):
    (tmp_path / "sw").mkdir()
    f = tmp_path / "sw" / "mini.yaml"
    f.write_text(f"base: {Path('..') / 'base.yaml'}\ngrid: {{encoder.latent: [4]}}\nsynth: {{rtl: off, vendor: off}}\n")
    (tmp_path / "base.yaml").write_text(DIGITS.read_text())
    spec = load_sweep(f)
    assert spec.name == "mini" and spec.base == (tmp_path / "base.yaml").resolve()
    assert spec.synth["rtl"] == "off" and spec.synth["vendor"] == "off"
    assert synth_options({"rtl": True})["rtl"] == "on"


def test_default_sweep_file_is_valid_and_keeps_the_bit_budget():
    spec = load_sweep(REPO / "sweeps" / "latent_size.yaml")
    run = [p for p in spec.points if p.skip is None]
    skipped = [p for p in spec.points if p.skip]
    assert len(run) >= 4 and skipped and all(p.skip.startswith("compression") for p in skipped)
    for p in run:
        enc = p.config.raw["encoder"]
        assert enc["latent"] * enc["latent_quant"]["bits"] <= 144  # the chip's 16 x 9 output bits


# ---- Pareto fronts and results rows ---------------------------------------------------------------


def test_pareto_front_minimises_both_coordinates():
    pts = [(100, 2.0), (200, 1.5), (150, 2.5), (300, 1.5), (400, 1.0), (100, 2.0), (None, 0.1), (50, math.nan)]
    assert pareto_front(pts) == [True, True, False, False, True, True, False, False]
    assert pareto_front([]) == []
    assert pareto_front([(1, 1)]) == [True]
    assert pareto_front([(1, 2), (1, 1)]) == [False, True]  # equal cost, better loss dominates


def test_mark_fronts_uses_either_plane_and_ignores_unfinished_points():
    rows = [
        {"status": "ok", "emd_mean": 1.0, "LUT": 900, "cycles": 4, "ns": 20.0},
        {"status": "ok", "emd_mean": 1.2, "LUT": 500, "cycles": 6, "ns": 30.0},
        {"status": "ok", "emd_mean": 1.3, "LUT": 950, "cycles": 3, "ns": 15.0},
        {"status": "ok", "emd_mean": 1.4, "LUT": 990, "cycles": 5, "ns": 25.0},
        {"status": "failed", "emd_mean": 0.1, "LUT": 1, "cycles": 1, "ns": 1.0},
        {"status": "skipped"},
    ]
    fronts = mark_fronts(rows)
    assert fronts["LUT"][:4] == [True, True, False, False]
    assert fronts["latency"][:4] == [True, False, True, False]
    assert [r["pareto"] for r in rows] == [1, 1, 1, 0, "", ""]


def test_without_lut_numbers_the_front_uses_the_weight_count_proxy():
    rows = [
        {"status": "ok", "test_mse": 0.1, "weights_nz": 300, "LUT": ""},
        {"status": "ok", "test_mse": 0.2, "weights_nz": 400, "LUT": ""},
    ]
    mark_fronts(rows)
    assert [r["pareto"] for r in rows] == [1, 0]


def _v0_report(name: str) -> dict:
    """A report.json written by the previous micae (tests/fixtures/results-v0)."""
    return json.loads((Path(__file__).parent / "fixtures" / "results-v0" / name).read_text())


def test_hardware_cells_are_the_headline_the_flow_decided_and_missing_cells_stay_empty():
    from micae.results.report import load_report

    assert hardware_cells(None)["LUT"] == ""
    report = load_report("r.json", raw=_v0_report("report_pnr.json"))
    cells = hardware_cells(report)
    assert (cells["LUT"], cells["FF"], cells["DSP"]) == (report.resources.LUT, report.resources.FF, 0)
    assert cells["cycles"] == report.rtl.latency_cycles and cells["ns"] == cells["cycles"] * 10.0
    assert cells["ns_source"].startswith("place-and-route") and cells["route"] == "micae rtl (da4ml) + yosys"
    assert cells["weights_nz"] == sum(s.unrolled_nonzero_weights for s in report.model.stages) > 0
    assert cells["mismatches"] == 0
    vendor = hardware_cells(load_report("r.json", raw=_v0_report("report_vendor.json")))
    assert vendor["route"].endswith("csynth") and vendor["LUT"] == 2532 and vendor["cycles"] == 10
    assert vendor["ns_source"] == "vendor HLS estimate (csynth), not place-and-route"


def test_headline_figures_come_from_the_flow_not_from_a_route_the_sweep_picks():
    from micae.results.report import load_report

    raw = _v0_report("report_pnr.json")
    raw["verification"]["rtl"]["mismatches"] = 3
    cells = hardware_cells(load_report("r.json", raw=raw))
    assert cells["mismatches"] == 3
    # the flow found no figures: the sweep does not go looking in the routes itself
    none = hardware_cells(
        load_report("r.json", raw={**raw, "headline_route": None, "resources": None, "latency": None})
    )
    assert none["LUT"] == "" and none["ns"] == "" and none["route"] == "" and none["cycles"] == ""


def test_results_columns():
    cols = columns(["encoder.latent"])
    assert cols[:3] == ["encoder.latent", "point", "status"]
    for c in (
        "test_mse",
        "emd_mean",
        "emd_median",
        "float_mse",
        "pca_tied_mse",
        "compression",
        "LUT",
        "FF",
        "DSP",
        "cycles",
        "ns",
        "mismatches",
        "seconds",
        "worker",
        "host",
        "pareto",
        "error",
    ):
        assert c in cols


def test_results_csv_rows_are_typed_and_read_back_by_their_loader(tmp_path):
    from micae.errors import DataError
    from micae.sweep.results import ROWS_SCHEMA_VERSION, SweepRow, load_rows, write_csv

    rows = [
        SweepRow(grid={"encoder.latent": 8}, point="p0", status="ok", test_mse=0.0123, LUT=812, cycles=3, ns=30.0),
        SweepRow(grid={"encoder.latent": 16}, point="p1", status="failed", error="train: boom"),
    ]
    cols = columns(["encoder.latent"])
    assert cols[-1] == "schema_version"
    write_csv(tmp_path / "results.csv", [r.cells() for r in rows], cols)
    back = load_rows(tmp_path / "results.csv", ["encoder.latent"])
    assert [r.model_dump(exclude={"grid"}) for r in back] == [r.model_dump(exclude={"grid"}) for r in rows]
    assert back[0].grid == {"encoder.latent": "8"} and back[0].LUT == 812 and back[1].test_mse is None
    assert back[0].schema_version == ROWS_SCHEMA_VERSION
    text = (tmp_path / "results.csv").read_text()
    (tmp_path / "old.csv").write_text(text.replace(",1\n", ",\n"))  # no schema_version: an older micae's
    with pytest.raises(DataError, match=r"old.csv line 2 has schema_version 0; this micae reads 1"):
        load_rows(tmp_path / "old.csv", ["encoder.latent"])
    (tmp_path / "bad.csv").write_text(text.replace("812", "many"))
    with pytest.raises(DataError, match=r"bad.csv line 2: LUT: Input should be a valid integer"):
        load_rows(tmp_path / "bad.csv", ["encoder.latent"])


# ---- running, resuming, skipping (slow: real training + synthesis) ----------------------------------


def _tiny_sweep(tmp_path: Path, grid: dict) -> Path:
    f = tmp_path / "tiny.yaml"
    f.write_text(
        yaml.safe_dump(
            {
                "name": "tiny",
                "base": str(DIGITS),
                "set": {"train.epochs": 1, "train.float_twin": False},
                "grid": grid,
                "synth": {"vectors": 200, "rtl": "off", "vendor": "off"},
            }
        )
    )
    return f


# The run/skip/resume and Dask tests are in test_sweep_dask.py, the Optuna search in test_sweep_study.py.


@pytest.mark.slow
def test_a_failing_point_is_recorded_not_fatal(tmp_path):
    from micae.sweep.runner import run_sweep

    # the telescope loss needs an HGCAL layout: training fails for the digits data
    f = _tiny_sweep(tmp_path, {"train.loss": ["telescope"]})
    outcome = run_sweep(load_sweep(f), tmp_path / "out", jobs=1, say=lambda m: None)  # a one-worker LocalCluster
    (row,) = outcome.rows
    assert row["status"] == "failed" and row["error"].startswith("train: the telescope loss needs an HGCAL layout")
    assert "failed" in (tmp_path / "out" / "tiny" / "results.csv").read_text()
