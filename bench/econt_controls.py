"""Control experiments on the ECON-T encoder's EMD (bench/econt_quality.md, "What limits the encoder").

One run: train an encoder + the run's 64-filter conv decoder on the econt data (48k train / 6k val
wafers of ``models/econt.yaml``, generated once and cached) and print the exact POT EMD on the first
``--test`` test wafers as one JSON line.

    .venv/bin/python bench/econt_controls.py --encoder mlp --latent 48            # no bottleneck
    .venv/bin/python bench/econt_controls.py --encoder chip --loss exact          # exact EMD as the loss
    .venv/bin/python bench/econt_controls.py --encoder chip --init stc            # start from STC's group sums

Encoders: ``chip`` (the QAT encoder of econt.yaml, any latent count), ``chipf`` (its float twin),
``mlp`` (an unconstrained float encoder Flatten -> 256 -> 256 -> latents). Losses: ``sinkhorn`` (the
run's, with the wafer-sum term), ``mse``, ``exact`` (POT network simplex forward, the dual potential
of the prediction as gradient).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "results" / "econt_controls_data.npz"


def load_data(n: int = 60000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from micae.train.config import load_config
    from micae.train.run import load_run_dataset

    if CACHE.exists():
        z = np.load(CACHE)
        return z["tr"], z["va"], z["te"]
    ds = load_run_dataset(load_config(ROOT / "models/econt.yaml", sets=[f"dataset.n_samples={n}"]))
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, tr=ds.x_train[:, 0], va=ds.x_val[:, 0], te=ds.x_test[:, 0])
    return ds.x_train[:, 0], ds.x_val[:, 0], ds.x_test[:, 0]


def conv_decoder(latent: int, seed: int = 0):
    """The run's float decoder of econt.yaml (64 filters, ReLU output) for ``latent`` inputs."""
    from micae.models.decoder import build_decoder
    from micae.train.config import load_config

    spec = load_config(ROOT / "models/econt.yaml").decoder_spec()
    return build_decoder(spec, latent, (4, 4, 3), name="dec", seed=seed)


def encoder(kind: str, latent: int, seed: int = 0):
    import tensorflow as tf

    from micae.models.encoder import build_encoder, build_float_encoder
    from micae.train.config import load_config

    spec = load_config(ROOT / "models/econt.yaml", sets=[f"encoder.latent={latent}"]).encoder_spec((4, 4, 3))
    if kind == "chip":
        return build_encoder(spec, min_compression=1.0, seed=seed)  # other latent counts: controls only
    if kind == "chipf":
        return build_float_encoder(spec, seed=seed)
    init = tf.keras.initializers.GlorotUniform(seed=seed)
    xi = tf.keras.Input((4, 4, 3))
    x = tf.keras.layers.Flatten()(xi)
    for _ in range(2):
        x = tf.keras.layers.Dense(256, activation="relu", kernel_initializer=init)(x)
    return tf.keras.Model(xi, tf.keras.layers.Dense(latent, kernel_initializer=init)(x), name="encoder")


def stc_init(enc, dipoles: bool = False, seed: int = 0) -> None:
    """Filters 0-2 sum the 2x2 STC groups of each channel (they are the stride-2 blocks of the 4x4x3
    arrangement); latents 0-11 pass the 12 sums through; everything else starts small and random."""
    rng = np.random.default_rng(seed)
    conv, dense = enc.get_layer("conv"), enc.get_layer("dense")
    k, b = conv.get_weights()
    k[:] = rng.normal(0, 0.1, k.shape)
    b[:] = 0
    for c in range(3):
        k[:, :, :, c] = 0
        k[0:2, 0:2, c, c] = 0.5
    if dipoles:  # filters 3-5: right minus left column of each channel's group; 6-7: bottom minus top (channels 0, 1)
        for c in range(3):
            k[:, :, :, 3 + c] = 0
            k[0:2, 1, c, 3 + c], k[0:2, 0, c, 3 + c] = 0.5, -0.5
        for c in range(2):
            k[:, :, :, 6 + c] = 0
            k[1, 0:2, c, 6 + c], k[0, 0:2, c, 6 + c] = 0.5, -0.5
    conv.set_weights([k, b])
    w, bd = dense.get_weights()
    w[:] = rng.normal(0, 0.05, w.shape)
    bd[:] = 0
    for n in range(12):  # latent n = group sum of channel n // 4 at output position n % 4 (flatten: pos * 8 + f)
        w[:, n] = 0
        w[(n % 4) * 8 + n // 4, n] = 31 / 32
    dense.set_weights([w, bd])


def exact_emd_loss(sum_weight: float):
    """The exact EMD as a loss: POT's network simplex forward, its dual potential (centred) as the gradient."""
    import ot
    import tensorflow as tf

    from micae.data.geometry import tc_pixel_index
    from micae.metrics.emd import ground_distance
    from micae.metrics.sinkhorn import unit_sum
    from micae.train.losses import wafer_sum_term

    cost = np.ascontiguousarray(ground_distance())
    idx = tf.constant(tc_pixel_index("4x4x3"), dtype=tf.int32)

    def emd_and_potential(t, p):
        out, grad = np.zeros(len(t), np.float32), np.zeros(p.shape, np.float32)
        for i in range(len(t)):
            value, log = ot.emd2(t[i].astype(np.float64), p[i].astype(np.float64), cost, log=True)
            out[i], grad[i] = value, log["v"] - log["v"].mean()
        return out, grad

    @tf.custom_gradient
    def emd_unit(t, p):
        value, grad = tf.numpy_function(emd_and_potential, [t, p], [tf.float32, tf.float32])
        value.set_shape(t.shape[:1])
        grad.set_shape(p.shape)
        return value, lambda dy: (tf.zeros_like(t), dy[:, None] * grad)

    def loss(y_true, y_pred):
        y_pred = tf.convert_to_tensor(y_pred)
        y_true = tf.cast(y_true, y_pred.dtype)
        n = tf.shape(y_pred)[0]
        t = unit_sum(tf.gather(tf.reshape(y_true, (n, 48)), idx, axis=-1))
        p = unit_sum(tf.gather(tf.reshape(y_pred, (n, 48)), idx, axis=-1))
        return emd_unit(t, p)

    loss.__name__ = "exact_emd"
    return wafer_sum_term(loss, sum_weight)


def make(args):
    from micae.train.losses import make_loss

    if args.loss == "exact":
        return exact_emd_loss(1.0)
    options = {"emd_epsilon": args.epsilon, "emd_iterations": args.iterations, "emd_debiased": args.debiased}
    return make_loss(args.loss, "4x4x3", 1, 3, options)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoder", choices=("chip", "chipf", "mlp"), default="chip")
    p.add_argument("--latent", type=int, default=16)
    p.add_argument("--loss", choices=("sinkhorn", "mse", "exact"), default="sinkhorn")
    p.add_argument("--debiased", action="store_true", help="debiased Sinkhorn divergence")
    p.add_argument("--epsilon", type=float, default=0.5)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--init", choices=("random", "stc", "stc_dipoles"), default="random")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--test", type=int, default=5000, help="test wafers for the EMD")
    args = p.parse_args(argv)

    import tensorflow as tf

    from micae.metrics.emd import emd
    from micae.models.micae import build_micae

    x_train, x_val, x_test = load_data()
    x_test = x_test[: args.test]
    tf.keras.utils.set_random_seed(0)
    enc = encoder(args.encoder, args.latent)
    if args.init != "random":
        stc_init(enc, dipoles=args.init == "stc_dipoles")
    model = build_micae(enc, conv_decoder(args.latent), 1, name="control")
    model.compile(tf.keras.optimizers.Adam(0.003), loss=make(args))
    start, cpu = time.time(), time.process_time()
    hist = model.fit(
        x_train,
        x_train,
        validation_data=(x_val, x_val),
        epochs=args.epochs,
        batch_size=256,
        verbose=0,
        callbacks=[tf.keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)],
    )
    recon = model.predict(x_test, batch_size=4096, verbose=0)
    e = emd(x_test, recon, layout="4x4x3")
    result = {
        **vars(args),
        "emd_mean": float(np.nanmean(e)),
        "emd_median": float(np.nanmedian(e)),
        "mse": float(((recon - x_test) ** 2).mean()),
        "epochs_run": len(hist.history["loss"]),
        "wall_s": round(time.time() - start, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
