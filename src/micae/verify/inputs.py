"""Where verification inputs come from: a run's test split or a user's array file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.errors import DataError


def load_user_inputs(path: str | Path, input_shape: tuple[int, ...]) -> np.ndarray:
    """Inputs from ``.npy`` / ``.npz`` (key ``x``) as float32 ``(N, *input_shape)``.

    Accepted shapes: ``(N, *input_shape)``, ``(N, parts, *input_shape)`` (parts are
    unrolled: the encoder sees each separately) and ``(N, prod(input_shape))``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist", "give a .npy or .npz file of encoder inputs")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                if "x" not in f.files:
                    raise DataError(
                        f"{path} has no array 'x' (it has {sorted(f.files)})", "save the inputs under the key 'x'"
                    )
                x = f["x"]
        else:
            x = np.load(path, allow_pickle=False)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"cannot read {path}: {type(exc).__name__}: {exc}", "save it with numpy.save / numpy.savez"
        ) from exc
    if x.dtype.kind not in "fiu":
        raise DataError(f"{path} holds {x.dtype} values, not numbers", "save a numeric array")
    n_in = int(np.prod(input_shape))
    if x.ndim >= 2 and tuple(x.shape[-len(input_shape) :]) == tuple(input_shape) or x.ndim == 2 and x.shape[1] == n_in:
        x = x.reshape(-1, *input_shape)
    else:
        raise DataError(
            f"{path} has shape {x.shape}, but the encoder takes inputs of shape {tuple(input_shape)}",
            f"save an array of shape (N, {', '.join(map(str, input_shape))}) or (N, {n_in})",
        )
    if len(x) == 0:
        raise DataError(f"{path} holds no samples", "save at least one input vector")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        i = int(np.argwhere(~np.isfinite(x.reshape(len(x), -1)))[0, 0])
        raise DataError(f"{path}: sample {i} has NaN or infinite values", "remove or replace them")
    return x


def load_run_inputs(run_dir: Path, input_shape: tuple[int, ...]) -> np.ndarray | None:
    """The test split saved by training (``test_data.npz``), unrolled to single-encoder inputs."""
    path = run_dir / "test_data.npz"
    if not path.exists():
        return None
    return load_user_inputs(path, input_shape)
