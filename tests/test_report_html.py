"""report.html: self-contained page, plots written and embedded, sections present or skipped cleanly."""

from __future__ import annotations

import base64
import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from micae.errors import ConfigError
from micae.fixed.budget import bit_budget
from micae.report.build import write_html_report
from micae.report.figures import gap_trend, latent_flags


class _Page(HTMLParser):
    """Collects <img src>, <a href>, data-file and the text of every table row."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
            if a.get("data-file"):
                self.links.append(a["data-file"])
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def row(self, first: str) -> list[str]:
        return next(r for r in self.rows if r and r[0] == first)


def parse(path: Path) -> tuple[str, _Page]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    return text, page


def check_page(html_path: Path, *, expect_images: bool) -> _Page:
    """The checks every report must pass: embedded PNGs decode, linked plots exist, nothing from the network."""
    import matplotlib.image as mpimg

    text, page = parse(html_path)
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text.lower()
    assert bool(page.images) == expect_images
    for src in page.images:
        assert src.startswith("data:image/png;base64,"), src[:40]
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        img = mpimg.imread(io.BytesIO(png), format="png")
        assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    plots = sorted({link for link in page.links if link.startswith("plots/")})
    assert len(plots) >= (len(page.images) if expect_images else 0)
    for link in plots:
        f = html_path.parent / link
        assert f.is_file() and f.stat().st_size > 0, link
    for link in page.links:  # in-page anchors, or files beside the report (RTL, pnr logs, the HLS project) that exist
        if not link.startswith(("#", "plots/", "report.")):
            assert not Path(link).is_absolute() and ":" not in link, link
            assert (html_path.parent / link).exists(), link
    return page


# ------------------------------------------------------------- fast tests


def test_gap_trend_verdicts():
    ep = np.arange(1, 11, dtype=float)
    train = 1.0 / ep
    overfit = gap_trend(ep, train, train * np.linspace(0.9, 1.5, 10))
    assert overfit["grows"] is True and "grows" in overfit["text"]
    # val below train and catching up: the usual early-training lag, not overfitting
    lag = gap_trend(ep, train, train * np.linspace(0.5, 0.95, 10))
    assert lag["grows"] is False
    assert gap_trend(ep[:2], train[:2], train[:2])["grows"] is None
    assert gap_trend(ep, train, np.full(10, np.nan))["grows"] is None


def test_latent_flags_dead_and_saturated():
    lat = np.zeros((100, 2, 3))
    lat[..., 1] = 3.875  # at the high rail
    lat[..., 2] = np.linspace(-1, 1, 200).reshape(100, 2)
    flags = latent_flags(lat, (-4.0, 3.875))
    assert [f["dead"] for f in flags] == [True, True, False]
    assert flags[1]["saturated"] and not flags[2]["saturated"]
    assert flags[1]["at_high_rail"] == 1.0


def _fake_report(name: str = "toy<b>") -> dict:
    return {
        "micae_version": "0.1.0",
        "model": {
            "name": name,
            "file": "encoder.h5",
            "input_shape": [4, 4, 3],
            "parameters": 752,
            "latent_size": 4,
            "input_type": {"width": 10, "frac": 9, "signed": False, "integer": 1},
            "latent_type": {"width": 9, "frac": 6, "signed": True, "integer": 3},
            "bit_budget": {
                "input_values": 48,
                "input_bits_each": 10,
                "input_bits": 480,
                "latent_values": 4,
                "latent_bits_each": 9,
                "latent_bits": 36,
                "compression_factor": 480 / 36,
            },
            "compression_factor": 480 / 36,
            "stages": [
                {
                    "layer": "conv",
                    "kind": "conv2d",
                    "quantizer": "conv_act",
                    "accumulator": {"width": 18, "frac": 15, "signed": True, "integer": 3},
                    "out_type": {"width": 8, "frac": 6, "signed": False, "integer": 2},
                    "unrolled_nonzero_weights": 10,
                }
            ],
            "problems": [],
        },
        "vectors": {
            "total": 300,
            "sources": {"test_split": 100, "random_grid": 200},
            "coverage": [
                {
                    "stage": "conv",
                    "quantizer": "conv_act",
                    "tie_values": 3,
                    "vectors_with_ties": 2,
                    "saturated_high": 1,
                    "saturated_low": 0,
                }
            ],
        },
        "verification": {
            "integer_model": {"vectors": 300, "mismatches": 0, "max_abs_lsb_error": 0, "first_mismatches": []},
            "csim": {
                "vectors": 300,
                "mismatches": 2,
                "max_abs_lsb_error": 1,
                "first_mismatches": [[7, [1, 2], [1, 3], "random_grid"]],
                "mismatches_by_source": {"test_split": 0, "random_grid": 2},
            },
            "vendor_csim": {"status": "skipped", "reason": "no vitis_hls on PATH <here>"},
        },
        "vendor": {"status": "ran", "stand_in": True, "tool": "vitis_hls"},
        "rtl": None,
        "routes": [
            {
                "route": "hls4ml + vitis_hls csynth",
                "kind": "stand-in (not a vendor run)",
                "stand_in": True,
                "resources": {
                    "estimator": "vitis_hls csynth",
                    "LUT": 1200,
                    "FF": 300,
                    "DSP": 0,
                    "BRAM": 0,
                    "available_LUT": 1182240,
                },
                "latency": {"cycles_min": 2, "cycles_max": 2, "interval": 1, "clock_ns": 5.0, "ns": 10.0},
            },
            {
                "route": "micae rtl (da4ml) + yosys",
                "kind": "open-source",
                "stand_in": False,
                "resources": {
                    "estimator": "yosys synth_xilinx",
                    "LUT": 900,
                    "FF": 250,
                    "CARRY": 40,
                    "DSP": 0,
                    "BRAM": 0,
                },
                "latency": {"cycles_min": 3, "cycles_max": 3, "interval": 1, "clock_ns": 5.0, "ns": 15.0},
            },
        ],
        "resources": {"estimator": "yosys synth_xilinx", "LUT": 900, "FF": 250, "DSP": 0},
        "latency": {"cycles_max": 3, "clock_ns": 5.0, "ns": 15.0},
        "timing_s": {"load model": 1.5, "csim: g++ compile": 3.0, "total": 5.0},
        "paths": {"firmware": "firmware/toy"},
    }


def _fake_run(run: Path, n: int = 60, n_parts: int = 1, latent: int = 4) -> Path:
    """A run folder with the files train/run.py writes, filled with small random arrays."""
    rng = np.random.default_rng(0)
    run.mkdir(parents=True)
    q = {"mse": 0.01, "mse_median": 0.008, "emd_mean": 1.2, "emd_median": 1.1}
    (run / "metrics.json").write_text(
        json.dumps(
            {
                "name": "toy",
                "dataset": "hgcal-synth",
                "layout": "4x4x3",
                "n_parts": n_parts,
                "mode": "joint",
                "test_samples": n,
                "quantized": q,
                "baselines": {"float": q, "pca_tied": q},
                "compression_factor": 48 / latent,
                "bit_ratio": 48 * 8 / (latent * 9),
                "bit_budget": bit_budget(48, 8, latent, 9, n_parts=n_parts),
                "dead_latents": [0],
                "saturated_latents": [1],
                "training": {"micae": {"seconds": 2.5, "epochs_run": 6, "final_loss": 0.1, "final_val_loss": 0.2}},
                "seconds_total": 9.0,
            }
        )
    )
    with (run / "history.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["phase", "epoch", "loss", "val_loss"])
        for e in range(6):
            w.writerow(["micae", e, 1.0 / (e + 1), 1.0 / (e + 1) * (1 + 0.1 * e)])
    x = rng.random((n, n_parts, 4, 4, 3)).astype(np.float32)
    per = (n, n_parts) if n_parts > 1 else (n,)  # the loader keeps HGCAL aux per wafer
    impact = rng.normal(0, 5, (*per, 2))
    impact[:5] = np.nan
    energy = rng.uniform(1, 100, per)
    energy[:5] = 0
    np.savez_compressed(
        run / "test_data.npz", x=x, aux_energy=energy, aux_impact_x=impact[..., 0], aux_impact_y=impact[..., 1]
    )
    lat = np.round(rng.normal(0, 1, (n, n_parts, latent)) * 64) / 64
    lat[..., 0] = 0.25  # dead
    lat[..., 1] = 255 / 64  # saturated at the high rail of a 9-bit, 6-fractional format
    ev = {"latents": lat}
    for m in ("quantized", "float", "pca_tied"):
        ev[f"{m}__mse"] = rng.random(n) * 0.02
        ev[f"{m}__emd"] = rng.random(n * n_parts) * 2  # EMD is per wafer
        ev[f"recon__{m}"] = x + rng.normal(0, 0.05, x.shape).astype(np.float32)
    ev["quantized__emd"][3] = np.nan
    np.savez_compressed(run / "test_evaluation.npz", **ev)
    return run


def test_html_from_hand_made_report(tmp_path):
    fw = tmp_path / "fw"
    fw.mkdir()
    run = _fake_run(tmp_path / "run")
    out = write_html_report(fw, run, _fake_report())
    assert out == fw / "report.html"
    text, page = parse(out)
    check_page(out, expect_images=True)
    assert {p.name for p in (fw / "plots").glob("*.png")} == {
        "training.png",
        "metric_histograms.png",
        "emd_vs_charge.png",
        "reconstructions.png",
        "latent_histograms.png",
        "latent_projection.png",
    }
    # escaping: the model name and a reason carry markup characters
    assert "toy<b>" not in text and "toy&lt;b&gt;" in text
    assert "&lt;here&gt;" in text
    # verification: mismatches, first mismatch and its source; skipped level with its reason
    csim = page.row("csim")
    assert csim[2] == "2" and csim[4] == "vector 7 (random_grid): z1: expected 2, got 3"
    assert "skipped" in page.row("vendor_csim")[-1]
    assert "FAIL" in text
    # routes: the stand-in is labelled as not a vendor run, the open-source route is there
    assert page.row("hls4ml + vitis_hls csynth")[1] == "stand-in (not a vendor run)"
    assert page.row("micae rtl (da4ml) + yosys")[1] == "open-source"
    # latent flags and the overfitting verdict in words
    words = " ".join(page.text)
    assert "dead (constant on the test split): z0" in words
    assert "saturated" in words and "z1" in words
    assert "the gap grows" in words
    assert "5 points without an impact position" in words


def test_html_hgcal_micae_per_wafer(tmp_path):
    """Two wafers per sample: per-wafer EMD and aux, one projected point per wafer."""
    fw = tmp_path / "fw"
    fw.mkdir()
    out = write_html_report(fw, _fake_run(tmp_path / "run", n=30, n_parts=2), _fake_report())
    page = check_page(out, expect_images=True)
    words = " ".join(page.text)
    assert "each wafer's latent vector is one point" in words
    assert "EMD is computed per wafer (2 per sample)" in words
    assert "10 points without an impact position" in words


def test_html_sections_missing(tmp_path):
    """No run folder; a run without EMD, history or latents; a report without routes or bit budget."""
    report = _fake_report("plain")
    report["routes"], report["resources"], report["latency"] = [], None, None
    del report["model"]["bit_budget"]
    report["model"]["problems"] = ["a layer micae cannot read"]
    fw = tmp_path / "fw"
    fw.mkdir()
    out = write_html_report(fw, None, report)
    page = check_page(out, expect_images=False)
    assert "No training run folder" in " ".join(page.text)
    assert "No route produced" in " ".join(page.text)

    run = tmp_path / "run"
    _fake_run(run)
    (run / "history.csv").unlink()
    with np.load(run / "test_evaluation.npz") as z:
        kept = {k: z[k] for k in z.files if "__emd" not in k and k != "latents"}
    np.savez_compressed(run / "test_evaluation.npz", **kept)
    out = write_html_report(fw, run, report)
    page = check_page(out, expect_images=True)
    words = " ".join(page.text)
    assert "no history.csv" in words and "no latents" in words
    assert not (fw / "plots" / "training.png").exists()  # stale plots of the earlier build are gone


def test_write_reports_writes_all_three(tmp_path):
    from micae.report.build import write_reports

    out = write_reports(tmp_path, _fake_report("plain"))
    assert out == tmp_path / "report.html"
    assert {p.name for p in tmp_path.iterdir()} >= {"report.json", "report.md", "report.html"}


def test_write_reports_keeps_json_when_html_fails(tmp_path, capsys):
    from micae.report.build import write_reports

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("{not json")
    fw = tmp_path / "fw"
    fw.mkdir()
    assert write_reports(fw, _fake_report("plain"), run) is None
    assert (fw / "report.json").is_file() and (fw / "report.md").is_file()
    assert "report.html was not written" in capsys.readouterr().err


def test_cli_missing_folders(tmp_path):
    from micae.cli.report import main

    with pytest.raises(ConfigError, match="firmware folder .*nope.* does not exist"):
        main(["--name", "nope", "--firmware-root", str(tmp_path), "--models-root", str(tmp_path)])
    fw = tmp_path / "fw" / "toy"
    fw.mkdir(parents=True)
    with pytest.raises(ConfigError, match="has no report.json"):
        main(["--firmware", str(fw)])
    (fw / "report.json").write_text(json.dumps(_fake_report("toy")))
    with pytest.raises(ConfigError, match="training run folder .* does not exist"):
        main(["--firmware", str(fw), "--run", str(tmp_path / "missing")])


def test_cli_rebuilds_from_folders(tmp_path, capsys):
    from micae.cli.report import main

    fw = tmp_path / "firmware" / "toy"
    fw.mkdir(parents=True)
    (fw / "report.json").write_text(json.dumps(_fake_report("toy")))
    _fake_run(tmp_path / "models" / "toy")
    assert (
        main(
            ["--name", "toy", "--models-root", str(tmp_path / "models"), "--firmware-root", str(tmp_path / "firmware")]
        )
        == 0
    )
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert Path(last) == fw / "report.html"
    check_page(Path(last), expect_images=True)


# ------------------------------------------------------------- slow tests


def _train_and_synth(root: Path, config: str, name: str, overrides: dict):
    from micae.synthesize import SynthRequest, synthesize
    from micae.train.config import load_config
    from micae.train.run import train_run

    cfg = load_config(REPO / "models" / config, overrides={"name": name, "train.epochs": 2, **overrides})
    run_dir, _ = train_run(cfg, root / "models", force=True)
    report = synthesize(
        SynthRequest(
            model=run_dir,
            hls_root=root / "hls",
            firmware_root=root / "firmware",
            vectors=300,
            rtl="off",
            vendor="off",
            force=True,
        )
    )
    return run_dir, root / "firmware" / name, report


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """A tiny HGCAL run and a tiny digits MICAE run, both synthesized (no RTL, no vendor tools)."""
    root = tmp_path_factory.mktemp("report_runs")
    hgcal = _train_and_synth(root, "econt.yaml", "tiny_econt", {"dataset.n_samples": 1500})
    digits = _train_and_synth(root, "digits_micae.yaml", "tiny_digits", {"dataset.n_samples": 600})
    return {"hgcal": hgcal, "digits": digits}


def _run_with_html(run_dir: Path, fw: Path) -> Path:
    """Rebuild report.html from the firmware folder's report.json and the run folder."""
    assert (fw / "report.html").is_file()  # synthesize wrote one already
    return write_html_report(fw, run_dir, json.loads((fw / "report.json").read_text()))


@pytest.mark.slow
def test_report_for_hgcal_run(tiny_runs):
    run_dir, fw, report = tiny_runs["hgcal"]
    page = check_page(_run_with_html(run_dir, fw), expect_images=True)
    total = f"{report['vectors']['total']:,}"
    for level in ("integer_model", "c_model", "csim"):
        row = page.row(level)
        assert row[1] == total and row[2] == "0" and row[3] == "0", row
    assert "skipped" in page.row("rtl")[-1]
    words = " ".join(page.text)
    # econt.yaml generates pile-up wafers (preset pileup): no showers, so the latents are coloured by wafer eta
    assert "EMD mean" in words and "coloured by wafer eta" in words and "shower energy" not in words
    assert (fw / "plots" / "reconstructions.png").stat().st_size > 0


@pytest.mark.slow
def test_report_for_digits_run_and_without_run(tiny_runs, tmp_path):
    from micae.cli.report import main

    run_dir, fw, report = tiny_runs["digits"]
    page = check_page(_run_with_html(run_dir, fw), expect_images=True)
    words = " ".join(page.text)
    assert "coloured by label" in words
    assert "EMD mean" not in words  # digits have no EMD
    assert page.row("csim")[2] == "0"

    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "report.json").write_text((fw / "report.json").read_text())
    assert main(["--firmware", str(bare)]) == 0
    page = check_page(bare / "report.html", expect_images=False)
    assert page.row("c_model")[2] == "0"
