"""report.json, report.md and report.html for a synthesized encoder: the writing, in one place.

Both pages come from one view model (:func:`micae.report.view.build_view`),
rendered by Jinja2 templates (:mod:`micae.report.render`).
"""

from __future__ import annotations

from pathlib import Path

from micae.report.facts import as_report
from micae.results.report import SynthReport


def markdown(report: SynthReport | dict, missing_run: str | None = None) -> str:
    """report.md's firmware sections for ``report`` (no plots are drawn); ``missing_run`` says why there is no run."""
    from micae.report.render import render_markdown
    from micae.report.view import build_view

    return render_markdown(build_view(report, None, {}, Path("plots"), missing_run=missing_run))


def write_html_report(fw_dir: Path, run_dir: Path | None, report: SynthReport | dict) -> Path:
    """Write ``fw_dir/report.html``, its plots (``fw_dir/plots/*.png``) and a matching ``report.md``; returns the html.

    ``run_dir`` is the training run folder (``models/<name>/``) or None for an encoder
    given as a file, in which case only the firmware sections are written. Both
    pages are rendered from the same view model, so they always agree.
    """
    from micae.report.plots import make_figures
    from micae.report.render import render_html, render_markdown
    from micae.report.run_data import load_run
    from micae.report.view import build_view

    fw_dir = Path(fw_dir)
    report = as_report(report)
    plot_dir = fw_dir / "plots"
    run = load_run(run_dir) if run_dir is not None else None
    figs = make_figures(plot_dir, run, report)
    view = build_view(report, run, figs, plot_dir)
    html = render_html(view)
    (fw_dir / "report.md").write_text(render_markdown(view), encoding="utf-8")
    out = fw_dir / "report.html"
    out.write_text(html, encoding="utf-8")
    return out


def write_reports(fw_dir: Path, report: SynthReport | dict, run_dir: Path | None = None) -> Path | None:
    """Write report.json, report.md and report.html (with plots/) into ``fw_dir``; returns the HTML path.

    ``run_dir`` is the training run folder the encoder came from (models/<name>/);
    without it the pages hold only the firmware sections. The run sections are
    drawn from the run's files, which a user may have edited or truncated: if that
    fails, the verified firmware, report.json and a firmware-only report.md are
    kept, a warning says how to rebuild the page, and None is returned.
    """
    from micae.log import info

    fw_dir = Path(fw_dir)
    report = as_report(report)
    report.write(fw_dir)
    (fw_dir / "report.md").write_text(markdown(report), encoding="utf-8")
    try:
        return write_html_report(fw_dir, Path(run_dir) if run_dir is not None else None, report)
    except Exception as exc:  # noqa: BLE001 - the pages are secondary to the verified firmware
        name = report.model.name
        fix = f"rebuild it with micae report --name {name} --debug"
        info(f"warning: report.html was not written ({type(exc).__name__}: {exc}); {fix}")
        why = f"The training run sections could not be built ({type(exc).__name__}: {exc}); {fix}."
        (fw_dir / "report.md").write_text(markdown(report, why), encoding="utf-8")
        return None
