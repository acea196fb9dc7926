"""One module per step of the synthesize flow; the order lives in :mod:`micae.flow.registry`."""
