"""Verification: every hardware model against the QKeras latents, integer by integer."""
