"""PCA baselines with the same number of latent values as the encoder."""

from __future__ import annotations

import numpy as np


def pca_tied(x_train: np.ndarray, x_test: np.ndarray, n_components: int, seed: int = 0) -> np.ndarray:
    """One PCA basis shared by every part (like the tied encoder), ``n_components`` per part."""
    from sklearn.decomposition import PCA

    n_parts = x_train.shape[1]
    flat_train = x_train.reshape(len(x_train) * n_parts, -1)
    k = min(n_components, flat_train.shape[1], len(flat_train))
    pca = PCA(n_components=k, random_state=seed).fit(flat_train)
    flat_test = x_test.reshape(len(x_test) * n_parts, -1)
    return pca.inverse_transform(pca.transform(flat_test)).reshape(x_test.shape).astype(np.float32)


def pca_joint(x_train: np.ndarray, x_test: np.ndarray, n_components: int, seed: int = 0) -> np.ndarray:
    """PCA over the concatenation of all parts with N x latent components (no tying)."""
    from sklearn.decomposition import PCA

    flat_train = x_train.reshape(len(x_train), -1)
    k = min(n_components, flat_train.shape[1], len(flat_train))
    pca = PCA(n_components=k, random_state=seed).fit(flat_train)
    flat_test = x_test.reshape(len(x_test), -1)
    return pca.inverse_transform(pca.transform(flat_test)).reshape(x_test.shape).astype(np.float32)


def econt_algorithms(x_test: np.ndarray, layout: str, budget: dict) -> tuple[dict, dict]:
    """BC, STC and threshold (:mod:`micae.metrics.econt_baselines`) on HGCAL test samples.

    ``x_test`` is (samples, n_parts, H, W, C) in an HGCAL ``layout``; every wafer is compressed on its
    own into the encoder's latent bits, from the integer codes of the encoder's input quantizer (both
    from ``budget``, :func:`micae.train.shared.encoder_budget`). Returns reconstructions shaped like
    ``x_test`` and each algorithm's bit budget.
    """
    from micae.data.geometry import arrange, unarrange
    from micae.metrics.econt_baselines import econt_baselines

    shape = x_test.shape
    tc = unarrange(x_test.reshape(-1, *shape[2:]), layout)
    bits = budget["input_bits_each"] - (1 if budget["input_signed"] else 0)  # charges >= 0: the positive codes
    recons, budgets = econt_baselines(tc, budget["latent_bits"], input_bits=bits, input_frac=budget["input_frac"])
    return {name: arrange(r, layout).reshape(shape) for name, r in recons.items()}, budgets
