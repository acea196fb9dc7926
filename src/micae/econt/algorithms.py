"""The ECON-T chip's non-ML algorithms at L e-links, and the literature's forms: one entry point each.

API (stable; ``micae evaluate`` and training build on it):

* ``chip_algorithms(calq, elinks, *, module="LD", drop_lsb=None, threshold=47, use_sum=False,
  buffer_t1=None, buffer_t2=None, buffer_t3=None, names=None) -> dict[str, Transmission]``
* ``literature_algorithms(calq, elinks, *, names=None) -> dict[str, Transmission]``

``names`` (optional) restricts the work to those algorithms; a name that does not fit at L is simply absent.
* ``frame_fields(name, calq_row, elinks, *, bx=1, preceding=None, **options) -> list[Field]`` and
  ``frame_words(...) -> list[int]``: one wafer's frame as named fields, and as its 32-bit e-link words.

``calq`` is ``(N, 48)`` full-precision integer CALQ (22-bit) in CALQ column (CMSSW ``TC_Number``) order, the
order of the ``CALQ_0..47`` CSV columns. Every :class:`~micae.econt.transmission.Transmission` comes back in
that order (the chip's channel order is applied inside, :mod:`micae.econt.mapping`).

Names (the evaluation names), each present only where the chip allows it at L:

| name | what | where |
|---|---|---|
| ``bc`` | Best Choice, n = 1/4/6/9/14/18/.. cells (:mod:`~micae.econt.best_choice`) | L = 1..13 |
| ``stc4`` | STC4_9: first 2/5/8/11/12 2x2 groups, 9-bit 5E4M sums (:mod:`~micae.econt.super_trigger_cells`) | L <= 5 |
| ``stc16`` | STC16_9: first 2/3 HGCROC groups, 9-bit 5E4M sums | L <= 2 |
| ``stc4_7`` | STC4_7: first 3/6/10/12 2x2 groups, 7-bit 4E3M of (sum >> DropLSB) | L <= 4 |
| ``ctc4_7`` | CTC4_7: first 4/8/12 2x2 groups, 7-bit codes, no position | L <= 3 |
| ``threshold`` | Threshold-Sum >= THRESHV, variable frame, buffered (:mod:`~micae.econt.threshold_sum`) | every L |
| ``repeater`` | all 48 cells as 7-bit codes (:mod:`~micae.econt.repeater`) | L >= 11 |
| ``lit_bc``, ``lit_stc16``, ``lit_thr_1p35``, ``lit_thr_2p0`` | the literature's forms | lit_bc: L = 2..5 |

DropLSB comes from the module type: ``module="LD"`` (DropLSB 1; 8,802 of the 10,392 modules are LD) or
``"HD"`` (DropLSB 3), or is set directly with ``drop_lsb`` (0..4). It applies to the Best Choice, Threshold-Sum,
Repeater and 7-bit STC codes; not to thresholds, the 9-bit STC sums or the Threshold-Sum sum field.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from micae.econt import best_choice as bc
from micae.econt import frame, links, literature, repeater, threshold_sum
from micae.econt import super_trigger_cells as stc
from micae.econt.mapping import tc_mapping
from micae.econt.transmission import Transmission, make
from micae.errors import ConfigError, DataError

DROP_LSB = {"LD": 1, "HD": 3}
CALQ_MAX = (1 << 22) - 1
DEFAULT_THRESHOLD = 47  # THRESHV: 1.35 MIP_T at 35.1 CALQ counts per MIP_T (emulator getGeom.py:27-30)
CHIP_STC = {"stc4": "stc4_9", "stc16": "stc16_9", "stc4_7": "stc4_7", "ctc4_7": "ctc4_7"}
CHIP_NAMES = ("bc", "stc4", "stc16", "stc4_7", "ctc4_7", "threshold", "repeater")
LITERATURE_NAMES = ("lit_bc", "lit_stc16", "lit_thr_1p35", "lit_thr_2p0")


def check_calq(calq: np.ndarray) -> np.ndarray:
    """``(N, 48)`` CALQ as int64, or a DataError naming the problem."""
    c = np.asarray(calq)
    if c.ndim != 2 or c.shape[1] != 48:
        raise DataError(f"ECON-T algorithms: expected (N, 48) CALQ, got shape {c.shape}", "pass one row per wafer")
    if c.dtype.kind == "f" and (not np.all(np.isfinite(c)) or np.any(c != np.floor(c))):
        raise DataError(
            "ECON-T algorithms: CALQ must be integers (the chip's trigger charges)",
            "pass the integer CALQ_0..47 columns, not normalised charges",
        )
    if c.dtype.kind not in "iuf" and c.size:
        raise DataError(f"ECON-T algorithms: CALQ of type {c.dtype} is not numeric", "pass integer charges")
    c = c.astype(np.int64)
    if c.size and (c.min() < 0 or c.max() > CALQ_MAX):
        raise DataError(
            f"ECON-T algorithms: CALQ must lie in 0..{CALQ_MAX} (22-bit), found {c.min()}..{c.max()}",
            "pass the chip's CALQ counts (35 counts ~ 1 transverse MIP)",
        )
    return c


def resolve_drop_lsb(module: str, drop_lsb: int | None) -> int:
    """DropLSB from the module type (LD 1, HD 3) unless given directly (0..4)."""
    if module not in DROP_LSB:
        raise ConfigError(f"module type {module!r} is unknown", "use 'LD' (DropLSB 1) or 'HD' (DropLSB 3)")
    if drop_lsb is None:
        return DROP_LSB[module]
    if isinstance(drop_lsb, bool) or not isinstance(drop_lsb, int | np.integer) or not 0 <= drop_lsb <= 4:
        raise ConfigError(f"drop_lsb = {drop_lsb!r}: the chip's DropLSB register takes 0..4", "use 0, 1, 2, 3 or 4")
    return int(drop_lsb)


def _thresholds_per_channel(threshold: int | np.ndarray) -> np.ndarray:
    thr = np.asarray(threshold)
    if thr.ndim == 0:
        thr = np.full(48, thr)
    if thr.shape != (48,) or thr.dtype.kind not in "iu" or (thr < 0).any():
        raise ConfigError(
            f"threshold {threshold!r}: THRESHV is one non-negative integer or 48 of them (CALQ counts)",
            "use e.g. 47 (1.35 MIP_T) or 70 (2.0 MIP_T)",
        )
    return thr.astype(np.int64)[tc_mapping().tc_of_channel]


def chip_algorithms(
    calq: np.ndarray,
    elinks: int,
    *,
    module: str = "LD",
    drop_lsb: int | None = None,
    threshold: int | np.ndarray = DEFAULT_THRESHOLD,
    use_sum: bool = False,
    buffer_t1: int | None = None,
    buffer_t2: int | None = None,
    buffer_t3: int | None = None,
    names: Collection[str] | None = None,
) -> dict[str, Transmission]:
    """Every chip algorithm that fits at ``elinks``, on ``(N, 48)`` CALQ (rows = consecutive bunch crossings)."""
    elinks = links.check_elinks(elinks)
    wanted = _wanted(names, CHIP_NAMES)
    calq = check_calq(calq)
    drop = resolve_drop_lsb(module, drop_lsb)
    buffer = threshold_sum.BufferThresholds.default(elinks, buffer_t1, buffer_t2, buffer_t3)
    mapping = tc_mapping()
    per_channel = mapping.to_channels(calq)
    out = {}
    if "bc" in wanted:
        out["bc"] = _best_choice(calq, per_channel, elinks, drop, module, use_sum)
    for name, kind in CHIP_STC.items():
        n_groups = stc.stc_groups_sent(kind, elinks)
        if n_groups is not None and name in wanted:
            out[name] = _stc(calq, per_channel, elinks, drop, name, kind, n_groups)
    if "threshold" in wanted:
        out["threshold"] = _threshold(calq, per_channel, elinks, drop, threshold, buffer, use_sum)
    if repeater.fits(elinks) and "repeater" in wanted:
        _, decoded = repeater.repeater(per_channel, drop)
        out["repeater"] = make(
            name="repeater", family="chip", elinks=elinks, calq=calq, recon=mapping.to_columns(decoded),
            bits=repeater.FRAME_BITS, bits_max=repeater.FRAME_BITS, sel=np.ones(len(calq), dtype=bool),
            words=repeater.FRAME_WORDS, drop_lsb=drop,
            description=f"Repeater (chip): BX_CNT(5) + all 48 cells as 4E3M of CALQ>>{drop} = 341 bits in 22 words; "
            "lower bin edge",
        )  # fmt: skip
    return out


def _wanted(names: Collection[str] | None, known: tuple[str, ...]) -> set[str]:
    if names is None:
        return set(known)
    if isinstance(names, str):
        names = [names]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ConfigError(f"unknown algorithm name(s) {', '.join(unknown)}", f"use any of: {', '.join(known)}")
    return set(names)


def _best_choice(calq, per_channel, elinks, drop, module, use_sum) -> Transmission:
    n = links.bc_cells(elinks)
    res = bc.best_choice(per_channel, n, drop, use_sum=use_sum)
    bits = bc.frame_bits(n)
    layout = f"{n} x 6-bit addresses" if n < bc.MAP_FROM else "48-bit map"
    return make(
        name="bc", family="chip", elinks=elinks, calq=calq, recon=tc_mapping().to_columns(res.recon), bits=bits,
        bits_max=bits, sel=res.sel, words=2 * elinks, drop_lsb=drop,
        description=f"Best Choice (chip): the {n} largest of min(CALQ>>{drop}, 2^18-1) ({module} DropLSB {drop}) "
        f"ranked by the chip's 48-input Batcher network (ties in network order, not by channel); "
        f"BX(4) | {'all' if use_sum else 'not-sent'} sum 5E3M(8) | {layout} | {n} x 4E3M codes = {bits} of "
        f"{32 * elinks} bits; lower bin edge << {drop}",
    )  # fmt: skip


def _stc(calq, per_channel, elinks, drop, name, kind, n_groups) -> Transmission:
    fmt = stc.STC_FORMATS[kind]
    res = stc.super_trigger_cells(per_channel, fmt, n_groups, drop)
    recon = tc_mapping().to_columns(res.recon)
    bits = fmt.frame_bits(n_groups)
    code = "9-bit 5E4M of the sum (no drop)" if not fmt.drops_lsb else f"7-bit 4E3M of sum>>{drop}"
    where = (
        f"{fmt.position_bits}-bit position of the largest cell (ties: highest index in the group), "
        if fmt.position_bits
        else "no position (the decoded sum is shared equally by the 4 cells), "
    )
    return make(
        name=name, family="chip", elinks=elinks, calq=calq, recon=recon, bits=bits, bits_max=bits, sel=res.sel,
        words=2 * elinks, drop_lsb=drop if fmt.drops_lsb else 0,
        lossless=None if fmt.position_bits else res.sel,
        description=f"{kind.upper()} (chip): the first {n_groups} of the {48 // fmt.size} groups of {fmt.size} "
        f"post-MUX channels by index (no energy ranking); per group {where}{code}; BX(4) header, {bits} of "
        f"{32 * elinks} bits; lower bin edge",
    )  # fmt: skip


def _threshold(calq, per_channel, elinks, drop, threshold, buffer, use_sum) -> Transmission:
    thr = _thresholds_per_channel(threshold)
    res = threshold_sum.threshold_sum(per_channel, thr, drop, elinks, buffer=buffer, use_sum=use_sum)
    shown = int(thr[0]) if (thr == thr[0]).all() else "THRESHV_i"
    return make(
        name="threshold", family="chip", elinks=elinks, calq=calq, recon=tc_mapping().to_columns(res.recon),
        bits=res.bits, bits_max=int(res.bits.max(initial=threshold_sum.HEAD_BITS)), sel=res.sel, words=res.words,
        drop_lsb=drop, truncated=res.truncated,
        description=f"Threshold-Sum (chip): cells with CALQ >= {shown} as 4E3M of CALQ>>{drop}, variable frame "
        f"(16 + 3 + 13N bits for N < 8, 64 + 7N from 8) through the 400-word buffer (T1 {buffer.t1}, "
        f"T2 {buffer.t2}, T3 {buffer.t3}, {2 * elinks} words out per BX; rows = consecutive BXs); a truncated "
        "wafer (16-bit word) decodes empty; lower bin edge",
    )  # fmt: skip


def literature_algorithms(
    calq: np.ndarray, elinks: int, *, names: Collection[str] | None = None
) -> dict[str, Transmission]:
    """The literature's forms at ``elinks`` (unquantised, CALQ column order; see :mod:`micae.econt.literature`)."""
    elinks = links.check_elinks(elinks)
    wanted = _wanted(names, LITERATURE_NAMES)
    calq = check_calq(calq)
    out: dict[str, Transmission] = {}
    common = {"family": "literature", "elinks": elinks, "calq": calq, "words": 2 * elinks, "drop_lsb": 0}
    if elinks in links.LIT_BC_CELLS and "lit_bc" in wanted:
        n = links.LIT_BC_CELLS[elinks]
        recon, sel = literature.top_cells(calq, n)
        out["lit_bc"] = make(
            name="lit_bc", recon=recon, bits=bc.frame_bits(n), bits_max=bc.frame_bits(n), sel=sel, **common,
            description=f"Best Choice (literature, Ecoder): the {n} largest cells with exact CALQ, no codes, "
            f"no sorting network (stable sort: ties keep the higher TC_Number); bits nominal ({n}-cell BC frame)",
        )  # fmt: skip
    if "lit_stc16" in wanted:
        recon, sel = literature.stc16_all_groups(calq)
        out["lit_stc16"] = make(
            name="lit_stc16", recon=recon, bits=43, bits_max=43, sel=sel, **common,
            description="STC16 (literature, Ecoder stc16=True): all 3 groups of 16 on every module, exact sums "
            "on the largest cell (ties: lowest TC_Number); bits nominal (STC16_9 frame, 43)",
        )  # fmt: skip
    for name, mip_t in literature.LITERATURE_THRESHOLDS.items():
        if name not in wanted:
            continue
        keep = literature.above_threshold(calq, mip_t)
        bits = threshold_sum.frame_bits(keep.sum(axis=1))
        out[name] = make(
            name=name, recon=np.where(keep, calq, 0), bits=bits, bits_max=int(bits.max(initial=16)),
            sel=~((calq > 0) & ~keep).any(axis=1), **{**common, "words": -(-bits // 16)},
            description=f"Threshold (literature, Ecoder): cells with CALQ/35 > {mip_t} MIP_T with exact CALQ, "
            "no frame limit, no buffer; bits nominal (the Threshold-Sum frame of those cells)",
        )  # fmt: skip
    return out


def frame_fields(
    name: str,
    calq_row: np.ndarray,
    elinks: int,
    *,
    bx: int = 1,
    preceding: np.ndarray | None = None,
    module: str = "LD",
    drop_lsb: int | None = None,
    threshold: int | np.ndarray = DEFAULT_THRESHOLD,
    use_sum: bool = False,
    buffer_t1: int | None = None,
    buffer_t2: int | None = None,
    buffer_t3: int | None = None,
) -> list[frame.Field]:
    """One wafer's chip frame as named fields, MSB first, before padding.

    ``preceding`` (``(M, 48)`` CALQ of the bunch crossings before, same module) fills the Threshold-Sum buffer,
    so the frame can come out truncated (``buffer_t1..3`` as in :func:`chip_algorithms`); it is ignored by the
    fixed-length formats.
    """
    elinks = links.check_elinks(elinks)
    row = check_calq(np.asarray(calq_row).reshape(1, 48))
    drop = resolve_drop_lsb(module, drop_lsb)
    per_channel = tc_mapping().to_channels(row)
    if name == "bc":
        return bc.frame_fields(bc.best_choice(per_channel, links.bc_cells(elinks), drop, use_sum=use_sum), 0, bx)
    if name in CHIP_STC:
        kind = CHIP_STC[name]
        n_groups = stc.stc_groups_sent(kind, elinks)
        if n_groups is None:
            raise ConfigError(f"{name} does not fit on {elinks} e-links", "see links.STC_COUNTS for where it fits")
        fmt = stc.STC_FORMATS[kind]
        return stc.frame_fields(stc.super_trigger_cells(per_channel, fmt, n_groups, drop), fmt, 0, bx)
    if name == "threshold":
        before = np.zeros((0, 48), dtype=np.int64) if preceding is None else check_calq(preceding)
        rows = tc_mapping().to_channels(np.concatenate([before, row]))
        buffer = threshold_sum.BufferThresholds.default(elinks, buffer_t1, buffer_t2, buffer_t3)
        thr = _thresholds_per_channel(threshold)
        res = threshold_sum.threshold_sum(rows, thr, drop, elinks, buffer=buffer, use_sum=use_sum)
        return threshold_sum.frame_fields(res, len(rows) - 1, bx)
    if name == "repeater":
        if not repeater.fits(elinks):
            raise ConfigError(f"the Repeater frame (22 words) does not fit on {elinks} e-links", "use L >= 11")
        return repeater.frame_fields(repeater.repeater(per_channel, drop)[0][0], bx)
    raise ConfigError(f"no chip frame called {name!r}", f"use one of: {', '.join(CHIP_NAMES)}")


def frame_words(name: str, calq_row: np.ndarray, elinks: int, *, bx: int = 1, **options) -> list[int]:
    """One wafer's frame as 32-bit e-link words ``(w[2k] << 16) | w[2k+1]`` of its 16-bit words.

    Fixed-length frames (Best Choice, STC) give exactly L words, zero-padded. The Threshold-Sum frame gives
    its 16-bit words in pairs (an odd last word paired with the idle word); the buffer sends 2L of them per
    bunch crossing. The Repeater gives its 22 words as 11 (all of them leave only at L >= 11).
    """
    fields = frame_fields(name, calq_row, elinks, bx=bx, **options)
    if name == "bc" or name in CHIP_STC:
        return frame.to_elink_words(frame.to_words16(fields, 32 * elinks))
    return frame.to_elink_words(frame.to_words16(fields), fill=frame.idle_word(bx))
