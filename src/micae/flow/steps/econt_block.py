"""Step ``econt_block`` (``--block econt``): the ECON-T autoencoder block around the encoder's RTL, verified.

Writes ``firmware/<name>/econt_block/`` (:func:`micae.rtl.econt_block.write_block_rtl`) around the RTL cut that
ships, and returns three levels and the report section:

* ``block_integer_model`` -- the encoder's integer latents on the block's own normalised inputs vs QKeras';
* ``block_rtl`` -- Verilator on every block vector (``--rtl-vectors``, default 10^6): the L e-link words vs the
  Python model of the chip (:mod:`micae.econt.block`), all bits;
* ``block_rtl_crosscheck`` -- Icarus on every edge vector and random others;

and the block's yosys resources and logic-only STA (and nextpnr with ``--pnr``) beside the encoder's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from micae.errors import ConfigError, ConstraintError
from micae.flow.context import FlowContext, VectorSet
from micae.flow.steps.rtl_vectors import DEFAULT_RTL_VECTORS
from micae.flow.steps.vectors import level_from_comparison
from micae.log import info, progress
from micae.results.econt_block import EcontBlockSection, FrameExample, FrameField
from micae.results.levels import Comparison, LevelResult

FOLDER = "econt_block"
CROSSCHECK_ROWS = 2000
SHIPPED_ROWS = 1000
LAYOUTS = {(4, 4, 3): "4x4x3", (8, 8, 1): "8x8"}


def run(ctx: FlowContext) -> list[LevelResult | EcontBlockSection]:
    req = ctx.request
    if req.block == "none":
        return []
    if ctx.rtl_dir is None or ctx.rtl is None:
        raise ConstraintError(
            "--block econt wraps the encoder's RTL, and the RTL route did not run (see the rtl level's reason)",
            "fix what stopped the RTL route, or drop --block",
        )
    return _run(ctx)


@dataclass(frozen=True)
class BlockVectors:
    """What both block steps (RTL here, HLS in :mod:`micae.flow.steps.econt_block_hls`) verify against: the
    settings, the block vectors (edge sources first), the Python reference's output and the cross-check rows."""

    elinks: int
    elinks_from: str
    layout: str
    layout_from: str
    real_note: str
    calq: np.ndarray
    bx: np.ndarray
    slices: dict[str, slice]
    ref: Any
    """:class:`micae.econt.block.BlockOutput`"""
    crosscheck_rows: np.ndarray
    """every edge row, then random others up to CROSSCHECK_ROWS (the first SHIPPED_ROWS ship with the block)"""

    @property
    def vector_set(self) -> VectorSet:
        from micae.rtl.econt_block import sim_inputs

        return VectorSet(
            x=np.empty((0,)), codes=sim_inputs(self.calq, self.bx), slices=self.slices, expected=self.ref.words
        )


def block_vectors_of(ctx: FlowContext) -> BlockVectors:
    """The block's settings (--elinks or the run's config, the layout), its vectors and the Python reference."""
    from micae.econt.block_vectors import block_vectors
    from micae.verify.econt_block import reference

    req, encoder = ctx.request, ctx.exact_encoder
    elinks, elinks_from = _elinks(ctx)
    layout, layout_from = _layout(ctx)
    real, real_note = _real_rows(ctx)
    with progress("econt block: vectors and the Python model of the chip"):
        calq, bx, slices = block_vectors(req.rtl_vectors or DEFAULT_RTL_VECTORS, seed=req.seed, real=real)
        ref = reference(encoder, layout, calq, bx, elinks)
    rows = _crosscheck_rows(slices["calq_22_bit_limit"].stop, len(calq), req.seed)
    return BlockVectors(elinks, elinks_from, layout, layout_from, real_note, calq, bx, slices, ref, rows)


def _run(ctx: FlowContext) -> list[LevelResult | EcontBlockSection]:
    from micae.econt.block import FrameLayout
    from micae.rtl.econt_block import sim_inputs, write_block_rtl

    encoder = ctx.exact_encoder
    bv = block_vectors_of(ctx)
    elinks, elinks_from, layout, layout_from = bv.elinks, bv.elinks_from, bv.layout, bv.layout_from
    calq, bx, slices, ref, rows, real_note = bv.calq, bv.bx, bv.slices, bv.ref, bv.crosscheck_rows, bv.real_note
    folder = ctx.fw_out / FOLDER
    with progress(f"econt block: write RTL (L = {elinks}, layout {layout})"):
        manifest = write_block_rtl(
            ctx.rtl_path,
            folder,
            elinks=elinks,
            layout=layout,
            vectors_in=sim_inputs(calq[rows[:SHIPPED_ROWS]], bx[rows[:SHIPPED_ROWS]]),
            vectors_out=ref.words[rows[:SHIPPED_ROWS]],
        )
    vec = bv.vector_set
    levels = [_integer_level(ctx, layout, vec, ref), *_rtl_levels(folder, vec, rows)]
    resources, sta, pnr = _hardware(ctx, folder, manifest.top)
    assert ctx.rtl is not None, "the block step runs after the RTL step (--block needs --rtl)"
    encoder_latency = ctx.rtl.latency_cycles
    section = EcontBlockSection(
        folder=FOLDER,
        top="econt_block",
        harness=manifest.top,
        elinks=elinks,
        elinks_from=elinks_from,
        latent_bits=FrameLayout.of(elinks).latent_bits,
        layout=layout,
        layout_from=layout_from,
        latency_cycles=manifest.latency_cycles,
        encoder_latency_cycles=encoder_latency,
        clock_ns=manifest.clock_ns,
        vectors=len(calq),
        sources={k: s.stop - s.start for k, s in slices.items()},
        resources=resources,
        logic_sta=sta,
        pnr=pnr,
        example=_example(ref, calq, bx, vec, elinks),
        notes=_notes(ctx, encoder, elinks, real_note),
    )
    return [section, *levels]


def check_block(ctx: FlowContext) -> None:
    """What ``--block econt`` needs of the encoder (the chip's layout, e-links known): checked by the load step."""
    _elinks(ctx)
    if ctx.encoder is not None:
        _layout(ctx)


def _elinks(ctx: FlowContext) -> tuple[int, str]:
    from micae.train.econt_config import run_elinks

    if ctx.request.elinks is not None:
        return int(ctx.request.elinks), "--elinks"
    found = run_elinks(ctx.run_dir) if ctx.run_dir is not None else None
    if found is None:
        raise ConfigError(
            "--block econt needs the number of output e-links, and the model has no run config with econt.elinks",
            "pass --elinks L (2..5 for the chip's 16 latents of 3, 5, 7 or 9 bits)",
        )
    return int(found), "econt.elinks of the run's config.yaml"


def _run_dataset(ctx: FlowContext) -> dict:
    import yaml

    path = ctx.run_dir / "config.yaml" if ctx.run_dir is not None else None
    if path is None or not path.is_file():
        return {}
    return (yaml.safe_load(path.read_text()) or {}).get("dataset") or {}


def _layout(ctx: FlowContext) -> tuple[str, str]:
    from micae.data.geometry import arrangement_shape

    shape = tuple(int(v) for v in ctx.exact_encoder.input_shape)
    shape = shape if len(shape) == 3 else (*shape, 1)
    named = _run_dataset(ctx).get("layout")
    if isinstance(named, str) and named in LAYOUTS.values() and tuple(arrangement_shape(named)) == shape:
        return str(named), "dataset.layout of the run's config.yaml"
    if shape in LAYOUTS:
        return LAYOUTS[shape], f"the encoder's input shape {shape}"
    raise ConstraintError(
        f"--block econt: the encoder takes inputs of shape {shape}, not one of the chip's 48-cell layouts",
        "synthesize the block for an encoder of input shape (4, 4, 3) or (8, 8, 1)",
    )


def _real_rows(ctx: FlowContext) -> tuple[np.ndarray | None, str]:
    """The run's own ECON-T CSV (every row: the block is checked for exactness, not quality), when it has one."""
    from micae.data.econt_csv import load_econt_csv

    data = _run_dataset(ctx)
    path = Path(data["path"]) if data.get("name") == "econt-csv" and data.get("path") else None
    if path is None or not path.is_file():
        return None, "no real rows (the run was not trained on an ECON-T CSV that is still there)"
    charges, _ = load_econt_csv(path, keep_zero_rows=True)
    if np.any(charges != np.floor(charges)) or charges.max(initial=0) >= 1 << 22:
        return None, f"no real rows ({path.name} does not hold 22-bit integer CALQ)"
    return charges.astype(np.int64), f"real rows: every row of {path.name} (the run's dataset file)"


def _crosscheck_rows(edge: int, n: int, seed: int) -> np.ndarray:
    """Every edge row, then random others up to CROSSCHECK_ROWS (the first SHIPPED_ROWS ship beside the RTL)."""
    rest = np.arange(edge, n)
    k = min(len(rest), max(CROSSCHECK_ROWS - edge, 0))
    extra = np.sort(np.random.default_rng(seed).choice(rest, size=k, replace=False)) if k else rest[:0]
    return np.concatenate([np.arange(min(edge, n)), extra]).astype(np.int64)


def _integer_level(ctx: FlowContext, layout: str, vec: VectorSet, ref) -> LevelResult:
    from micae.data.geometry import arrange
    from micae.flow.steps.vectors import qkeras_latents
    from micae.verify.compare import compare_codes, values_to_codes

    with progress(f"econt block: QKeras on the block's {len(ref.raw)} normalised inputs"):
        x = arrange(ref.raw / 128.0, layout).astype(np.float32)
        expected = values_to_codes(qkeras_latents(ctx.keras_model, x), ctx.exact_encoder.latent_type.frac)
    comparison = Comparison(**compare_codes(expected, ref.latents))
    return level_from_comparison("block_integer_model", vec, comparison)


def _rtl_levels(folder: Path, vec: VectorSet, rows: np.ndarray) -> list[LevelResult]:
    from micae.verify.econt_block import simulate_block

    calq, bx, words = vec.input_codes[:, :48], vec.input_codes[:, 48], vec.expected_codes
    with progress(f"econt block: Verilator on {len(words)} vectors"):
        ver = simulate_block(folder, calq, bx, words)
    with progress(f"econt block: Icarus cross-check on {len(rows)} vectors"):
        ica = simulate_block(folder, calq[rows], bx[rows], words[rows], simulator="icarus")
    ica = ica.model_copy(
        update={
            "mismatch_rows": [int(rows[r]) for r in ica.mismatch_rows or []],
            "first_mismatches": [[int(rows[m[0]]), *m[1:]] for m in ica.first_mismatches],
        }
    )
    return [
        level_from_comparison("block_rtl", vec, ver),
        level_from_comparison("block_rtl_crosscheck", vec, ica, subset="every edge vector + random"),
    ]


def _hardware(ctx: FlowContext, folder: Path, harness: str):
    from micae.rtl.sta import logic_sta_and_resources

    req = ctx.request
    resources = sta = pnr = None
    if req.rtl_resources:
        with progress("econt block: yosys synth_xilinx + logic STA"):
            sta, resources = logic_sta_and_resources(folder, "econt_block", req.options.part, req.options.clock_ns)
    if req.pnr != "off":
        from micae.rtl.pnr import place_and_route

        with progress(f"econt block: place and route ({req.pnr}, nextpnr)"):
            pnr = place_and_route(
                folder,
                harness,
                family=req.pnr,
                device=req.pnr_device,
                clock_ns=req.options.clock_ns,
                seed=req.pnr_seed,
                work_dir=ctx.fw_out / "econt_block_pnr",
            )
        pnr = pnr.model_copy(update={"work_dir": "econt_block_pnr"})
    return resources, sta, pnr


def _example(ref, calq: np.ndarray, bx: np.ndarray, vec: VectorSet, elinks: int) -> FrameExample:
    """A real wafer when there is one (the first with charge, sum below 2^22), else a random one, else an edge row."""
    from micae.econt.block import frame_fields

    lit = np.flatnonzero((ref.module_sum > 0) & (ref.module_sum < 1 << 22))  # inside the chip's design range
    for name in ("real", "random", "msb_0_21"):
        s = vec.slices.get(name)
        pick = lit[(lit >= s.start) & (lit < s.stop)] if s else lit[:0]
        if len(pick):
            row = int(pick[0])
            break
    else:
        row = 0
    fields = [FrameField(name=f.name, value=int(f.value), width=f.width) for f in frame_fields(ref.words[row], elinks)]
    return FrameExample(
        row=row,
        source=vec.source_of(row),
        bx=int(bx[row]),
        calq=calq[row].tolist(),
        module_sum=int(ref.module_sum[row]),
        msb=int(ref.msb[row]),
        raw=ref.raw[row].tolist(),
        latents=ref.latents[row].tolist(),
        fields=fields,
        words=[int(w) for w in ref.words[row]],
    )


def _notes(ctx: FlowContext, encoder, elinks: int, real_note: str) -> list[str]:
    from micae.econt.block import FrameLayout

    bits, width = FrameLayout.of(elinks).latent_bits, encoder.latent_type.width
    cut = (
        f"the encoder's latents are already {bits} bits: passed through"
        if width == bits
        else f"latents cut to the top {bits} of their {width} bits (the keep-mask as CMSSW's bitsPerLink; "
        "the emulator sets no default)"
    )
    notes = [
        "normaliser and 5E4M sum as the chip's converter (datapath doc B1, B2: truncation, emulator form, not "
        "CMSSW's rounding); the module sum is kept at full width (28 bits) as the converter's C model",
        cut,
        "BX_CNT: 31 at BX = 0 (orbit marker), else BX mod 16 (5-bit header as the emulator; the Ecoder README "
        "says 4 bits)",
        real_note,
    ]
    norm = _run_dataset(ctx).get("normalisation")
    if norm not in (None, "chip"):
        msg = f"the run was trained with normalisation {norm!r}; the block feeds the chip's (truncated) inputs"
        info(f"warning: {msg}")
        notes.append(msg)
    return notes
