"""The view model behind report.md and report.html: same numbers in both, verdict and headline read (not
recomputed), timing banner, latency sources, escaping, ECON-T baselines and EMD against wafer charge."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from micae.report.build import write_html_report, write_reports
from micae.report.figures import binned_mean
from micae.report.run_data import models_in_arrays
from test_report_html import _fake_report, _fake_run, check_page, parse

TIMING_FAIL = {
    "target": "LIFCL-40-9BG400C",
    "tool": {"name": "nextpnr-nexus", "version": "0.7"},
    "kind": "place-and-route",
    "clock_ns": 5.0,
    "fmax_mhz": 142.3,
    "slack_ns": -2.03,
    "met": False,
    "critical_path": "in_reg[3] -> add_7 -> out_reg[1]",
    "stage_delays_ns": [3.2, 7.03],
}
TIMING_STA = {
    "target": "xcvu9p",
    "tool": {"name": "yosys sta", "version": "0.23"},
    "kind": "logic-sta",
    "clock_ns": 5.0,
    "fmax_mhz": 310.0,
    "slack_ns": 1.77,
    "met": True,
    "critical_path": "a -> b",
    "stage_delays_ns": [2.1, 3.2],
}


def _md_table(md: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with ``first_header`` (header row excluded)."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


class _Tables(HTMLParser):
    """Every <table> of a page as a list of rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _html_rows(text: str, first_header: str) -> list[list[str]]:
    """The rows of the HTML table whose header starts with ``first_header`` (header row excluded)."""
    parser = _Tables()
    parser.feed(text)
    return next(t[1:] for t in parser.tables if t and t[0] and t[0][0] == first_header)


def _pages(tmp_path, report: dict, run=None):
    fw = tmp_path / "fw"
    fw.mkdir(exist_ok=True)
    out = write_html_report(fw, run, report)
    text, page = parse(out)
    return (fw / "report.md").read_text(), text, page


def test_md_and_html_show_the_same_verification_numbers(tmp_path):
    report = _fake_report("plain")
    report["verification"]["rtl_crosscheck"] = {
        "vectors": 64,
        "mismatches": 0,
        "max_abs_lsb_error": 0,
        "first_mismatches": [],
        "simulator": "icarus",
    }
    report["verification"]["rtl"] = {
        "vectors": 300,
        "mismatches": 0,
        "max_abs_lsb_error": 0,
        "first_mismatches": [],
        "simulator": "verilator",
    }
    md, text, page = _pages(tmp_path, report)
    md_rows = _md_table(md, "level")
    html_rows = _html_rows(text, "level")
    assert [[c.replace("&lt;", "<").replace("\\|", "|") for c in r] for r in md_rows] == html_rows
    numbers = [r[:4] for r in md_rows]
    # and both agree with report.json itself, every level in its order, the extra ones included
    expected = [
        [k, f"{v['vectors']:,}", str(v["mismatches"]), str(v["max_abs_lsb_error"])]
        if "vectors" in v
        else [k, "-", "-", "-"]
        for k, v in report["verification"].items()
    ]
    assert numbers == expected
    assert "simulator verilator" in page.row("rtl")[-1] and "simulator icarus" in page.row("rtl_crosscheck")[-1]


def test_verdict_is_read_from_report_not_recomputed(tmp_path):
    report = _fake_report("plain")
    report["verification"]["csim"].update(mismatches=0, first_mismatches=[], max_abs_lsb_error=0)
    report["ok"] = False  # the flow's verdict wins even when every listed level shows 0 mismatches
    md, text, _ = _pages(tmp_path, report)
    assert "Verification FAIL" in md and "PASS" not in md
    assert "FAIL" in text and "PASS" not in text

    del report["ok"]  # an old report.json: the one fallback counts the levels
    md, _, _ = _pages(tmp_path, report)
    assert "Verification PASS: every latent value bit-identical at 2 level(s)" in md


def test_timing_not_met_shows_a_banner_in_both(tmp_path):
    report = _fake_report("plain")
    report["timing"] = [TIMING_FAIL, TIMING_STA]
    md, text, page = _pages(tmp_path, report)
    sentence = "timing not met at 5.0 ns: Fmax 142.3 MHz, slack -2.03 ns after place-and-route on LIFCL-40-9BG400C"
    banner = re.search(r'<div class="banner fail" role="alert">(.*?)</div>', text)
    assert banner and sentence in banner.group(1)
    assert text.index("banner fail") < text.index("<h1>")
    first_section = md.index("\n## ")
    assert sentence in md[:first_section]
    # the table: one row per analysis; logic-only STA is labelled a lower bound
    assert page.row("LIFCL-40-9BG400C")[-1] == "NO" and page.row("xcvu9p")[-1] == "yes (logic-sta, not sign-off)"
    assert "lower bound" in page.row("xcvu9p")[2]
    assert "in_reg[3] -&gt; add_7 -&gt; out_reg[1]" in text
    assert (tmp_path / "fw" / "plots" / "timing.png").is_file()
    check_page(tmp_path / "fw" / "report.html", expect_images=True)

    report["timing"] = [TIMING_STA]
    md, text, _ = _pages(tmp_path, report)
    assert "timing not met" not in md and "banner" not in text.split("</style>")[1]


def test_latency_source_never_claims_verified_without_it(tmp_path):
    report = _fake_report("plain")
    md, text, page = _pages(tmp_path, report)
    row = page.row("micae rtl (da4ml) + yosys")
    assert row[13] == "requested clock, not checked by a timing tool" and row[14] == "yes"
    assert "verified" not in md.lower()

    report["headline_route"] = "micae rtl (da4ml) + yosys"
    report["latency"].update(ns_source="nextpnr-nexus place-and-route", ns=14.1, verified=False)
    md, _, page = _pages(tmp_path, report)
    assert page.row("micae rtl (da4ml) + yosys")[13].startswith("nextpnr-nexus place-and-route")
    assert "verified" not in md.lower()

    report["latency"]["verified"] = True
    md, _, _ = _pages(tmp_path, report)
    assert "verified: a place-and-route or vendor analysis met the clock" in md


def test_headline_route_is_the_named_one(tmp_path):
    report = _fake_report("plain")
    report["headline_route"] = "hls4ml + vitis_hls csynth"
    report["resources"] = report["routes"][0]["resources"]  # decided with the headline, as the flow writes it
    _, _, page = _pages(tmp_path, report)
    assert page.row("hls4ml + vitis_hls csynth")[14] == "yes"
    assert page.row("micae rtl (da4ml) + yosys")[14] == ""
    words = " ".join(page.text)
    assert "1,200 LUT" in words  # the card shows the named route's resources


def test_hostile_model_name_is_escaped(tmp_path):
    name = '<script>alert("x")</script>'
    report = _fake_report(name)
    report["timing"] = [{**TIMING_FAIL, "target": "<img src=x onerror=alert(1)>"}]
    md, text, _ = _pages(tmp_path, report)
    assert "<script" not in text.lower() and "<img src=x" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert "<script" not in md and "&lt;script>" in md


def _baseline_run(tmp_path, n: int = 400):
    """A run folder whose arrays carry ECON-T baselines, with a charge scale and EMD falling with charge."""
    run = _fake_run(tmp_path / "run", n=n)
    rng = np.random.default_rng(1)
    with np.load(run / "test_data.npz") as z:
        data = {k: z[k] for k in z.files}
    data["aux_norm_scale"] = np.exp2(rng.integers(2, 9, n)).astype(np.float64)
    np.savez_compressed(run / "test_data.npz", **data)
    charge = data["x"].reshape(n, -1).sum(1) * data["aux_norm_scale"]
    with np.load(run / "test_evaluation.npz") as z:
        ev = {k: z[k] for k in z.files}
    for m, level in (("bc", 3.0), ("stc", 2.0), ("threshold", 4.0)):
        ev[f"{m}__emd"] = level / np.sqrt(charge) * 30 + rng.normal(0, 0.01, n)
        ev[f"{m}__mse"] = rng.random(n) * 0.02
    np.savez_compressed(run / "test_evaluation.npz", **ev)
    metrics = json.loads((run / "metrics.json").read_text())
    for m in ("bc", "stc", "threshold"):
        metrics["baselines"][m] = {"mse": 0.02, "mse_median": 0.02, "emd_mean": float(np.mean(ev[f"{m}__emd"]))}
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_emd_against_charge_with_econt_baselines(tmp_path):
    run = _baseline_run(tmp_path)
    md, text, page = _pages(tmp_path, _fake_report("plain"), run)
    assert (tmp_path / "fw" / "plots" / "emd_vs_charge.png").stat().st_size > 1000
    assert 'data-file="plots/emd_vs_charge.png"' in text
    assert "![mean EMD against wafer charge](plots/emd_vs_charge.png)" in md
    assert "total charge per wafer (ADC counts)" in text
    labels = [r[0] for r in _html_rows(text, "model")]
    assert labels[-3:] == ["BC, equal-bit (micae)", "STC, equal-bit (micae)", "threshold, equal-bit (micae)"]
    assert [r[0] for r in _md_table(md, "model")] == labels
    check_page(tmp_path / "fw" / "report.html", expect_images=True)


def test_models_come_from_the_array_keys():
    keys = ["latents", "recon__float", "stc__emd", "quantized__emd", "my_algo__emd", "bc__mse", "float__emd"]
    assert models_in_arrays(keys, "emd") == ["quantized", "float", "stc", "my_algo"]
    assert models_in_arrays(keys, "mse") == ["bc"]
    assert models_in_arrays(keys, "recon") == ["float"]


def test_binned_mean_numbers():
    x = np.arange(1.0, 17.0)  # 16 wafers, 4 equal-population bins of 4
    values = {"a": x * 2.0, "b": np.where(x == 2.0, np.nan, 1.0)}
    out = binned_mean(x, values, n_bins=4)
    assert np.allclose(out["edges"], [1.0, 4.75, 8.5, 12.25, 16.0])
    assert out["x_mean"].tolist() == [2.5, 6.5, 10.5, 14.5]
    assert out["models"]["a"]["mean"].tolist() == [5.0, 13.0, 21.0, 29.0]
    assert out["models"]["a"]["n"].tolist() == [4, 4, 4, 4]
    sem = np.std([2.0, 4.0, 6.0, 8.0], ddof=1) / 2.0
    assert out["models"]["a"]["sem"][0] == pytest.approx(sem)
    assert out["models"]["b"]["n"].tolist() == [3, 4, 4, 4]  # the NaN is left out of its bin only
    assert out["models"]["b"]["sem"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_write_reports_md_names_the_broken_run(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{not json")
    fw = tmp_path / "fw"
    fw.mkdir()
    report = _fake_report("plain")
    report["timing"] = [TIMING_FAIL]
    assert write_reports(fw, copy.deepcopy(report), run) is None
    md = (fw / "report.md").read_text()
    assert "could not be built (DataError" in md and "No training run folder was given" not in md
    assert "timing not met at 5.0 ns" in md
    assert json.loads((fw / "report.json").read_text())["timing"][0]["met"] is False


def test_bit_budget_values_and_bits_side_by_side(tmp_path):
    from micae.fixed.budget import bit_budget

    report = _fake_report("plain")
    # an old report.json: its compression_factor was the bit ratio (480/36); both come from the counts
    md, _, _ = _pages(tmp_path, report)
    assert "Compression factor **12.000** (input values / latent values" in md and "bit ratio **13.333**" in md

    report["model"]["bit_budget"] = bit_budget(48, 8, 16, 9, n_parts=3, masked_inputs=16)
    md, text, _ = _pages(tmp_path, report)
    assert "Compression factor **3.000**" in md and "bit ratio **2.667**" in md
    assert "16 masked input positions" in md
    assert "3 inputs share this encoder, so 144 input values become 48 latent values" in md
    assert "<b>3.000</b>" in text and "<b>2.667</b>" in text


def test_bit_budget_shows_the_econt_frame(tmp_path):
    from micae.fixed.budget import bit_budget

    report = _fake_report("plain")
    report["model"]["bit_budget"] = bit_budget(48, 8, 16, 3, elinks=2)
    md, text, _ = _pages(tmp_path, report)
    assert "bit ratio **8.000**" in md  # the latents: 384 / 48
    for row in ("module sum (5E4M) | 9", "16 latents x 3 bits | 48", "frame on 2 e-links (32 bits each) | 64"):
        assert row in md, row
    assert "frame bit ratio (input bits / frame bits) | 6.000" in md
    assert "6.00 with the 64-bit frame on 2 e-links" in text


def _run_with(tmp_path, extra: dict):
    run = _fake_run(tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.update(extra)
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_objective_and_zero_codes_come_from_metrics(tmp_path):
    run = _run_with(
        tmp_path,
        {
            "objective": "l1",
            "objective_weights": {"l1_weight": 0.004},
            "objective_penalty": {"micae": {"final_l1": 3.25, "final_val_l1": 3.5}},
            "zero_codes": {"fraction": 0.183, "per_latent": [0.2, 0.166], "values": 120},
        },
    )
    md, text, page = _pages(tmp_path, _fake_report("plain"), run)
    for page_text in (md, text):
        assert "l1: L1-sparse latents" in page_text
        assert "18.3%" in page_text and "0.004" in page_text and "3.25" in page_text
    assert "Stacked levels" not in text  # no stacked section for a run without one


def test_stacked_levels_table_lists_every_level_with_its_budget(tmp_path):
    level = {"latent_mse": 0.0015, "latent_mse_pca": 0.00096, "inputs": {"mse": 0.0073, "emd_mean": 2.51}}
    stacked = {
        "stage1": {"mse": 0.0071, "emd_mean": 2.39},
        "end_to_end": {"mse": 0.0074, "emd_mean": 2.56},
        "levels": [
            {"stage": 2, "loss": "latent", **level},
            {"stage": 3, "loss": "chain", **level, "inputs": {"mse": 0.0074, "emd_mean": 2.56}},
        ],
        "compression": {
            "input_values": 96,
            "chain": 24.0,
            "chain_bit_ratio": 21.3,
            "levels": [
                {"stage": 1, "compression_factor": 3.0, "bit_ratio": 2.67},
                {"stage": 2, "compression_factor": 4.0, "bit_ratio": 4.0},
                {"stage": 3, "compression_factor": 2.0, "bit_ratio": 2.0},
            ],
        },
    }
    run = _run_with(tmp_path, {"stacked": stacked})
    _, text, page = _pages(tmp_path, _fake_report("plain"), run)
    assert "Stacked levels" in text
    assert page.row("3")[:4] == ["3", "chain", "0.0015", "0.00096"]
    assert "compresses 96 input values by 24" in text
