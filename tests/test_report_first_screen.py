"""The report's first screen, timing figure and physics units (issue 23), rendered from the stored report.json
and metrics.json fixtures of a real tiny run (tests/fixtures/results-v0): no synthesis, no training."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from micae.report.first_screen import cards, quality_card, scope_lines
from micae.results.report import load_report

V0 = Path(__file__).parent / "fixtures" / "results-v0"


@pytest.fixture(scope="module")
def pnr_report():
    return load_report(V0 / "report_pnr.json")


@pytest.fixture(scope="module")
def elinks_run():
    from micae.results.metrics import load_metrics

    return {"metrics": load_metrics(V0 / "metrics_elinks.json")}


def _by_key(report, run=None) -> dict:
    return {c.key: c for c in cards(report, run)}


def test_cards_name_their_tool_and_device(pnr_report):
    c = _by_key(pnr_report)
    # the placed-and-routed cells of the Lattice part, from timing[0] (nextpnr's netlist), with % of LIFCL-40
    routed = c["resources, placed and routed"]
    assert routed.value == "1,380 LUT4" and routed.detail.startswith("+ 1,141 CCU2 carries, 1,240 FF; ")
    assert "LIFCL-40-9BG400C" in routed.source and "nextpnr-nexus" in routed.source
    assert "4,073 logic cells, 13% of the device" in routed.detail  # 4073 / 32256 OXIDE_COMB
    assert "pin wrapper's 420" in routed.detail
    # the yosys count on the Xilinx part beside it, called an estimate
    estimate = c["resources, estimate"]
    assert estimate.value == "2,366 LUT" and "xcvu9p-flga2104-2L-e" in estimate.source and "yosys" in estimate.source
    assert "no placement or routing" in estimate.detail
    # timing: the sign-off analysis, with Fmax, slack and device
    timing = c["timing"]
    entry = pnr_report.timing[0]
    assert timing.value == f"met at {entry.clock_ns:g} ns" and timing.tone == "pass"
    assert f"Fmax {entry.fmax_mhz:.1f} MHz" in timing.detail and f"slack {entry.slack_ns:+.2f} ns" in timing.detail
    assert timing.source.startswith("place-and-route, nextpnr-nexus") and timing.source.endswith("LIFCL-40-9BG400C")
    # latency: cycles = 4 stages + the input register, the ns from the analysis that signs off
    latency = c["latency"]
    assert latency.value == "5 cycles" and "4 pipeline stages + the input register" in latency.detail
    assert "place-and-route" in latency.source


def test_timing_card_without_signoff_says_so(pnr_report):
    raw = json.loads((V0 / "report_pnr.json").read_text())
    raw = copy.deepcopy(raw)
    raw["timing"] = [t for t in raw["timing"] if t["kind"] == "logic-sta"]
    for key in ("headline_route", "resources", "latency", "timing_met"):
        raw.pop(key, None)  # decided again by the loader, as for an older file
    report = load_report("r.json", raw=raw)
    timing = _by_key(report)["timing"]
    assert timing.tone == "muted" and "not signed off" in timing.detail
    assert "resources, placed and routed" not in _by_key(report)
    assert any("place-and-route (pnr off)" in line for line in scope_lines(report))


def test_scope_lines_say_which_implementation_and_what_did_not_run(pnr_report):
    lines = scope_lines(pnr_report)
    assert "micae's own RTL" in lines[0] and "hls/tiny was verified by C simulation only" in lines[0]
    assert "Not run: vendor HLS (--vendor off); vendor timing (--vendor off)." in lines
    assert lines[-1] == "Not estimated by micae: power, ASIC area."


def test_quality_card_names_the_best_baseline_and_the_emd_unit(elinks_run):
    metrics = elinks_run["metrics"]
    algos = metrics.elinks[2]
    others = {n: a.emd_mean for n, a in algos.items() if a.family != "autoencoder"}
    best = min(others, key=others.get)
    card = quality_card(elinks_run)
    assert card.key == "quality, mean EMD at L = 2"
    assert card.value.startswith("QAT model ")
    assert "best baseline" in card.detail and f"{others[best]:.4g}"[:4] in card.detail
    assert "best STC" in card.detail or best.startswith(("stc", "lit_stc"))
    assert "half trigger-cell pitches" in card.source


def test_timing_figure_draws_place_and_route(tmp_path, pnr_report):
    from micae.report.plots import make_figures
    from micae.report.timing_figure import critical_stage

    figs = make_figures(tmp_path, None, pnr_report)
    assert figs["timing"]["routed"] == ["LIFCL-40-9BG400C"]
    assert figs["timing"]["stages"] == 4 and figs["timing"]["hatched"] is False  # 7.98 ns < 10 ns
    assert critical_stage(pnr_report.timing[0]) == 0
    # place-and-route alone (no analysis with stage delays) still gets its chart
    alone = pnr_report.model_copy(update={"timing": pnr_report.timing[:1]})
    figs = make_figures(tmp_path / "alone", None, alone)
    assert (tmp_path / "alone" / "timing.png").stat().st_size > 0 and figs["timing"]["stages"] == 1


def test_timing_section_numbers_stages_as_the_rtl(pnr_report, tmp_path):
    from micae.report.build import markdown

    md = markdown(pnr_report)
    assert "stage 0 is tiny_core_stage0.v, stage 1 is tiny_core_stage1.v" in md
    assert "5 cycles = 4 stages + 1 input register" in md
    assert "hatched" not in md.split("## Timing")[1].split("##")[0]  # nothing is late: no hatching promised
    for words in (
        "### hls4ml settings",
        "| clock uncertainty | 27%",
        "`rtl/run_sim.sh`",
        "pnr/pnr.log",
    ):
        assert words in md, words
    assert "| LIFCL-40-9BG400C | OXIDE_COMB (nextpnr) | 4,073 | 32,256 | 12.6% |" in md
    assert "Not estimated by micae: power and ASIC area" in md


def test_emd_unit_on_every_table(elinks_run):
    from micae.report.sections_run import chip_blocks, metrics_table

    table = metrics_table(elinks_run["metrics"])
    emd_heads = [h for h in table.head if h.startswith("EMD")]
    assert emd_heads and all("half TC pitch" in h or "wafers" in h for h in emd_heads)
    assert "PCA (joint)" not in [r[0] for r in table.rows]  # one-input run: the same as PCA (tied), listed once
    chip = chip_blocks(elinks_run["metrics"])[1]
    assert all("half TC pitch" in h for h in chip.head if h.startswith("EMD"))
    assert chip.rows[0][0] == "QAT model (AE)"


def test_seconds_give_shares_to_steps_only():
    from micae.report.sections_fw import step_tables

    blocks = step_tables({"load model": 4.0, "step load": 5.0, "rtl: yosys": 30.0, "step rtl": 40.0, "total": 50.0})
    steps, parts = blocks[1], blocks[4]
    assert [r[0] for r in steps.rows] == ["load", "rtl", "total (wall clock)"]
    assert [str(r[2]) for r in steps.rows[:2]] == ["10%", "80%"]
    assert [r[0] for r in parts.rows] == ["load model", "rtl: yosys"] and all(len(r) == 2 for r in parts.rows)


def test_staged_paths_are_rewritten_to_the_shipped_folder(tmp_path):
    """A tool's file written while the run was staged names the final folder once shipped (cheap: no tools)."""
    from micae.hls.project import write_project_readme
    from micae.outputs import ship_paths, staging_path

    final = tmp_path / "hls" / "enc"
    stage = staging_path(final)
    stage.mkdir(parents=True)
    config = stage / "hls4ml_config.yml"
    config.write_text(f"KerasModel: !keras_model '{stage}/keras_model.keras'\nOutputDir: {stage}\n")
    ship_paths(config, stage, final)
    assert config.read_text() == f"KerasModel: !keras_model '{final}/keras_model.keras'\nOutputDir: {final}\n"
    write_project_readme(stage, "enc", "Vitis", 10, shipped_as=final)
    readme = (stage / "README.md").read_text()
    assert "cd enc\n" in readme and ".incomplete" not in readme


def test_coverage_separates_values_from_vectors_and_data_from_constructed(pnr_report):
    from micae.report.sections_fw import coverage_blocks

    cov = [
        c.model_copy(update={"data_vectors": 100, "data_vectors_with_ties": 7, "data_vectors_saturating": 90})
        for c in pnr_report.vectors.coverage
    ]
    report = pnr_report.model_copy(update={"vectors": pnr_report.vectors.model_copy(update={"coverage": cov})})
    blocks = coverage_blocks(report)
    values, vectors = blocks[2], blocks[3]
    assert values.head[2:] == ["values at a rounding tie", "values saturated high", "values saturated low"]
    assert vectors.head == [
        "stage",
        "with a tie (of 300)",
        "saturating",
        "from the data: with a tie (of 100)",
        "saturating",
        "constructed: with a tie (of 200)",
        "saturating",
    ]
    conv = pnr_report.vectors.coverage[0]
    assert vectors.rows[0][3:] == ["7", "90", str(conv.vectors_with_ties - 7), str(conv.vectors_saturating - 90)]


def test_a_part_micae_lists_no_totals_for_gets_nextpnrs_own(pnr_report):
    """An ECP5 place-and-route: devices.py knows no LFE5U totals, nextpnr's report.json does (available)."""
    from micae.report.hardware_facts import utilization

    ecp5 = pnr_report.timing[0].model_copy(
        update={
            "target": "LFE5U-25F-6BG381C",
            "family": "ecp5",
            "utilization": {"TRELLIS_COMB": 4073, "TRELLIS_FF": 1240},
            "available": {"TRELLIS_COMB": 24288, "TRELLIS_FF": 24288},
        }
    )
    report = pnr_report.model_copy(update={"timing": [ecp5, *pnr_report.timing[1:]]})
    rows = {tuple(r[:2]): r[2:] for r in utilization(report)[1].rows}
    assert rows[("LFE5U-25F-6BG381C", "TRELLIS_COMB (nextpnr)")] == ["4,073", "24,288 (the tool's)", "16.8%"]
    assert "4,073 logic cells, 17% of the device" in _by_key(report)["resources, placed and routed"].detail


def test_figures_read_from_the_tool_cache_say_so(pnr_report):
    from micae.results.hardware import CacheUse

    assert not any("tool cache" in c.source for c in cards(pnr_report, None))  # the tools ran in this run
    hit = CacheUse(kind="pnr", key="eac3", stored="2026-12-03T06:28:29Z", tool_seconds=357.3)
    routed = pnr_report.timing[0].model_copy(update={"cache": hit})
    report = pnr_report.model_copy(update={"timing": [routed, *pnr_report.timing[1:]]})
    c = _by_key(report)
    for key in ("timing", "resources, placed and routed"):
        assert "from micae's tool cache (the tool ran on the same inputs 2026-12-03T06:28:29Z in 357 s" in c[key].source
    assert "tool cache" not in c["resources, estimate"].source  # yosys ran in this run
