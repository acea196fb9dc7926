"""The levels of a stacked run: their config, shapes, specs, file names and compression budgets.

Level 1 is the MICAE run itself (N tied encoders, latents concatenated). Every stacked level
k >= 2 is one more hardware encoder (quantizer -> QConv2D -> quantizer -> Flatten -> QDense ->
quantizer) over the latents of level k-1, read as a ``(rows, values / rows, 1)`` grid (level 2:
``(N, L, 1)``, one row per part; higher levels: one row unless ``rows`` says otherwise). Its input
quantizer is the latent quantizer of level k-1, so it is the identity on those latents.

Config: ``stack.levels: [{latent: 8}, {latent: 4, loss: chain}]`` lists levels 2, 3, ...; keys a
level leaves out come from the ``stack`` section (itself completed from the defaults). Without
``levels`` the ``stack`` section is the one level 2 (the original two-stage form).
"""

from __future__ import annotations

import re

from micae.errors import ConstraintError
from micae.models.quantizers import QuantSpec
from micae.models.spec import EncoderSpec

LEVEL_KEYS = (
    "latent",
    "latent_quant",
    "filters",
    "kernel",
    "strides",
    "padding",
    "rows",
    "decoder_units",
    "loss",
    "epochs",
    "min_compression",
)
"""Keys of one level (a ``stack.levels`` entry, or the ``stack`` section in the one-level form)."""

STACK_LOSSES = ("latent", "chain")
STACKED_MODEL = "stacked_micae.h5"
FINE_TUNE_PHASE = "stack_finetune"
_STACK_FILE = re.compile(r"stage(\d+)_(encoder\.h5|decoder\.h5|latents\.npy)")


def encoder_file(stage: int) -> str:
    return f"stage{stage}_encoder.h5"


def decoder_file(stage: int) -> str:
    return f"stage{stage}_decoder.h5"


def latents_file(stage: int) -> str:
    """Test-split latents of ``stage``, shaped as the input grid of ``stage + 1`` (its synthesize data)."""
    return f"stage{stage}_latents.npy"


def is_stack_file(name: str) -> bool:
    """A file a stacked run writes (``stageK_encoder.h5`` for K >= 2, ``stageK_latents.npy``, ...)."""
    m = _STACK_FILE.fullmatch(name)
    return bool(m) and (int(m.group(1)) >= 2 or m.group(2) == "latents.npy")


def listed(stack: dict) -> bool:
    """True for the ``stack.levels`` form, False for the one-level ``stack`` section."""
    return stack.get("levels") is not None


def key_name(stack: dict, index: int, key: str) -> str:
    """How the user wrote a level key: ``stack.levels[1].latent`` (level 3) or ``stack.latent``."""
    return f"stack.levels[{index}].{key} (stage {index + 2})" if listed(stack) else f"stack.{key}"


def resolve_levels(stack: dict) -> list[dict]:
    """The stacked levels (stage 2, 3, ...), each a full mapping of :data:`LEVEL_KEYS`."""
    base = {k: stack.get(k) for k in LEVEL_KEYS}
    if not listed(stack):
        return [base]
    return [{**base, **level} for level in stack["levels"]]


def level_grid(n_values: int, rows: int | None, default_rows: int) -> tuple[int, int, int]:
    """The ``(rows, n_values / rows, 1)`` image a level reads its input latents as."""
    r = int(rows or default_rows)
    return (r, n_values // r, 1)


def level_spec(base: EncoderSpec, level: dict, grid: tuple[int, ...], input_quant: QuantSpec) -> EncoderSpec:
    """The encoder of one stacked level on ``grid``; input quantizer = the level below's latent quantizer.

    Weight, bias and activation precisions follow ``base`` (stage 1); ``latent_quant`` defaults to
    ``input_quant`` (the latent grid of the level below).
    """
    lq = level.get("latent_quant")
    return EncoderSpec(
        input_shape=tuple(int(v) for v in grid),
        input_quant=input_quant,
        filters=int(level["filters"]),
        kernel=int(level["kernel"]),
        strides=int(level["strides"]),
        padding=str(level["padding"]),
        conv_weight=base.conv_weight,
        conv_bias=base.conv_bias,
        conv_act=base.conv_act,
        latent=int(level["latent"]),
        dense_weight=base.dense_weight,
        dense_bias=base.dense_bias,
        latent_quant=QuantSpec.from_dict(lq) if isinstance(lq, dict) else input_quant,
    )


def plan_specs(base: EncoderSpec, stack: dict, n_parts: int, latent1: int, latent1_quant: QuantSpec) -> list:
    """The spec of every stacked level, bottom up: level k reads the latents of level k-1."""
    specs: list[EncoderSpec] = []
    n_in, quant, default_rows = int(n_parts) * int(latent1), latent1_quant, int(n_parts)
    for level in resolve_levels(stack):
        spec = level_spec(base, level, level_grid(n_in, level.get("rows"), default_rows), quant)
        specs.append(spec)
        n_in, quant, default_rows = spec.latent, spec.latent_quant, 1
    return specs


# ---- compression budget ---------------------------------------------------------------------------


def _level_budget(spec: EncoderSpec, stack: dict, index: int, level: dict) -> dict:
    from micae.models.constraints import check_encoder_spec

    stage = index + 2
    try:
        return check_encoder_spec(spec, float(level["min_compression"]))
    except ConstraintError as exc:
        fix = (
            f"use fewer stage-{stage} latents ({key_name(stack, index, 'latent')}) "
            f"or lower {key_name(stack, index, 'min_compression')}"
        )
        if not listed(stack):
            fix = "use fewer stage-2 latents (--stack-latent N) or lower stack.min_compression"
        raise ConstraintError(f"stage {stage}: {exc.problem}", fix) from exc


def check_budgets(
    specs: list, stack: dict, stage1: dict, min_chain: float, min_chain_bits: float | None = None
) -> dict:
    """Every level's compression and the chain's up to it, raising ConstraintError below their limits.

    ``stage1`` is the stage-1 bit budget (:func:`micae.fixed.budget.bit_budget`, all parts). Factors
    count values as ECON-T does (level k: its input values / its latents; chain: live input values /
    level-k latents, checked at every level against ``min_chain``); bit ratios stand beside them, with
    ``min_chain_bits`` as the optional chain limit. Returns flat ``stageK*`` keys and a ``levels`` table.
    """
    in_values, in_bits = stage1["total_input_values"], stage1["total_input_bits"]
    out = {
        "input_values": int(in_values),
        "input_bits": int(in_bits),
        "stage1_latent_values": int(stage1["total_latent_values"]),
        "stage1_latent_bits": int(stage1["total_latent_bits"]),
        "stage1": stage1["compression_factor"],
        "stage1_bit_ratio": stage1["bit_ratio"],
    }
    rows = [_row(1, in_values, in_bits, stage1["total_latent_values"], stage1["total_latent_bits"], None)]
    rows[0].update(compression_factor=stage1["compression_factor"], bit_ratio=stage1["bit_ratio"])
    for index, (spec, level) in enumerate(zip(specs, resolve_levels(stack), strict=True)):
        stage, b = index + 2, _level_budget(spec, stack, index, level)
        _check_chain(stage, stack, index, in_values, in_bits, b, min_chain, min_chain_bits)
        out.update(
            {
                f"stage{stage}_latent_values": int(b["latent_values"]),
                f"stage{stage}_latent_bits": int(b["latent_bits"]),
                f"stage{stage}": b["compression_factor"],
                f"stage{stage}_bit_ratio": b["bit_ratio"],
                f"stage{stage}_min_compression": float(level["min_compression"]),
            }
        )
        rows.append(_row(stage, b["input_values"], b["input_bits"], b["latent_values"], b["latent_bits"], level))
        rows[-1].update(compression_factor=b["compression_factor"], bit_ratio=b["bit_ratio"])
    for row in rows:
        row.update(chain_factor=in_values / row["latent_values"], chain_bit_ratio=in_bits / row["latent_bits"])
    top = rows[-1]
    out.update(
        chain=top["chain_factor"],
        chain_bit_ratio=top["chain_bit_ratio"],
        chain_min_compression=float(min_chain),
        chain_min_bit_compression=min_chain_bits,
        n_stages=len(rows),
        levels=rows,
    )
    return out


def _row(stage: int, in_values: int, in_bits: int, lat_values: int, lat_bits: int, level: dict | None) -> dict:
    return {
        "stage": stage,
        "input_values": int(in_values),
        "input_bits": int(in_bits),
        "latent_values": int(lat_values),
        "latent_bits": int(lat_bits),
        "min_compression": None if level is None else float(level["min_compression"]),
    }


def _check_chain(stage, stack, index, in_values, in_bits, b, min_chain, min_chain_bits) -> None:
    chain, chain_bits = in_values / b["latent_values"], in_bits / b["latent_bits"]
    latent_key = key_name(stack, index, "latent") if listed(stack) else "--stack-latent N"
    if chain < min_chain:
        raise ConstraintError(
            f"stacked chain compression factor {chain:.3g} = {in_values} input values / {b['latent_values']} "
            f"stage-{stage} latents is below {min_chain:g} (bit ratio {chain_bits:.3g})",
            f"use at most {int(in_values // min_chain)} stage-{stage} latents ({latent_key}), or lower min_compression",
        )
    if min_chain_bits is not None and chain_bits < min_chain_bits:
        raise ConstraintError(
            f"stacked chain bit ratio {chain_bits:.3g} = {in_bits} input bits / {b['latent_bits']} stage-{stage} "
            f"bits is below min_bit_compression {min_chain_bits:g}",
            f"use fewer or narrower stage-{stage} latents ({latent_key}, latent_quant), "
            "or lower or unset min_bit_compression",
        )
