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

    class BestWeights(tf.keras.callbacks.EarlyStopping):
        """Early stopping that also keeps the best epoch when the epoch budget ends first (Keras does not)."""

        def on_train_end(self, logs=None):
            if self.stopped_epoch == 0 and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
            super().on_train_end(logs)

    return [
        BestWeights(monitor="val_loss", patience=patience, restore_best_weights=True),
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

    from micae.labels import phase_name
    from micae.log import info

    name = phase_name(phase)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss=loss)
    state_path = work / f"{phase}.state.json"
    final_weights = work / f"{phase}.final.weights.h5"
    initial = 0
    if resume and state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("finished") and final_weights.exists():
            # the phase completed before the interruption: take its final (best) weights as they were
            model.load_weights(str(final_weights))
            info(f"{name}: already trained, reusing its weights")
            return {"history": {}, "seconds": 0.0, "epochs_run": 0, "resumed_from": state["epoch"] + 1}
        initial = state["epoch"] + 1
        model.load_weights(str(work / f"{phase}.ckpt.weights.h5"))
        info(f"{name}: resuming after epoch {initial}")
    info(f"{name}: training {epochs - initial} epoch(s), {len(y_train)} samples")
    start = time.perf_counter()
    callbacks = _callbacks(work, phase, patience, resume and initial > 0)
    data = (
        (x_train, y_train) if corrupt is None else (corrupted_batches(x_train, y_train, batch_size, corrupt, initial),)
    )
    hist = model.fit(
        *data,
        validation_data=(x_val, y_val),
        epochs=epochs,
        initial_epoch=initial,
        batch_size=None if corrupt is not None else batch_size,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=corrupt is None,
    )
    history = hist.history
    seconds = time.perf_counter() - start
    model.save_weights(str(final_weights))
    last = json.loads(state_path.read_text())["epoch"] if state_path.exists() else initial - 1
    state_path.write_text(json.dumps({"epoch": last, "finished": True}))
    return {
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
        "seconds": seconds,
        "epochs_run": len(history.get("loss", [])),
        "resumed_from": initial,
    }


def _take(x, idx):
    return [xi[idx] for xi in x] if isinstance(x, list) else x[idx]


def _batches_class():
    import tensorflow as tf

    class _CorruptedBatches(tf.keras.utils.Sequence):
        """Shuffled batches whose inputs are corrupted anew each epoch; targets stay clean."""

        def __init__(self, x, y, batch_size: int, corrupt, epoch: int) -> None:
            super().__init__()
            self.x, self.y, self.batch_size, self.corrupt, self.epoch = x, y, batch_size, corrupt, epoch
            self._order()

        def _order(self) -> None:
            self.order = np.random.default_rng((7, self.epoch)).permutation(len(self.y))

        def __len__(self) -> int:
            return -(-len(self.y) // self.batch_size)

        def __getitem__(self, i: int):
            idx = self.order[i * self.batch_size : (i + 1) * self.batch_size]
            return self.corrupt(_take(self.x, idx), (self.epoch, i)), self.y[idx]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._order()

    return _CorruptedBatches


def corrupted_batches(x, y, batch_size: int, corrupt, epoch: int):
    """A Keras Sequence (built lazily so importing this module does not load TensorFlow)."""
    return _batches_class()(x, y, batch_size, corrupt, epoch)


def dropout_corruption(p: float, seed: int):
    """Denoising input corruption: each input value is zeroed with probability ``p``."""

    def corrupt(x, step):
        rng = np.random.default_rng((seed, *np.atleast_1d(step)))
        if isinstance(x, list):
            return [xi * (rng.random(xi.shape) >= p).astype(xi.dtype) for xi in x]
        return x * (rng.random(x.shape) >= p).astype(x.dtype)

    return corrupt
