"""Kept for existing imports: the flow lives in :mod:`micae.flow`."""

from micae.flow import RTL_MODES, SynthReport, SynthRequest, run_synthesis, synthesize
from micae.flow.request import resolve_model
from micae.hls.vendor import MODES as VENDOR_MODES

__all__ = ["RTL_MODES", "VENDOR_MODES", "SynthReport", "SynthRequest", "resolve_model", "run_synthesis", "synthesize"]
