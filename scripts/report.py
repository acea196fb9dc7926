#!/usr/bin/env python
"""Rebuild firmware/<name>/report.html and its plots from a run's folders (see --help)."""

from micae.cli.report import entry

if __name__ == "__main__":
    raise SystemExit(entry())
