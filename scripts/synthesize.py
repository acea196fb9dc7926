#!/usr/bin/env python
"""Trained encoder -> bit-exact hls4ml project, verification, RTL and reports (see --help)."""

from micae.cli.synth import entry

if __name__ == "__main__":
    raise SystemExit(entry())
