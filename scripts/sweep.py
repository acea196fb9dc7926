#!/usr/bin/env python
"""Train + synthesize a grid of run configs (see --help). Thin wrapper over micae.cli.sweep."""

from micae.cli.sweep import entry

if __name__ == "__main__":
    raise SystemExit(entry())
