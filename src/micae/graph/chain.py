"""Cut the hardware encoder out of a (possibly bigger) Keras model and replay it as a clean chain.

A user's model may be a conditional autoencoder: the image goes through the
encoder, and condition inputs (eta, wafer type, ...) join after the latent
(a ``Concatenate``). The encoder is the single-tensor path from the image input
to the last quantizer before that join (or between the layers the user names).
It is replayed on a fresh ``Input`` with the same layer objects (same weights),
so QKeras predicts the reference latents and hls4ml converts exactly this path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from micae.errors import ConstraintError

QUANTIZING = ("QActivation", "TFOpLambda")


@dataclass
class Step:
    """One layer call of the chain: the layer and its non-tensor call arguments."""

    layer: object
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def cls(self) -> str:
        return type(self.layer).__name__

    @property
    def function(self) -> str:
        return str(self.layer.get_config().get("function", ""))


def _model_nodes(model, layer) -> list:
    keys = getattr(model, "_network_nodes", set())
    return [node for i, node in enumerate(layer.inbound_nodes) if f"{layer.name}_ib-{i}" in keys]


def _tensor_inputs(node) -> list:
    return list(node.keras_inputs)


def _parent(node):
    ins = _tensor_inputs(node)
    if len(ins) != 1:
        names = [t._keras_history.layer.name for t in ins]
        raise ConstraintError(
            f"layer '{node.layer.name}' takes {len(ins)} tensors ({names}); the encoder must be a single path",
            "name the encoder's first and last layers (input_layer=..., output_layer=...)",
        )
    return ins[0]._keras_history.layer


def _layer(model, name: str, option: str):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ConstraintError(
            f"{option} '{name}' is not a layer of model '{model.name}'",
            f"use one of: {', '.join(layer.name for layer in model.layers)}",
        ) from None


def _consumers(model, layer) -> list:
    out = []
    for other in model.layers:
        for node in _model_nodes(model, other):
            if any(t._keras_history.layer is layer for t in _tensor_inputs(node)):
                out.append((other, node))
    return out


def image_input(model):
    """The input the encoder reads: the one with the most dimensions, then the most elements."""
    inputs = [t._keras_history.layer for t in model.inputs]
    return max(inputs, key=lambda layer: (len(_shape(layer)), int(np.prod([d or 1 for d in _shape(layer)]))))


def _shape(layer) -> tuple:
    shape = layer.output_shape
    shape = shape[0] if isinstance(shape, list) else shape
    return tuple(shape[1:])


def _is_quantizing(layer) -> bool:
    if type(layer).__name__ in QUANTIZING:
        return True
    act = getattr(layer, "activation", None)
    return type(layer).__name__ in ("QConv2D", "QDense", "QConv2DBatchnorm") and hasattr(act, "bits")


def _forward_output(model, start):
    """Walk from ``start`` along single consumers to the last quantizing layer before a join or the end."""
    layer, last_quant = start, None
    while True:
        users = _consumers(model, layer)
        if len(users) != 1 or len(_tensor_inputs(users[0][1])) != 1:
            break
        layer = users[0][0]
        if hasattr(layer, "layers"):  # a nested model on the path: it is the encoder
            return layer
        if _is_quantizing(layer):
            last_quant = layer
    if last_quant is None:
        raise ConstraintError(
            f"no quantizer on the path from input '{start.name}' of model '{model.name}'",
            "name the encoder's last layer with output_layer=...",
        )
    return last_quant


def find_chain(model, input_layer: str | None = None, output_layer: str | None = None) -> tuple[object, list]:
    """``(first layer, [(layer, node), ...])``: the encoder path of ``model``, input excluded.

    A nested single-input model met on the default path is the encoder (returned as the only step).
    """
    start = _layer(model, input_layer, "input_layer") if input_layer else image_input(model)
    if output_layer:
        end = _layer(model, output_layer, "output_layer")
    elif len(model.inputs) == 1 and len(model.outputs) == 1 and input_layer is None:
        end = model.outputs[0]._keras_history.layer
    else:
        end = _forward_output(model, start)
    chain = []
    layer = end
    while layer is not start:
        nodes = _model_nodes(model, layer)
        if type(layer).__name__ == "InputLayer" or not nodes:
            raise ConstraintError(
                f"layer '{end.name}' is not reached from '{start.name}' along a single path",
                "check input_layer / output_layer",
            )
        if len(nodes) != 1:
            raise ConstraintError(f"layer '{layer.name}' is called {len(nodes)} times", "name the encoder's layers")
        chain.append((layer, nodes[0]))
        layer = _parent(nodes[0])
    chain.reverse()
    return start, chain


def replay(start, chain: list, name: str):
    """A fresh single-input model calling the chain's layers (shared weights); returns it and its steps."""
    import tensorflow as tf

    is_input = type(start).__name__ == "InputLayer"
    in_name = start.name if is_input else f"{start.name}_out"
    x_in = tf.keras.Input(shape=_shape(start), name=in_name)
    x, steps = x_in, []
    for layer, node in chain:
        args = list(node.call_args)
        kwargs = dict(node.call_kwargs)
        args = [x if _is_tensor(a) else a for a in args]
        kwargs = {k: (x if _is_tensor(v) else v) for k, v in kwargs.items()}
        steps.append(Step(layer, tuple(a for a in args if a is not x), {k: v for k, v in kwargs.items() if v is not x}))
        x = layer(*args, **kwargs)
    return tf.keras.Model(x_in, x, name=name), steps


def _is_tensor(value) -> bool:
    return hasattr(value, "_keras_history")
