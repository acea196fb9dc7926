"""One display name for each model and training phase of a run, for logs, CLI tables and the run's own plots.

The QAT model (the quantization-aware encoder with its decoder, ``micae.h5``) is "QAT model" in tables, legends and
plots ("QAT" where a sentence already says what it is). The files keep their keys (metrics.json ``quantized``,
history.csv phase ``micae``), so older runs still read; only what a person reads is renamed.
"""

from __future__ import annotations

QAT = "QAT"

MODEL_NAMES = {
    "quantized": f"{QAT} model",
    "float": "float twin",
    "pca_tied": "PCA (tied)",
    "pca_joint": "PCA (joint)",
    "bc": "BC, equal-bit (micae)",
    "stc": "STC, equal-bit (micae)",
    "threshold": "threshold, equal-bit (micae)",
}
"""metrics.json / evaluation keys -> the name shown (the baselines as the report names them)."""

PHASE_NAMES = {
    "micae": f"{QAT} model",
    "float": "float twin",
    "pretrain": f"{QAT} model pre-training",
    "pretrain_float": "float twin pre-training",
    "cae": "single CAE (train.mode encoder)",
}
"""history.csv / metrics.json ``training`` phases -> the name shown."""


def model_name(key: str) -> str:
    return MODEL_NAMES.get(key, key)


def phase_name(key: str) -> str:
    return PHASE_NAMES.get(key, key)
