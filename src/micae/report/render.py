"""Render a :class:`~micae.report.blocks.ReportView` with Jinja2 into report.md and report.html, and write them.

report.html is one self-contained file: the CSS (``templates/report.css``) is
inlined, every plot is embedded as a data URI and also written to ``plots/``
(the page links to that copy), no scripts, nothing fetched.
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from micae.report.blocks import Bar, ReportView

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment():
    """One Jinja2 environment: autoescaping on for ``*.html.j2`` (``select_autoescape``), off for Markdown."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md_text
    env.filters["mdcell"] = md_cell
    env.filters["data_uri"] = png_data_uri
    env.tests["bar"] = lambda v: isinstance(v, Bar)
    return env


def md_text(value) -> str:
    """Text for Markdown: a ``<`` would start raw HTML in most renderers."""
    return str(value).replace("<", "&lt;")


def md_cell(value) -> str:
    """A Markdown table cell: no column separators, no line breaks."""
    return md_text(value).replace("|", "\\|").replace("\n", " ")


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_markdown(view: ReportView) -> str:
    text = environment().get_template("report.md.j2").render(view=view)
    return re.sub(r"\n{3,}", "\n\n", text)


def render_html(view: ReportView) -> str:
    css = Markup((TEMPLATES / "report.css").read_text(encoding="utf-8"))  # a file of ours, not user data
    return environment().get_template("report.html.j2").render(view=view, css=css)
