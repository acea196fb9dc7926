"""Training objectives around the hardware encoder: plain AE, VAE, contractive and L1-sparse latents.

Every objective trains the same hardware encoder (``encoder.h5`` is always the QKeras encoder that
``micae synth`` converts); only the training model around it and the penalty added to the
reconstruction loss change. Penalties are per sample, summed over the whole concatenated latent
(every part of a MICAE model), averaged over the batch and multiplied by their weight:

- ``vae``: ``kl_weight * KL(N(mean, exp(logvar)) || N(0, 1))``, ramped linearly from 0 over the first
  ``kl_warmup`` epochs. The mean is the hardware encoder's quantized latent; a float log-variance head
  (:mod:`micae.models.vae`) exists only in training. Decoding samples ``mean + exp(logvar/2) * eps`` in
  training and uses the means at validation and evaluation.
- ``contractive``: ``contractive_weight * ||d latent / d input||_F^2``. With quantizers in the path the
  Jacobian is that of QKeras' straight-through surrogate, the function gradients see:
  ``quantized_bits`` counts as the identity (no clipping), ``quantized_relu`` as a ReLU, and the
  QConv2D/QDense layers as linear maps with their *quantized* weights.
- ``l1``: ``l1_weight * sum |latent|`` on the quantized latent (gradient straight through the latent
  quantizer; ``|z|`` has gradient 0 at 0, so a latent quantized to the zero code is no longer pushed).

The penalty's unweighted value is logged as a Keras metric (``kl``, ``jacobian``, ``l1``; ``val_...`` on
validation). A frozen encoder gets no contractive or L1 penalty (it would be a constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from micae.errors import ConfigError

OBJECTIVES = ("ae", "vae", "contractive", "l1")
WEIGHT_KEYS = {"vae": ("kl_weight", "kl_warmup"), "contractive": ("contractive_weight",), "l1": ("l1_weight",)}
PENALTY_METRIC = {"vae": "kl", "contractive": "jacobian", "l1": "l1"}
"""The Keras metric (history column) that logs each objective's unweighted penalty."""


@dataclass(frozen=True)
class Objective:
    """One run's objective and its weights (``train.objective``, ``train.kl_weight`` ...)."""

    name: str = "ae"
    kl_weight: float = 1e-3
    kl_warmup: int = 0
    contractive_weight: float = 1e-3
    l1_weight: float = 1e-3

    @classmethod
    def from_train(cls, train: dict) -> Objective:
        validate_objective(train)
        numbers = {k: float(train.get(k, getattr(cls, k))) for k in ("kl_weight", "contractive_weight", "l1_weight")}
        return cls(name=str(train.get("objective") or "ae"), kl_warmup=int(train.get("kl_warmup") or 0), **numbers)

    def weights(self) -> dict:
        """The weights this objective uses (empty for ``ae``): what metrics.json records."""
        return {k: getattr(self, k) for k in WEIGHT_KEYS.get(self.name, ())}


def validate_objective(train: dict) -> None:
    """ConfigError for an unknown objective or a negative/non-numeric weight (checked for every objective)."""
    name = train.get("objective") or "ae"
    if name not in OBJECTIVES:
        raise ConfigError(f"train.objective {name!r} is unknown", f"use one of {OBJECTIVES} (--objective)")
    for key in ("kl_weight", "contractive_weight", "l1_weight", "kl_warmup"):
        value = train.get(key, 0)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise ConfigError(f"train.{key} = {value!r} must be a number >= 0", f"set train.{key} to 0 or more")
    if name != "ae" and train.get("mode") == "frozen-encoder":
        raise ConfigError(
            f"objective {name!r} shapes the encoder, and mode frozen-encoder trains only a decoder",
            "use --objective ae with --mode frozen-encoder, or train the encoder with --mode joint or encoder",
        )


def warmup_steps(objective: Objective, n_samples: int, batch_size: int) -> int:
    """The KL warm-up in optimizer steps: ``kl_warmup`` epochs of ``n_samples``."""
    return int(objective.kl_warmup) * max(1, math.ceil(n_samples / batch_size))


@lru_cache(maxsize=1)
def _layers():
    """The penalty layers (built lazily: importing this module does not load TensorFlow)."""
    import tensorflow as tf

    class KLPenalty(tf.keras.layers.Layer):
        """``[mean, logvar] -> mean``; adds ``weight * ramp * KL`` (ramp 0 -> 1 over ``warmup`` steps)."""

        def __init__(self, weight: float, warmup: int, **kw):
            super().__init__(**kw)
            self.weight, self.warmup = float(weight), int(warmup)

        def build(self, input_shape):
            self.step = self.add_weight(name="kl_step", shape=(), initializer="zeros", trainable=False)

        def call(self, inputs, training=None):
            mean, logvar = inputs
            kl = 0.5 * tf.reduce_sum(tf.exp(logvar) + tf.square(mean) - 1.0 - logvar, axis=-1)
            ramp = 1.0
            if self.warmup > 0:
                ramp = tf.minimum(1.0, self.step / float(self.warmup))
                if training:
                    self.step.assign_add(1.0)
            self.add_loss(self.weight * ramp * tf.reduce_mean(kl))
            self.add_metric(tf.reduce_mean(kl), name="kl")
            return mean

    class L1Penalty(tf.keras.layers.Layer):
        """Identity on the latent; adds ``weight * sum |z|``."""

        def __init__(self, weight: float, **kw):
            super().__init__(**kw)
            self.weight = float(weight)

        def call(self, z):
            l1 = tf.reduce_mean(tf.reduce_sum(tf.abs(z), axis=-1))
            self.add_loss(self.weight * l1)
            self.add_metric(l1, name="l1")
            return z

    class ContractiveEncoder(tf.keras.layers.Layer):
        """The tied encoder over every part, returning the concatenated latent; adds ``weight * ||J||_F^2``
        summed over the parts (J per sample, by ``batch_jacobian`` through the straight-through gradients)."""

        def __init__(self, encoder, weight: float, **kw):
            super().__init__(**kw)
            self.encoder, self.weight = encoder, float(weight)

        def call(self, parts):
            parts = list(parts) if isinstance(parts, (list, tuple)) else [parts]
            x = parts[0] if len(parts) == 1 else tf.concat(parts, axis=0)  # every part in one batch: one Jacobian
            with tf.GradientTape() as tape:
                tape.watch(x)
                z = self.encoder(x)
            jac = tape.batch_jacobian(z, x)
            frob = tf.reduce_sum(tf.reshape(tf.square(jac), (tf.shape(jac)[0], -1)), axis=-1)
            penalty = tf.reduce_sum(tf.reshape(frob, (len(parts), -1)), axis=0)  # per sample, summed over parts
            self.add_loss(self.weight * tf.reduce_mean(penalty))
            self.add_metric(tf.reduce_mean(penalty), name="jacobian")
            return z if len(parts) == 1 else tf.concat(tf.split(z, len(parts), axis=0), axis=-1)

    return KLPenalty, L1Penalty, ContractiveEncoder


class ObjectiveModels:
    """Builds the training model of an objective around one encoder (and, for ``vae``, its log-variance head,
    made once and shared by every phase: the single-CAE stage and the MICAE phase of ``--mode encoder``)."""

    def __init__(self, objective: Objective, encoder, *, seed: int | None = None, live=None) -> None:
        """``live``: a training wrapper of ``encoder`` that adds the ReLU-latent liveness penalty
        (:mod:`micae.train.liveness`), used while the encoder trains (not with ``vae``)."""
        from micae.models.vae import build_vae_encoder

        self.objective, self.encoder, self.seed, self.live = objective, encoder, seed, live
        self.vae_encoder = None
        if objective.name == "vae":
            self.vae_encoder = build_vae_encoder(encoder, name=f"vae_{encoder.name}", seed=seed)

    def model(self, decoder, n_inputs: int, *, name: str, warmup: int = 0, module_sum: bool = False):
        """The training model (outputs: the MICAE reconstruction); ``warmup``: KL warm-up in steps;
        ``module_sum``: the decoder also takes the N module sums (objective ``ae`` only, checked at load)."""
        import tensorflow as tf

        from micae.models.micae import build_micae

        obj, encoder = self.objective, self.encoder
        if self.live is not None and encoder.trainable and obj.name != "vae":
            encoder = self.live
        if module_sum:
            if obj.name != "ae":
                raise ConfigError(f"decoder.module_sum works with objective ae, not {obj.name}", "use objective ae")
            return build_micae(encoder, decoder, n_inputs, name=name, module_sum=True)
        kl_layer, l1_layer, contractive = _layers()
        if obj.name == "vae":
            from micae.models.vae import build_vae_micae

            self.vae_encoder.trainable = encoder.trainable
            kl = kl_layer(obj.kl_weight, warmup, name="kl_penalty")
            return build_vae_micae(self.vae_encoder, decoder, n_inputs, kl, seed=self.seed, name=name)
        if obj.name == "ae" or not encoder.trainable:
            return build_micae(encoder, decoder, n_inputs, name=name)
        shape = tuple(encoder.input_shape[1:])
        inputs = [tf.keras.Input(shape=shape, name=f"part_{i}") for i in range(n_inputs)]
        if obj.name == "contractive":
            z = contractive(encoder, obj.contractive_weight, name="contractive_encoder")(inputs)
        else:
            latents = [encoder(x) for x in inputs]
            z = latents[0] if n_inputs == 1 else tf.keras.layers.Concatenate(name="latents")(latents)
            z = l1_layer(obj.l1_weight, name="l1_penalty")(z)
        return tf.keras.Model(inputs, decoder(z), name=name)


def penalty_record(objective: Objective, history: dict) -> dict:
    """The last epoch's unweighted penalty (train and validation) from a phase's Keras history."""
    key = PENALTY_METRIC.get(objective.name)
    if key is None:
        return {}
    return {f"final_{k}": (history.get(k) or [None])[-1] for k in (key, f"val_{key}")}


def objective_summary(trained: dict) -> dict:
    """metrics.json keys: ``objective`` (its name), ``objective_weights`` and ``objective_penalty``, the last
    epoch's unweighted penalty of each phase (``final_kl``, ``final_val_kl`` ... per phase)."""
    objective = trained.get("objective") or Objective()
    penalties = {
        phase: penalty_record(objective, record.get("history", {}))
        for phase, record in trained.get("phases", {}).items()
    }
    return {
        "objective": objective.name,
        "objective_weights": objective.weights(),
        "objective_penalty": {phase: record for phase, record in penalties.items() if record},
    }
