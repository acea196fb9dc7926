"""Result files as typed, versioned models: files written by the previous micae (tests/fixtures/results-v0, made
with main's code before schema versions) are carried over by the one migration with every key and value kept;
anything else is refused with one line naming the file, its version and the fix."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from micae.errors import ConfigError, DataError
from micae.results.report import REPORT_SCHEMA_VERSION, SynthReport, load_report, migrate_report
from micae.results.rtl import RTL_SCHEMA_VERSION, load_manifest

V0 = Path(__file__).parent / "fixtures" / "results-v0"
REPORTS = ["report_pnr.json", "report_vendor.json"]


def _same_json(a, b, path="") -> list[str]:
    """Paths where two JSON values differ (numbers compare by value: 10 == 10.0)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only in one" for k in set(a) ^ set(b)]
        return out + [d for k in set(a) & set(b) for d in _same_json(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same_json(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:  # NaN (an undefined EMD) kept as NaN
        return []
    return [] if a == b and type(a) is type(b) or (isinstance(a, float | int) and a == b) else [f"{path}: {a!r}"]


@pytest.mark.parametrize("name", REPORTS)
def test_a_report_of_the_previous_micae_keeps_every_key_and_value(name):
    raw = json.loads((V0 / name).read_text())
    assert "schema_version" not in raw
    report = load_report(V0 / name)
    assert report.schema_version == REPORT_SCHEMA_VERSION
    written = report.to_json()
    assert written.pop("schema_version") == REPORT_SCHEMA_VERSION
    assert _same_json(raw, written) == []
    assert list(written) == list(raw)  # same order of the top-level keys, too
    again = load_report(V0 / name, raw=report.to_json())  # the current version reads without migrating
    assert again == report


def test_the_typed_report_holds_what_the_flow_decided():
    pnr = load_report(V0 / "report_pnr.json")
    assert pnr.ok is True and pnr.timing_met is True
    assert pnr.headline is not None and pnr.headline.kind == "open-source"
    assert pnr.latency.ns_source == "place-and-route (nextpnr-nexus, LIFCL-40-9BG400C)" and pnr.latency.verified
    assert pnr.latency.ns == pnr.latency.cycles_max * 10.0
    (analysis,) = pnr.analyses("place-and-route")
    assert analysis.resources.LUT > 0 and analysis.critical.launch.startswith(("stage", "wrapper", "output"))
    assert pnr.rtl.latency_cycles == pnr.latency.cycles_max and pnr.rtl.cocotb.files
    vendor = load_report(V0 / "report_vendor.json")
    assert vendor.headline.kind == "vendor" and vendor.vendor.identified is True
    assert vendor.vendor.reports.csynth.resources.LUT == vendor.resources.LUT
    assert vendor.latency.ns_source == "vendor HLS estimate (csynth), not place-and-route"
    assert vendor.latency.verified is False


def _legacy() -> dict:
    """A report.json from before ``ok``/``headline_route``/``timing_met`` existed, ``bit_ratio`` neither."""
    raw = json.loads((V0 / "report_vendor.json").read_text())
    for key in ("ok", "headline_route", "resources", "latency", "timing_met"):
        del raw[key]
    budget = raw["model"]["bit_budget"]
    budget["compression_factor"] = budget.pop("bit_ratio")  # older files called the bit ratio that
    for key in ("n_parts", "masked_inputs", "total_input_values", "total_latent_values"):
        del budget[key]
    del raw["model"]["exact"], raw["options"]["sources"]
    return raw


def test_older_files_are_decided_by_the_same_rules_as_the_flow():
    current = load_report(V0 / "report_vendor.json")
    legacy = load_report("old/report.json", raw=_legacy())
    for key in ("ok", "headline_route", "resources", "latency", "timing_met"):
        assert getattr(legacy, key) == getattr(current, key), key
    budget = legacy.model.bit_budget
    assert budget.compression_factor == budget.input_values / budget.latent_values
    assert budget.bit_ratio == budget.input_bits / budget.latent_bits and budget.n_parts == 1
    assert legacy.model.exact is True and legacy.options.sources == {}
    # a stand-in route of an older micae is never the headline, whatever its kind says
    raw = _legacy()
    for route in raw["routes"]:
        route["stand_in"] = True
    assert load_report("old/report.json", raw=raw).headline_route is None
    # a failed level makes the verdict false; a skipped one does not count
    raw = _legacy()
    raw["verification"]["csim"]["mismatches"] = 2
    assert load_report("old/report.json", raw=raw).ok is False


def test_an_older_ns_source_naming_its_analysis_becomes_text():
    raw = json.loads((V0 / "report_pnr.json").read_text())
    raw["latency"]["ns_source"] = {"kind": "place-and-route", "tool": {"name": "nextpnr-nexus"}, "target": "LIFCL"}
    assert load_report("old/report.json", raw=raw).latency.ns_source == "place-and-route (nextpnr-nexus, LIFCL)"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(schema_version=99), "has schema_version 99, newer than this micae reads"),
        (lambda r: r.update(schema_version="one"), "has schema_version 'one', not a version number"),
        (lambda r: r["model"].pop("name"), "(schema_version 0, written by an older micae, read as version 1)"),
        (lambda r: r.update(schema_version=1, ok="maybe"), "(schema_version 1, read as version 1)"),
        (lambda r: r["routes"][0]["resources"].update(LUT="many"), "routes[0].resources.LUT: Input should be"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_in_one_line_with_its_version_and_the_fix(tmp_path, change, message):
    raw = json.loads((V0 / "report_pnr.json").read_text())
    change(raw)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError) as info:
        load_report(path)
    line = info.value.one_line()
    assert message in line and str(path) in line and "micae synth --force" in line and "\n" not in line


def test_broken_or_missing_files_are_refused_naming_the_file(tmp_path):
    (tmp_path / "report.json").write_text('{"model": ')
    with pytest.raises(DataError, match="is not valid JSON"):
        load_report(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_report(tmp_path / "nowhere.json")


def test_migration_refuses_versions_it_does_not_know():
    with pytest.raises(ValueError, match="no migration from schema_version 3"):
        migrate_report({}, 3)


def test_rtl_manifest_of_the_previous_micae(tmp_path):
    manifest = load_manifest(V0 / "rtl.json")
    assert manifest.schema_version == RTL_SCHEMA_VERSION and manifest.ports.input.count == 48
    assert manifest.latency_cycles == load_report(V0 / "report_pnr.json").rtl.latency_cycles
    with pytest.raises(ConfigError, match="not an RTL folder written by micae"):
        load_manifest(tmp_path)


def test_a_report_is_written_and_read_back_unchanged(tmp_path):
    report = load_report(V0 / "report_pnr.json")
    report.write(tmp_path)
    assert load_report(tmp_path) == report
    assert json.loads((tmp_path / "report.json").read_text())["schema_version"] == REPORT_SCHEMA_VERSION


def test_unknown_keys_are_errors_not_silently_kept():
    raw = copy.deepcopy(json.loads((V0 / "report_pnr.json").read_text()))
    raw["schema_version"] = REPORT_SCHEMA_VERSION
    raw["verification"]["rtl"]["mismatchez"] = 0
    with pytest.raises(DataError, match=r"verification\.rtl\.mismatchez"):
        load_report("r.json", raw=raw)
    assert isinstance(load_report(V0 / "report_pnr.json"), SynthReport)


@pytest.mark.parametrize("name", ["report_pnr", "report_vendor"])
def test_the_report_pages_say_what_the_previous_micae_said(name):
    """report.md of a previous micae's report.json, rendered by main's code before the typing (the .md beside
    it) and by this one through the typed report: the same text, figure for figure (the date line aside)."""
    from micae.report.build import markdown

    def body(text: str) -> list[str]:
        return [line for line in text.splitlines() if "; generated " not in line]

    assert body(markdown(load_report(V0 / f"{name}.json"))) == body((V0 / f"{name}.md").read_text())


METRICS = ["metrics.json", "metrics_elinks.json"]
"""metrics.json of main before the typing (7c49be6), and of main at 3762676: an ECON-T run at L = 2 with the chip
comparison (``elinks``, ``elinks_about``), pre-training (``pretrain``, phases ``pretrain``/``pretrain_float``),
zero codes counted at L and the frame's bit budget (README.md beside the files)."""


@pytest.mark.parametrize("name", METRICS)
def test_metrics_of_the_previous_micae_keep_every_key_and_value(name, tmp_path):
    from micae.results.metrics import METRICS_SCHEMA_VERSION, load_metrics

    raw = json.loads((V0 / name).read_text())
    assert "schema_version" not in raw
    metrics = load_metrics(V0 / name)
    written = metrics.to_json()
    assert written.pop("schema_version") == METRICS_SCHEMA_VERSION
    assert _same_json(raw, written) == []
    assert list(written) == list(raw)  # same order of the top-level keys, too
    metrics.write(tmp_path)
    assert load_metrics(tmp_path) == metrics


def test_metrics_of_an_econt_run_are_typed():
    """main's new blocks are typed fields: the chip comparison in evaluation.json's form (its AlgorithmResult),
    the pre-training, the zero codes' e-link context and the frame's counts."""
    from micae.evaluate.schema import AlgorithmResult
    from micae.results.metrics import load_metrics

    raw = json.loads((V0 / "metrics_elinks.json").read_text())
    m = load_metrics(V0 / "metrics_elinks.json")
    assert m.elinks is not None and list(m.elinks) == [2]
    assert {"ae", "ae_float", "bc", "stc4", "stc16", "threshold"} <= set(m.elinks[2])
    assert all(isinstance(r, AlgorithmResult) for r in m.elinks[2].values())
    assert m.elinks[2]["bc"].emd_mean == raw["elinks"]["2"]["bc"]["emd_mean"]
    assert m.elinks_about is not None and m.elinks_about.elinks == 2
    assert m.pretrain is not None and (m.pretrain.dataset, m.pretrain.preset) == ("hgcal-synth", "pileup")
    assert m.pretrain.samples.train == raw["pretrain"]["samples"]["train"]
    assert {"pretrain", "pretrain_float", "micae", "float"} <= set(m.training)
    assert m.zero_codes is not None and (m.zero_codes.elinks, m.zero_codes.latent_bits) == (2, 3)
    b = m.bit_budget
    assert (b.elinks, b.frame_bits, b.frame_latent_bits, b.latent_bits_each) == (2, 64, 48, 3)
    assert b.frame_bit_ratio == raw["bit_budget"]["frame_bit_ratio"]


def test_sweep_rows_carry_the_chip_comparison_of_a_typed_run():
    from micae.results.metrics import load_metrics
    from micae.sweep.results import CHIP_COLUMNS, SweepRow, metric_cells

    raw = json.loads((V0 / "metrics_elinks.json").read_text())
    cells = metric_cells(load_metrics(V0 / "metrics_elinks.json"))
    chip = raw["elinks"]["2"]
    assert cells["elinks"] == 2
    assert cells["ae_emd_ge16"] == chip["ae"]["lit_ge16"]["emd_mean"]
    for name in ("bc", "stc4", "stc16", "threshold"):
        assert cells[f"chip_{name}_emd_mean"] == chip[name]["emd_mean"]
    for name in ("bc", "stc4"):
        assert cells[f"chip_{name}_emd_ge16"] == chip[name]["lit_ge16"]["emd_mean"]
    row = SweepRow.from_cells({**cells, "point": "p", "status": "ok", "schema_version": 1}, [])
    assert {k: row.cells()[k] for k in CHIP_COLUMNS} == {k: cells[k] for k in CHIP_COLUMNS}
    no_chip = metric_cells(load_metrics(V0 / "metrics.json"))
    assert all(no_chip[k] == "" for k in CHIP_COLUMNS)


def test_a_bit_budget_with_the_econt_frame_round_trips():
    from micae.fixed.budget import bit_budget
    from micae.results.report import BitBudget

    budget = bit_budget(48, 8, 16, 3, elinks=2)
    typed = BitBudget.model_validate(budget)
    assert typed.to_json() == budget
    assert (typed.frame_bits, typed.frame_header_bits, typed.frame_sum_bits, typed.frame_spare_bits) == (64, 5, 9, 2)
    plain = bit_budget(48, 8, 16, 3)
    assert BitBudget.model_validate(plain).to_json() == plain  # no frame keys without an e-link count
