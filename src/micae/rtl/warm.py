"""Compile da4ml's numba kernels once, ahead of the first synthesis: ``python -m micae.rtl.warm``.

da4ml's CMVM solver is numba-jitted with ``cache=True``: the first trace in a fresh environment compiles
it and stores the machine code in da4ml's ``__pycache__`` (or ``$NUMBA_CACHE_DIR``); later runs load it
in under a second. The compile took 124-143 s on 2 quiet cores (bench/README.md, "Where the seconds
go"), and in a fresh ``make demo`` it landed inside the synthesize step's "trace, pipeline, write
Verilog" (118 s of the 528 s). Calling ``da4ml.cmvm.solve`` on a float matrix alone does not help: the
kernels are compiled per argument type, so this traces a tiny encoder the way ``write_rtl`` does.
``make demo`` runs it beside training, so the compile overlaps the training.
"""

from __future__ import annotations

import time

import numpy as np

from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage
from micae.fixed.types import FixedType


def tiny_encoder() -> IntegerEncoder:
    """Four 8-bit inputs -> dense 3 -> unsigned 8-bit -> dense 2 -> signed 9-bit: the stage kinds of an encoder."""
    first = AffineStage(
        name="d1",
        kind="dense",
        matrix=np.array([[3, -5, 7], [1, 2, -3], [-4, 6, 5], [2, -1, 1]]),
        weight_frac=5,
        bias=np.array([3, -2, 1]),
        bias_frac=13,
        out=FixedType(8, 6, False),
        quantizer_name="quantized_relu",
    )
    second = AffineStage(
        name="d2",
        kind="dense",
        matrix=np.array([[5, -3], [-7, 2], [1, 6]]),
        weight_frac=5,
        bias=np.array([-9, 4]),
        bias_frac=9,
        out=FixedType(9, 6, True),
        quantizer_name="quantized_bits",
    )
    return IntegerEncoder(
        name="warm",
        input_shape=(4,),
        input_type=FixedType(8, 8, False),
        input_quantizer_name="quantized_bits",
        stages=(first, second),
    )


def warm() -> float:
    """Trace :func:`tiny_encoder` with da4ml (compiling its kernels where no cache holds them); seconds."""
    from micae.rtl.trace import trace_encoder

    start = time.monotonic()
    trace_encoder(tiny_encoder())
    return time.monotonic() - start


if __name__ == "__main__":
    print(f"micae: da4ml kernels ready ({warm():.1f} s)")
