"""Quantization-aware training of MICAE models, their baselines and artifacts."""
