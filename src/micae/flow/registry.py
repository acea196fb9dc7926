"""The synthesize flow as registered steps, in order. Adding a verification level or a route is one module in
:mod:`micae.flow.steps` and one line here (see DEVELOPERS.md, "Adding a verification level or a route").

``CHECK_STEPS`` run before anything is written (a model or data error leaves no output folder behind);
``BUILD_STEPS`` write into the staged ``hls/<name>.incomplete`` and ``firmware/<name>.incomplete``.
"""

from __future__ import annotations

from micae.flow.runner import Step
from micae.flow.steps import csim, econt_block, econt_block_hls, hls, load, rtl, timing, vectors, vendor

CHECK_STEPS: tuple[Step, ...] = (
    Step("load", load.run),
    Step("vectors", vectors.run),
)

BUILD_STEPS: tuple[Step, ...] = (
    Step("hls", hls.run, needs=()),
    Step("csim", csim.run, needs=("hls",)),
    Step("vendor", vendor.run, needs=("csim",)),
    Step("rtl", rtl.write, needs=()),
    # place-and-route may cut the RTL again (timing closure), so the RTL levels and Vivado read the final cut
    Step("pnr", timing.place_and_route, needs=("rtl",)),
    Step("rtl_sim", rtl.simulate, needs=("pnr",)),
    Step("rtl_crosscheck", rtl.crosscheck, needs=("pnr",)),
    Step("rtl_resources", rtl.resources, needs=("pnr",)),
    Step("vivado_timing", timing.vivado, needs=("pnr",)),
    Step("econt_block", econt_block.run, needs=("pnr",)),  # --block econt: the chip block around the final cut
    Step("econt_block_hls", econt_block_hls.run, needs=("hls",)),  # --block econt: the block's HLS C++, g++ + vendor
)
