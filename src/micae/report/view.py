"""report.json (+ the training run and its plots) -> :class:`~micae.report.blocks.ReportView`.

Both report.md and report.html are rendered from the object built here, so
they show the same numbers. The verdict, the headline route and the latency source are read from the typed
report (:class:`~micae.results.report.SynthReport` decided them once), never recomputed from the levels.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from micae.report import facts, run_data, sections_fw, sections_probing, sections_run, sections_training
from micae.report.blocks import Banner, Card, ReportView, Section, note, num
from micae.report.figures import model_label
from micae.report.settings import settings_blocks
from micae.results.report import SynthReport

NO_RUN = (
    "No training run folder was given (the encoder came from a model file), so training curves, "
    "reconstructions, metric distributions and latent-space plots are not part of this report. To add them, "
    "rebuild it with: micae report --run models/<name> --firmware firmware/<name>"
)


def build_view(
    report: SynthReport | dict,
    run: dict | None,
    figs: dict,
    plot_dir: Path,
    *,
    stamp: str | None = None,
    missing_run: str | None = None,
) -> ReportView:
    """The whole report as plain pieces; ``figs`` from :func:`micae.report.plots.make_figures` ({} for none).

    ``missing_run`` replaces the usual "no training run folder was given" note when ``run`` is None.
    """
    plot_dir = Path(plot_dir)
    report = facts.as_report(report)
    return ReportView(
        name=report.model.name,
        subtitle=_subtitle(report, run, stamp or _dt.datetime.now().strftime("%Y-%m-%d %H:%M")),
        verdict=verdict_text(report),
        ok=report.ok,
        banners=[Banner(t) for t in facts.timing_failures(report)],
        cards=cards(report, run),
        sections=sections(report, run, figs, plot_dir, missing_run or NO_RUN),
    )


def verdict_text(report: SynthReport) -> str:
    ran, bad = report.levels_run, report.failed_levels
    if not report.ok:
        where = f": mismatches at {', '.join(bad)}" if bad else ""
        return f"Verification FAIL{where}; see the verification table."
    if not ran:
        return "Verification NOT RUN: no verification level ran."
    return f"Verification PASS: every latent value bit-identical at {len(ran)} level(s) ({', '.join(ran)})."


def sections(
    report: SynthReport, run: dict | None, figs: dict, plot_dir: Path, missing_run: str = NO_RUN
) -> list[Section]:
    metrics = run_data.run_metrics(run)
    out = [
        Section("budget", "Bit budget", sections_fw.bit_budget(report, metrics.get("bit_budget"))),
        Section("verification", "Verification", sections_fw.verification(report)),
        Section("resources", "Resources and latency", sections_fw.resources(report)),
    ]
    if report.timing:
        out.append(Section("timing", "Timing", sections_fw.timing(report, figs, plot_dir)))
    out.append(Section("settings", "Synthesis settings", settings_blocks(report)))
    if run:
        out += [
            Section("quality", "Reconstruction quality", sections_run.quality(run, figs, plot_dir)),
            Section("objective", "Training objective", sections_training.objective(metrics)),
            Section("reconstructions", "Inputs and reconstructions", sections_run.reconstructions(run, figs, plot_dir)),
            Section("training", "Training curves and overfitting check", sections_run.training(run, figs, plot_dir)),
            Section("latents", "Latent space", sections_run.latents(run, figs, plot_dir)),
            Section("probing", "Latent-space probing", sections_probing.probing(run, figs, plot_dir)),
        ]
        if metrics.get("stacked"):
            out.append(Section("stacked", "Stacked levels", sections_training.stacked_levels(metrics)))
        if figs.get("vae_prior"):
            out.append(Section("vae", "VAE: prior and posterior means", sections_probing.vae_prior(figs, plot_dir)))
    else:
        out.append(Section("quality", "Model quality", [note(missing_run)]))
    steps = sections_fw.seconds(report, metrics.get("training") or {}, metrics.get("seconds_total"))
    out.append(Section("seconds", "Seconds per step", steps))
    run_dir = Path(run["dir"]) if run and run.get("dir") else None
    out.append(Section("files", "Files", sections_fw.files(report, run_dir, plot_dir)))
    return out


def _subtitle(report: SynthReport, run: dict | None, stamp: str) -> str:
    m = report.model
    metrics = run_data.run_metrics(run)
    latents = m.latent_size if m.latent_size is not None else "?"
    sub = f"input shape {m.input_shape}, {latents} latents, "
    sub += f"{num(m.parameters)} parameters"
    if metrics.get("dataset"):
        n_parts = int(metrics.get("n_parts", 1))
        sub += (
            f"; trained on {metrics['dataset']} ({run_data.layout(run)}, {n_parts} input{'s' if n_parts > 1 else ''} "
            "per sample)"
        )
    return sub + f"; micae {report.micae_version or '?'}; generated {stamp}"


def cards(report: SynthReport, run: dict | None) -> list[Card]:
    out = [_verdict_card(report)]
    budget = report.model.bit_budget
    if budget:
        out.append(
            Card(
                "compression",
                f"{budget.compression_factor:.2f}x values",
                f"bit ratio {budget.bit_ratio:.2f}: {budget.input_bits} input bits -> {budget.latent_bits} latent bits"
                + (
                    f"; {budget.frame_bit_ratio:.2f} with the {budget.frame_bits}-bit frame on {budget.elinks} e-links"
                    if budget.frame_bits and budget.frame_bit_ratio is not None
                    else ""
                ),
            )
        )
    out += _hardware_cards(report)
    quality = _quality_card(run)
    if quality:
        out.append(quality)
    return out


def _verdict_card(report: SynthReport) -> Card:
    ran, bad = report.levels_run, report.failed_levels
    if not report.ok:
        return Card("verification", "FAIL", f"mismatches at {', '.join(bad)}" if bad else "see the table", "fail")
    if not ran:
        return Card("verification", "NOT RUN", "no verification level ran", "fail")
    return Card("verification", "PASS", f"every latent value bit-identical at {len(ran)} level(s)", "pass")


def _hardware_cards(report: SynthReport) -> list[Card]:
    res, lat = report.resources, report.latency
    out = []
    if res is not None:
        estimator = res.estimator or "?"
        where = f"{estimator}, route {report.headline_route}" if report.headline_route else estimator
        out.append(Card("resources", f"{num(res.LUT)} LUT", f"{num(res.FF)} FF, {num(res.DSP)} DSP; {where}"))
    else:
        out.append(Card("resources", "-", "no route produced resource figures", "muted"))
    if lat is not None and lat.cycles_max is not None:
        detail = f"{num(lat.ns)} ns at {num(lat.clock_ns)} ns clock: {facts.latency_source(lat)}"
        out.append(Card("latency", f"{lat.cycles_max} cycles", detail, "" if lat.verified else "muted"))
    return out


def _quality_card(run: dict | None) -> Card | None:
    metrics = run_data.run_metrics(run)
    q = metrics.get("quantized")
    if not q:
        return None
    key = "emd_mean" if "emd_mean" in q else "mse"
    base = metrics.get("baselines") or {}
    vs = ", ".join(
        f"{model_label(m)} {num(base[m].get(key))}" for m in ("float", "pca_tied") if isinstance(base.get(m), dict)
    )
    chip = next(iter((metrics.get("elinks") or {}).items()), None)
    if key == "emd_mean" and chip and isinstance(chip[1].get("bc"), dict):
        vs += f"{', ' if vs else ''}chip BC at L = {chip[0]} {num(chip[1]['bc'].get('emd_mean'))}"
    elif isinstance(base.get("bc"), dict):
        vs += f"{', ' if vs else ''}{model_label('bc')} {num(base['bc'].get(key))}"
    title = "quantized model, " + ("mean EMD" if key == "emd_mean" else "test MSE")
    return Card(title, num(q.get(key)), f"vs {vs}" if vs else "")
