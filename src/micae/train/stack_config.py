"""Checks of the ``stack`` config section when it is loaded, before anything trains.

Each ConfigError names the level and the key as the user wrote it (``stack.levels[1].latent``).
What only the trained stage-1 encoder can tell (its latent grid and quantizer) is checked again,
exactly, when the stack trains (:func:`micae.train.stack_levels.check_budgets`).
"""

from __future__ import annotations

from micae.errors import ConfigError
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec
from micae.train.stack_levels import LEVEL_KEYS, STACK_LOSSES, key_name, level_grid, listed, resolve_levels

_POSITIVE = ("latent", "filters", "kernel", "strides", "decoder_units")


def stage1_latent_values(raw: dict) -> tuple[int, int] | None:
    """(parts, latents per part) of stage 1 as the config defines them; None when a file defines the encoder."""
    if raw["train"]["mode"] == "frozen-encoder":
        return None
    d = raw["dataset"]
    n_parts = int(d.get("tiles") or 1) if d["name"] == "digits" else int(d.get("n_parts") or 1)
    latent = (raw.get("encoder") or {}).get("latent", EncoderSpec.latent)
    return n_parts, int(latent)


def check_stack_section(raw: dict) -> None:
    """Raise ConfigError for a bad ``stack.levels`` list or a level key that cannot work."""
    stack = raw["stack"]
    if not isinstance(stack.get("fine_tune_end_to_end", False), bool):
        raise ConfigError(
            f"stack.fine_tune_end_to_end = {stack['fine_tune_end_to_end']!r} is not true or false",
            "write true or false",
        )
    _check_list(stack)
    for index, level in enumerate(resolve_levels(stack)):
        _check_values(stack, index, level)
    stage1 = stage1_latent_values(raw)
    n_in, rows = (stage1[0] * stage1[1], stage1[0]) if stage1 else (None, None)
    for index, level in enumerate(resolve_levels(stack)):
        if n_in is not None:
            _check_shape(stack, index, level, n_in, rows)
        n_in, rows = int(level["latent"]), 1


def _check_list(stack: dict) -> None:
    if not listed(stack):
        return
    levels = stack["levels"]
    if not isinstance(levels, list) or not levels:
        raise ConfigError(
            f"stack.levels = {levels!r} is not a non-empty list",
            "write stack.levels as a list of level mappings, e.g. [{latent: 8}, {latent: 4}], or leave it out",
        )
    for index, level in enumerate(levels):
        if not isinstance(level, dict):
            raise ConfigError(
                f"stack.levels[{index}] (stage {index + 2}) = {level!r} is not a mapping",
                "write each level as key: value pairs, e.g. {latent: 8}",
            )
        unknown = sorted(set(level) - set(LEVEL_KEYS))
        if unknown:
            raise ConfigError(
                f"stack.levels[{index}] (stage {index + 2}) has unknown option(s) {unknown}",
                f"use only {sorted(LEVEL_KEYS)}",
            )


def _int(stack: dict, index: int, level: dict, key: str, low: int) -> None:
    value = level[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{key_name(stack, index, key)} = {value!r} must be an integer >= {low}", "fix the value")


def _check_values(stack: dict, index: int, level: dict) -> None:
    if level["loss"] not in STACK_LOSSES:
        raise ConfigError(f"{key_name(stack, index, 'loss')} = {level['loss']!r} is unknown", f"use {STACK_LOSSES}")
    for key in _POSITIVE:
        _int(stack, index, level, key, 1)
    for key in ("rows", "epochs"):
        if level[key] is not None:
            _int(stack, index, level, key, 1)
    if level["padding"] not in ("same", "valid"):
        raise ConfigError(f"{key_name(stack, index, 'padding')} = {level['padding']!r}", "use 'same' or 'valid'")
    mc = level["min_compression"]
    if isinstance(mc, bool) or not isinstance(mc, int | float) or mc <= 0:
        raise ConfigError(f"{key_name(stack, index, 'min_compression')} = {mc!r} must be > 0", "e.g. 1.5")
    lq = level["latent_quant"]
    if lq is not None:
        try:
            if not isinstance(lq, dict):
                raise TypeError("not a mapping")
            QuantSpec.from_dict(lq).fixed_type()
        except (TypeError, KeyError) as exc:
            raise ConfigError(
                f"{key_name(stack, index, 'latent_quant')} = {lq!r}: {exc}",
                "give {bits: B, integer: I, signed: true}, or null for the latent grid of the level below",
            ) from exc


def _check_shape(stack: dict, index: int, level: dict, n_in: int, default_rows: int) -> None:
    """The level's input grid, its convolution and (``levels`` form) its compression."""
    below = "stage-1 latents (all parts)" if index == 0 else f"stage-{index + 1} latents"
    rows = int(level["rows"] or default_rows)
    if n_in % rows:
        raise ConfigError(
            f"{key_name(stack, index, 'rows')} = {rows} does not divide the {n_in} {below} it reads",
            f"use a divisor of {n_in} as rows",
        )
    grid = level_grid(n_in, rows, default_rows)
    k = int(level["kernel"])
    if level["padding"] == "valid" and (k > grid[0] or k > grid[1]):
        raise ConfigError(
            f"{key_name(stack, index, 'kernel')} = {k} with 'valid' padding does not fit the {grid[0]}x{grid[1]} "
            f"grid of {below}",
            f"use kernel <= {min(grid[:2])}, padding: same, or other rows",
        )
    if not listed(stack):
        return  # the one-level form keeps its original checks (precheck and train_stacked)
    latent, limit = int(level["latent"]), float(level["min_compression"])
    if latent >= n_in or n_in / latent < limit:
        raise ConfigError(
            f"{key_name(stack, index, 'latent')} = {latent} does not compress the {n_in} {below} it reads "
            f"(factor {n_in / latent:.3g}, needs > 1 and >= min_compression {limit:g})",
            f"use at most {max(min(n_in - 1, int(n_in // limit)), 1)} latents for stage {index + 2}",
        )
