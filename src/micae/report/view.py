"""report.json (+ the training run and its plots) -> :class:`~micae.report.blocks.ReportView`.

Both report.md and report.html are rendered from the object built here, so
they show the same numbers. The verdict, the headline route and the latency source are read from the typed
report (:class:`~micae.results.report.SynthReport` decided them once), never recomputed from the levels.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from micae.report import (
    facts,
    first_screen,
    run_data,
    sections_block,
    sections_fw,
    sections_probing,
    sections_run,
    sections_training,
)
from micae.report.blocks import Banner, ReportView, Section, note, num
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
        cards=first_screen.cards(report, run),
        scope=first_screen.scope_lines(report),
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
    run_parts = metrics.bit_budget.n_parts if metrics is not None else None
    out = [
        Section("budget", "Bit budget", sections_fw.bit_budget(report, run_parts)),
        Section("verification", "Verification", sections_fw.verification(report)),
        Section("resources", "Resources and latency", sections_fw.resources(report)),
    ]
    if report.timing:
        out.append(Section("timing", "Timing", sections_fw.timing(report, figs, plot_dir)))
    if report.econt_block is not None:
        out.append(Section("econt_block", "ECON-T block", sections_block.econt_block(report)))
    out.append(Section("settings", "Synthesis settings", settings_blocks(report)))
    if run:
        out.append(Section("quality", "Reconstruction quality", sections_run.quality(run, figs, plot_dir)))
        if metrics is not None:
            out.append(Section("objective", "Training objective", sections_training.objective(metrics)))
        out += [
            Section("reconstructions", "Inputs and reconstructions", sections_run.reconstructions(run, figs, plot_dir)),
            Section("training", "Training curves and overfitting check", sections_run.training(run, figs, plot_dir)),
            Section("latents", "Latent space", sections_run.latents(run, figs, plot_dir)),
            Section("probing", "Latent-space probing", sections_probing.probing(run, figs, plot_dir)),
        ]
        if metrics is not None and metrics.stacked:
            out.append(Section("stacked", "Stacked levels", sections_training.stacked_levels(metrics)))
        if figs.get("vae_prior"):
            out.append(Section("vae", "VAE: prior and posterior means", sections_probing.vae_prior(figs, plot_dir)))
    else:
        out.append(Section("quality", "Model quality", [note(missing_run)]))
    steps = sections_fw.seconds(report, metrics.training if metrics else {}, metrics.seconds_total if metrics else None)
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
    if metrics is not None and metrics.dataset:
        n_parts = metrics.n_parts
        sub += (
            f"; trained on {metrics.dataset} ({run_data.layout(run)}, {n_parts} input{'s' if n_parts > 1 else ''} "
            "per sample)"
        )
    return sub + f"; micae {report.micae_version or '?'}; generated {stamp}"
