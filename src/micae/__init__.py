"""micae: quantization-aware encoders to verified FPGA firmware.

Data flows one way: ``data -> models/train -> hls -> verify/rtl -> report``.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "convert", "train"]


def __getattr__(name: str):
    """``micae.convert`` and ``micae.train`` (:mod:`micae.api`), imported when first used: ``import micae`` stays
    light (no TensorFlow)."""
    if name in ("convert", "train", "Converted"):
        from micae import api

        return getattr(api, name)
    raise AttributeError(f"module 'micae' has no attribute {name!r}")
