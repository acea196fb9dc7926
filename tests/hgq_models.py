"""Tiny HGQ encoders for the tests and bench/hgq_encoder.py: built in a second, bit widths set by hand.

4x4x3 -> HQuantize -> HConv2D 4 filters 3x3 stride 2 (relu) -> PFlatten -> HDense 16. HGQ trains a bit width per
weight and per activation element; here they are drawn at random (seeded), so they really differ: every kernel
weight its own fractional bits, every activation element its own.
"""

from __future__ import annotations

import numpy as np

INPUT_INT_BITS = 2
"""The encoders' inputs are unsigned with 2 integer bits (values in [0, 4)): ``--input-int-bits 2``."""


def encoder(seed: int = 0, *, hetero_input: bool = True, floor: bool = False, relu: bool = True):
    """The HGQ encoder; ``hetero_input``: per-element input bits (else one for all), ``floor``: the activation
    quantizers truncate (``rnd_strategy='floor'``) instead of rounding half up."""
    import tensorflow as tf
    from HGQ import HConv2D, HDense, HQuantize, PFlatten, get_default_paq_conf

    paq = get_default_paq_conf()
    if floor:
        paq["rnd_strategy"] = "floor"
    x_in = tf.keras.Input((4, 4, 3), name="x")
    x = HQuantize(name="inq", beta=0.0, paq_conf=dict(paq))(x_in)
    x = HConv2D(4, 3, strides=2, padding="same", activation="relu" if relu else None, name="conv", beta=0.0,
                paq_conf=dict(paq))(x)  # fmt: skip
    x = PFlatten(name="flat")(x)
    x = HDense(16, name="dense", beta=0.0, paq_conf=dict(paq))(x)
    model = tf.keras.Model(x_in, x, name="hgq_enc")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            layer.kernel.assign(rng.uniform(-1, 1, layer.kernel.shape).astype(np.float32))
            layer.bias.assign(rng.uniform(-0.5, 0.5, layer.bias.shape).astype(np.float32))
            layer.kq.fbw.assign(rng.integers(1, 6, layer.kq.fbw.shape).astype(np.float32))  # 1..5 per weight
        if hasattr(layer, "paq"):
            lo, hi = (3, 6) if layer.name == "inq" else (1, 5)
            bits = rng.integers(lo, hi, layer.paq.fbw.shape) if hetero_input or layer.name != "inq" else 4
            layer.paq.fbw.assign(np.broadcast_to(bits, layer.paq.fbw.shape).astype(np.float32))
    return model


def inputs(n: int, seed: int = 1) -> np.ndarray:
    """Float inputs in the encoders' input range, off every grid (HQuantize rounds them)."""
    return np.random.default_rng(seed).uniform(0, 2**INPUT_INT_BITS - 1, (n, 4, 4, 3)).astype(np.float32)


def dense_encoder(seed: int = 0):
    """48 -> HQuantize -> HDenseBatchNorm 8 (batch norm folded by HGQ) -> HActivation relu -> HDense 4: the other HGQ
    layers micae reads, bit widths per weight and per element drawn at random."""
    import tensorflow as tf
    from HGQ import HDense, HDenseBatchNorm, HQuantize
    from HGQ.layers import HActivation

    x_in = tf.keras.Input((48,), name="x")
    x = HQuantize(name="inq", beta=0.0)(x_in)
    x = HDenseBatchNorm(8, name="dense_bn", beta=0.0)(x)
    x = HActivation("relu", name="act", beta=0.0)(x)
    x = HDense(4, name="out", beta=0.0)(x)
    model = tf.keras.Model(x_in, x, name="hgq_dense")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for w in layer.weights:
            name = w.name.split("/")[-1].split(":")[0]
            if name in ("kernel", "bias", "bn_beta", "moving_mean"):
                w.assign(rng.uniform(-1, 1, w.shape).astype(np.float32))
            elif name in ("bn_gamma", "moving_variance"):
                w.assign(rng.uniform(0.5, 2, w.shape).astype(np.float32))
            elif name == "kernel_bw":
                w.assign(rng.integers(1, 6, w.shape).astype(np.float32))
            elif name == "activation_bw":
                w.assign(rng.integers(2, 6, w.shape).astype(np.float32))
    return model
