"""micae: quantization-aware encoders to verified FPGA firmware.

Data flows one way: ``data -> models/train -> hls -> verify/rtl -> report``.
"""


def _version() -> str:
    """The installed package's version (pyproject.toml's, via its metadata); ``0+unknown`` for a source tree that
    was never installed (``pip install -e .`` gives it one), rather than a number that may be stale."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("micae")
    except PackageNotFoundError:
        return "0+unknown"


__version__ = _version()

__all__ = ["__version__", "convert", "train"]


def __getattr__(name: str):
    """``micae.convert`` and ``micae.train`` (:mod:`micae.api`), imported when first used: ``import micae`` stays
    light (no TensorFlow)."""
    if name in ("convert", "train", "Converted"):
        from micae import api

        return getattr(api, name)
    raise AttributeError(f"module 'micae' has no attribute {name!r}")
