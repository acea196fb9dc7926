"""The registry of layer handlers, keyed by Keras class name."""

from __future__ import annotations

from collections.abc import Callable

HANDLERS: dict[str, Callable] = {}
"""Keras class name (or ``onnx:<op_type>`` for a QONNX node) -> ``handler(step, lowering)``; filled by importing
:mod:`micae.graph.handlers`."""

ONNX_PREFIX = "onnx:"


def handler(*class_names: str) -> Callable:
    """Register ``fn`` as the reader of the given Keras layer classes."""

    def register(fn: Callable) -> Callable:
        for name in class_names:
            if name in HANDLERS:
                raise ValueError(f"two handlers for Keras layer class {name!r}")
            HANDLERS[name] = fn
        return fn

    return register


def supported_layers() -> list[str]:
    import micae.graph.handlers  # noqa: F401  (registers every handler)

    return sorted(name for name in HANDLERS if not name.startswith(ONNX_PREFIX))


def supported_onnx_ops() -> list[str]:
    """The ONNX op types the QONNX front end reads (:mod:`micae.graph.onnx_front`)."""
    import micae.graph.handlers  # noqa: F401

    return sorted(name.removeprefix(ONNX_PREFIX) for name in HANDLERS if name.startswith(ONNX_PREFIX))


def get_handler(class_name: str) -> Callable | None:
    import micae.graph.handlers  # noqa: F401

    return HANDLERS.get(class_name)
