#!/usr/bin/env python
"""Quantization-aware training of a MICAE model (see --help). Thin wrapper over micae.cli.train."""

from micae.cli.train import entry

if __name__ == "__main__":
    raise SystemExit(entry())
