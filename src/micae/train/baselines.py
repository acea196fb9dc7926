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
