"""Vendor report parsers, checked on real Vivado HLS 2020.1 / Vivado 2020.1 reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from micae.errors import DataError, MicaeError
from micae.hls.reports import (
    collect_vendor_reports,
    find_vendor_reports,
    parse_csynth_rpt,
    parse_csynth_xml,
    parse_vivado_utilization,
)


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _truncated(src: Path, dst: Path, at: int) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text(src.read_text()[:at])
    return dst


def test_csynth_xml_numbers(fixtures):
    rep = parse_csynth_xml(fixtures / "myproject_csynth.xml").to_json()
    assert rep["source"] == str(fixtures / "myproject_csynth.xml")
    assert rep["tool"] == "vivado_hls 2020.1"
    assert rep["part"] == "xc7z020-clg400-1"
    assert rep["top"] == "myproject"
    assert rep["clock_ns"] == 5.0
    assert rep["estimated_clock_ns"] == pytest.approx(4.049)
    assert rep["clock_uncertainty_ns"] == pytest.approx(0.62)
    assert rep["resources"] == {
        "estimator": "vivado_hls csynth 2020.1",
        "LUT": 2532,
        "FF": 7969,
        "DSP": 73,
        "BRAM": 0,
        "URAM": 0,
        "available_LUT": 53200,
        "available_FF": 106400,
        "available_DSP": 220,
        "available_BRAM": 280,
        "available_URAM": 0,
    }
    assert rep["latency"] == {
        "cycles_min": 10,
        "cycles_max": 10,
        "interval": 8,
        "interval_max": 8,
        "clock_ns": 5.0,
        "ns": 50.0,
    }


def test_csynth_rpt_agrees_with_xml(fixtures):
    xml = parse_csynth_xml(fixtures / "myproject_csynth.xml").to_json()
    rpt = parse_csynth_rpt(fixtures / "myproject_csynth.rpt").to_json()
    assert rpt["source"] == str(fixtures / "myproject_csynth.rpt")
    assert {k: v for k, v in rpt.items() if k != "source"} == {k: v for k, v in xml.items() if k != "source"}
    assert rpt["resources"]["LUT"] == 2532 and rpt["latency"]["cycles_max"] == 10


def test_vivado_utilization_numbers(fixtures):
    rep = parse_vivado_utilization(fixtures / "vivado_synth.rpt").to_json()
    assert rep == {
        "source": str(fixtures / "vivado_synth.rpt"),
        "tool": "vivado 2020.1",
        "device": "7z020clg400-1",
        "resources": {
            "estimator": "vivado synth 2020.1",
            "LUT": 1526,
            "FF": 2428,
            "DSP": 66,
            "BRAM": 0,  # 2 * RAMB36 (0) + RAMB18 (0)
            "CARRY": 295,
            "available_LUT": 53200,
            "available_FF": 106400,
            "available_DSP": 220,
            "available_BRAM": 280,  # 2 * 140 Block RAM tiles, in 18K units
        },
    }


@pytest.mark.parametrize(
    "name, parse, cut",
    [
        ("myproject_csynth.xml", parse_csynth_xml, lambda text: len(text) // 2),
        ("myproject_csynth.rpt", parse_csynth_rpt, lambda text: text.index("|Total")),
        ("myproject_csynth.rpt", parse_csynth_rpt, lambda text: text.index("|Available") + 30),
        ("vivado_synth.rpt", parse_vivado_utilization, lambda text: len(text) // 2),
        ("vivado_synth.rpt", parse_vivado_utilization, lambda text: text.index("| CARRY4")),
    ],
)
def test_truncated_report_is_a_clear_error(fixtures, tmp_path, name, parse, cut):
    src = fixtures / name
    bad = _truncated(src, tmp_path / name, cut(src.read_text()))
    with pytest.raises(DataError, match="malformed or truncated") as info:
        parse(bad)
    assert isinstance(info.value, MicaeError)
    assert str(bad) in str(info.value) and "rerun the vendor tool" in str(info.value)


@pytest.mark.parametrize("parse", [parse_csynth_xml, parse_csynth_rpt, parse_vivado_utilization])
def test_empty_missing_and_wrong_kind_files(fixtures, tmp_path, parse):
    empty = tmp_path / "empty.rpt"
    empty.write_text("")
    with pytest.raises(DataError, match="empty"):
        parse(empty)
    with pytest.raises(DataError, match="cannot read"):
        parse(tmp_path / "missing.rpt")
    wrong = fixtures / ("vivado_synth.rpt" if parse is not parse_vivado_utilization else "myproject_csynth.rpt")
    with pytest.raises(DataError):
        parse(wrong)


def test_find_reports_in_vivado_hls_project(fixtures, tmp_path):
    prj = tmp_path / "myproject_prj"
    report = prj / "solution1/syn/report"
    xml = _copy(fixtures / "myproject_csynth.xml", report / "myproject_csynth.xml")
    rpt = _copy(fixtures / "myproject_csynth.rpt", report / "myproject_csynth.rpt")
    _copy(fixtures / "vivado_hls.app", prj / "vivado_hls.app")
    vsynth = _copy(fixtures / "vivado_synth.rpt", tmp_path / "vivado_synth.rpt")
    # Per-module reports sit beside the top's; a cut-short one fails loudly if picked.
    _truncated(fixtures / "myproject_csynth.xml", report / "dense_array_config2_s_csynth.xml", 500)
    assert find_vendor_reports(tmp_path) == {"csynth_xml": xml, "csynth_rpt": rpt, "vivado_synth": vsynth}

    got = collect_vendor_reports(tmp_path).to_json()
    assert got["files"] == {"csynth_xml": str(xml), "csynth_rpt": str(rpt), "vivado_synth": str(vsynth)}
    assert got["csynth"]["source"] == str(xml)
    assert got["csynth"]["resources"]["DSP"] == 73
    assert got["vivado_synth"]["resources"]["CARRY"] == 295
    assert got["warnings"] == []


def test_find_reports_for_any_top_name_and_vitis_layout(fixtures, tmp_path):
    named = tmp_path / "named"
    xml = _copy(fixtures / "myproject_csynth.xml", named / "encoder_prj/solution1/syn/report/encoder_csynth.xml")
    _truncated(fixtures / "myproject_csynth.xml", named / "encoder_prj/solution1/syn/report/layer2_csynth.xml", 500)
    assert find_vendor_reports(named) == {"csynth_xml": xml}

    vitis = tmp_path / "vitis"
    report = vitis / "myproject_prj/solution1/syn/report"
    vxml = _copy(fixtures / "myproject_csynth.xml", report / "csynth.xml")
    vrpt = _copy(fixtures / "myproject_csynth.rpt", report / "csynth.rpt")
    assert find_vendor_reports(vitis) == {"csynth_xml": vxml, "csynth_rpt": vrpt}
    assert find_vendor_reports(tmp_path / "nowhere") == {}


def test_collect_falls_back_to_text_report(fixtures, tmp_path):
    report = tmp_path / "myproject_prj/solution1/syn/report"
    _truncated(fixtures / "myproject_csynth.xml", report / "myproject_csynth.xml", 3000)
    rpt = _copy(fixtures / "myproject_csynth.rpt", report / "myproject_csynth.rpt")
    got = collect_vendor_reports(tmp_path).to_json()
    assert got["csynth"]["source"] == str(rpt)
    assert got["csynth"]["resources"]["LUT"] == 2532
    assert got["vivado_synth"] is None
    assert len(got["warnings"]) == 1 and "using the text report" in got["warnings"][0]


def test_collect_raises_when_only_report_is_broken(fixtures, tmp_path):
    report = tmp_path / "myproject_prj/solution1/syn/report"
    _truncated(fixtures / "myproject_csynth.xml", report / "myproject_csynth.xml", 3000)
    with pytest.raises(DataError, match="truncated"):
        collect_vendor_reports(tmp_path)
