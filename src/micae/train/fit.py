"""One Keras fit phase with early stopping, per-epoch checkpoints and resume."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np


def _callbacks(work: Path, phase: str, patience: int, resume: bool):
    import tensorflow as tf

    ckpt = work / f"{phase}.ckpt.weights.h5"
    state_path = work / f"{phase}.state.json"

    class EpochState(tf.keras.callbacks.Callback):
        """Record the last finished epoch so --resume knows where to continue."""

        def on_epoch_end(self, epoch, logs=None):
            self.model.save_weights(str(ckpt))
            state_path.write_text(json.dumps({"epoch": int(epoch)}))

    return [
        tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        tf.keras.callbacks.CSVLogger(str(work / f"history_{phase}.csv"), append=resume),
        EpochState(),
    ]


def fit_phase(
    model,
    x_train,
    y_train,
    x_val,
    y_val,
    *,
    work: Path,
    phase: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    loss,
    patience: int,
    resume: bool,
    verbose: int = 2,
    corrupt=None,
) -> dict:
    """Train ``model``; returns ``{history, seconds, epochs_run, resumed_from}``.

    ``corrupt(x, epoch)`` (denoising) replaces the inputs each epoch, targets stay clean.
    """
    import tensorflow as tf

    from micae.log import info

    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=loss)
    state_path = work / f"{phase}.state.json"
    initial = 0
    if resume and state_path.exists():
        initial = json.loads(state_path.read_text())["epoch"] + 1
        model.load_weights(str(work / f"{phase}.ckpt.weights.h5"))
        info(f"{phase}: resuming after epoch {initial}")
    if initial >= epochs:
        return {"history": {}, "seconds": 0.0, "epochs_run": 0, "resumed_from": initial}
    info(f"{phase}: training {epochs - initial} epoch(s), {len(y_train)} samples")
    start = time.perf_counter()
    callbacks = _callbacks(work, phase, patience, resume and initial > 0)
    if corrupt is None:
        hist = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, initial_epoch=initial,
            batch_size=batch_size, callbacks=callbacks, verbose=verbose, shuffle=True,
        )
        history = hist.history
    else:
        history = {}
        for epoch in range(initial, epochs):
            hist = model.fit(
                corrupt(x_train, epoch), y_train, validation_data=(x_val, y_val), epochs=epoch + 1,
                initial_epoch=epoch, batch_size=batch_size, callbacks=callbacks, verbose=verbose, shuffle=True,
            )
            for k, v in hist.history.items():
                history.setdefault(k, []).extend(v)
            if model.stop_training:
                break
    seconds = time.perf_counter() - start
    return {
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
        "seconds": seconds,
        "epochs_run": len(history.get("loss", [])),
        "resumed_from": initial,
    }


def dropout_corruption(p: float, seed: int):
    """Denoising input corruption: each input value is zeroed with probability ``p``."""

    def corrupt(x, epoch):
        rng = np.random.default_rng((seed, epoch))
        if isinstance(x, list):
            return [xi * (rng.random(xi.shape) >= p).astype(xi.dtype) for xi in x]
        return x * (rng.random(x.shape) >= p).astype(x.dtype)

    return corrupt
