"""Compatibility names: the HTML report now lives in view/render/plots/run_data modules.

``write_html_report`` is :func:`micae.report.build.write_html_report`; ``load_run`` and
``make_figures`` moved to :mod:`micae.report.run_data` and :mod:`micae.report.plots`.
"""

from __future__ import annotations

from micae.report.build import write_html_report
from micae.report.plots import make_figures
from micae.report.run_data import load_run

__all__ = ["load_run", "make_figures", "write_html_report"]
