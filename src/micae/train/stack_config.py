"""Checks of the ``stack`` config section when it is loaded, before anything trains.

Each ConfigError names the level and the key as the user wrote it (``stack.levels[1].latent``); the type and
range of every value is the schema's (:class:`micae.config.run.StackConfig`).
What only the trained stage-1 encoder can tell (its latent grid and quantizer) is checked again,
exactly, when the stack trains (:func:`micae.train.stack_levels.check_budgets`).
"""

from __future__ import annotations

from micae.errors import ConfigError
from micae.models.spec import EncoderSpec
from micae.train.stack_levels import level_grid, listed, resolve_levels


def stage1_latent_values(raw: dict) -> tuple[int, int] | None:
    """(parts, latents per part) of stage 1 as the config defines them; None when a file defines the encoder."""
    if raw["train"]["mode"] == "frozen-encoder":
        return None
    d = raw["dataset"]
    n_parts = int(d.get("tiles") or 1) if d["name"] == "digits" else int(d.get("n_parts") or 1)
    latent = (raw.get("encoder") or {}).get("latent", EncoderSpec.latent)
    return n_parts, int(latent)


def check_stack_section(raw: dict) -> None:
    """Raise ConfigError for a level that cannot work on the grid it reads (the values alone were checked by the
    schema, :class:`micae.config.run.StackConfig`)."""
    stack = raw["stack"]
    stage1 = stage1_latent_values(raw)
    n_in, rows = (stage1[0] * stage1[1], stage1[0]) if stage1 else (None, None)
    for index, level in enumerate(resolve_levels(stack)):
        if n_in is not None:
            _check_shape(stack, index, level, n_in, rows)
        n_in, rows = int(level["latent"]), 1


def _key(stack: dict, index: int, key: str) -> str:
    """How the user wrote a level key: ``stack.levels[1].latent`` (stage 3) or ``stack.latent`` (the one level)."""
    return f"stack.levels[{index}].{key}" if listed(stack) else f"stack.{key}"


def _check_shape(stack: dict, index: int, level: dict, n_in: int, default_rows: int) -> None:
    """The level's input grid, its convolution and (``levels`` form) its compression."""
    below = "stage-1 latents (all parts)" if index == 0 else f"stage-{index + 1} latents"
    stage = f"stage {index + 2}"
    rows = int(level["rows"] or default_rows)
    if n_in % rows:
        raise ConfigError(
            f"{_key(stack, index, 'rows')} = {rows}: {stage}: does not divide the {n_in} {below} it reads",
            f"use a divisor of {n_in} as rows",
        )
    grid = level_grid(n_in, rows, default_rows)
    k = int(level["kernel"])
    if level["padding"] == "valid" and (k > grid[0] or k > grid[1]):
        raise ConfigError(
            f"{_key(stack, index, 'kernel')} = {k}: {stage}: with 'valid' padding it does not fit the "
            f"{grid[0]}x{grid[1]} grid of {below}",
            f"use kernel <= {min(grid[:2])}, padding: same, or other rows",
        )
    if not listed(stack):
        return  # the one-level form keeps its original checks (precheck and train_stacked)
    latent, limit = int(level["latent"]), float(level["min_compression"])
    if latent >= n_in or n_in / latent < limit:
        raise ConfigError(
            f"{_key(stack, index, 'latent')} = {latent}: {stage}: does not compress the {n_in} {below} it reads "
            f"(factor {n_in / latent:.3g}, needs > 1 and >= min_compression {limit:g})",
            f"use at most {max(min(n_in - 1, int(n_in // limit)), 1)} latents for {stage}",
        )
