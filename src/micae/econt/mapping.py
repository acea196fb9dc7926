"""The chip's trigger-cell numbering: CALQ columns (CMSSW ``TC_Number``) to the chip's channels (datapath doc A2).

The table is the emulator's ``Utils/LDM_TC_Mapping.csv`` (package data ``micae/data/econt_tc_mapping.csv``,
source in its sidecar README). micae models the chip with its **default MUX selects** (emulator
``MuxFixCalib.py:21-30``): the cell in CALQ column ``t`` enters the non-ML algorithms on channel
``ECON_TC_Number_PostMux[t]``. In that order

* STC4 group ``k`` is channels ``4k .. 4k+3`` and the 2-bit position is ``STC4_Idx`` (= channel mod 4);
* STC16 group ``k`` is channels ``16k .. 16k+15`` (one HGCROC) and the 4-bit position is ``STC16_Idx``;
* Best Choice ranks the channels with its sorting network (its tie order depends on the channel order), and
  Best Choice / Threshold-Sum addresses and maps are channel numbers.

(The autoencoder instead runs with the MUX in ``TC_Number`` order, the emulator's ``AEMuxOrdering``; one MUX
setting cannot serve both, datapath doc open point 9.)
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from micae.errors import DataError

N_CHANNELS = 48
COLUMNS = (
    "TC_Number",
    "ECON_TC_Number_PostMux",
    "HGCROC",
    "STC4_Number",
    "STC4_Idx",
    "STC16_Number",
    "STC16_Idx",
)


@dataclass(frozen=True)
class TCMapping:
    """Per CALQ column ``t`` (TC_Number): its post-MUX channel and STC groups; and the inverse permutation."""

    channel_of_tc: np.ndarray  # (48,) post-MUX channel of CALQ column t
    tc_of_channel: np.ndarray  # (48,) CALQ column on channel c
    stc4_number: np.ndarray  # (48,) per CALQ column
    stc4_idx: np.ndarray
    stc16_number: np.ndarray
    stc16_idx: np.ndarray

    def to_channels(self, calq: np.ndarray) -> np.ndarray:
        """``(N, 48)`` in CALQ column order -> the same values in channel (post-MUX) order."""
        return calq[:, self.tc_of_channel]

    def to_columns(self, per_channel: np.ndarray) -> np.ndarray:
        """``(N, 48)`` in channel order -> CALQ column order (the inverse of :meth:`to_channels`)."""
        return per_channel[:, self.channel_of_tc]


def parse_mapping(text: str, source: str = "econt_tc_mapping.csv") -> TCMapping:
    """Parse the table and check what the chip relies on (a permutation; post = 4 STC4 + idx = 16 STC16 + idx)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if len(rows) != N_CHANNELS or missing:
        raise DataError(
            f"{source}: expected 48 rows with columns {', '.join(COLUMNS)}; got {len(rows)} rows, missing {missing}",
            "reinstall micae; the package data file is damaged",
        )
    table = {c: np.array([int(r[c]) for r in rows], dtype=np.int64) for c in COLUMNS}
    order = np.argsort(table["TC_Number"])
    table = {c: v[order] for c, v in table.items()}
    post = table["ECON_TC_Number_PostMux"]
    ok = (
        np.array_equal(table["TC_Number"], np.arange(N_CHANNELS))
        and np.array_equal(np.sort(post), np.arange(N_CHANNELS))
        and np.array_equal(post, 4 * table["STC4_Number"] + table["STC4_Idx"])
        and np.array_equal(post, 16 * table["STC16_Number"] + table["STC16_Idx"])
    )
    if not ok:
        raise DataError(
            f"{source}: the channel numbers are not a permutation of 0..47 matching the STC4 / STC16 groups",
            "reinstall micae; the package data file is damaged",
        )
    return TCMapping(
        channel_of_tc=post,
        tc_of_channel=np.argsort(post),
        stc4_number=table["STC4_Number"],
        stc4_idx=table["STC4_Idx"],
        stc16_number=table["STC16_Number"],
        stc16_idx=table["STC16_Idx"],
    )


@lru_cache(maxsize=1)
def tc_mapping() -> TCMapping:
    """The chip's table from the package data (cached)."""
    text = resources.files("micae.data").joinpath("econt_tc_mapping.csv").read_text()
    return parse_mapping(text)


def stc_groups_tc(size: int) -> np.ndarray:
    """``(48 // size, size)`` CALQ columns of each STC group in the chip's group order, members by in-group index."""
    if size not in (4, 16):
        raise ValueError("STC groups have 4 or 16 cells")
    return tc_mapping().tc_of_channel.reshape(N_CHANNELS // size, size)
