"""Saving and *safely* loading QKeras models.

A Keras model file can carry code (``Lambda`` layers hold marshalled Python,
custom objects import arbitrary classes). micae reads the model's JSON config
first, without deserializing anything, and refuses any layer, activation or
quantizer outside a fixed list before Keras sees the file.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from micae.errors import ConfigError, ConstraintError, UnsafeModelError

ALLOWED_LAYERS = {
    "InputLayer",
    "QActivation",
    "QConv2D",
    "QDense",
    "QConv2DTranspose",
    "QConv2DBatchnorm",
    "QBatchNormalization",
    "BatchNormalization",
    "LeakyReLU",
    "Conv2D",
    "Dense",
    "Conv2DTranspose",
    "Flatten",
    "Reshape",
    "Concatenate",
    "Activation",
    "Cropping2D",
    "Dropout",
    "GaussianNoise",
    "ReLU",
    "UpSampling2D",
    "ZeroPadding2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "TFOpLambda",
    "Functional",
    "Model",
    "Sequential",
}
ALLOWED_CALLABLES = {
    "quantized_bits",
    "quantized_relu",
    "quantized_po2",
    "quantized_relu_po2",
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
}
TF_OPS = (
    "math.multiply",
    "math.truediv",
    "math.floor",
    "math.minimum",
    "math.maximum",
    "math.add",
    "math.subtract",
    "__operators__.add",
)
"""TF-op layers (``TFOpLambda``, what Keras stores for ``z * 16`` or ``tf.math.floor(z)``) that may be
loaded: the per-eLink output tail. Keras resolves the name to a TF function; nothing else is accepted."""
QKERAS_NEWER_LAYERS = ("QDenseBatchnorm",)
"""QKeras layers of releases after the pinned 0.9.0 (they cannot be loaded with it)."""
CODE_CARRIERS = {"Lambda", "TimeDistributed", "Bidirectional", "RNN", "Wrapper"}
"""Standard layers that hold Python code or wrap another layer's config: never loaded."""
# A quantizer is stored as a call expression string; allow only literals as arguments.
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(\((?:[\s\w.,=+\-'\"]*)\))?\s*$")


def read_model_config(path: Path) -> dict:
    """The architecture JSON of a .h5 or .keras file, without building the model."""
    if not path.is_file():
        raise UnsafeModelError(f"model file {path} does not exist", "give the path of an .h5 or .keras file")
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as zf:
                return json.loads(zf.read("config.json"))
        import h5py

        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
            if raw is None:
                raise UnsafeModelError(
                    f"{path} holds no model architecture (weights only?)",
                    "save the whole model with model.save(path)",
                )
            return json.loads(raw if isinstance(raw, str) else raw.decode())
    except UnsafeModelError:
        raise
    except Exception as exc:  # h5py/zipfile/json raise many types for corrupt files
        raise UnsafeModelError(
            f"model file {path} is corrupt or truncated ({type(exc).__name__}: {exc})",
            "re-export the model, or copy the file again",
        ) from exc


def _check_callable(value, where: str) -> None:
    if isinstance(value, dict):
        cls = value.get("class_name", "")
        if cls not in ALLOWED_CALLABLES:
            raise UnsafeModelError(
                f"{where} uses {cls!r}, which micae does not load", "use QKeras quantizers or built-in activations"
            )
        return
    if value is None or not isinstance(value, str):
        return
    m = _CALL.match(value)
    if not m or m.group(1) not in ALLOWED_CALLABLES:
        raise UnsafeModelError(
            f"{where} = {value!r} is not a known quantizer or activation",
            "use quantized_bits/quantized_relu or a built-in activation",
        )


def check_model_config(config: dict, where: str = "model") -> None:
    """Raise UnsafeModelError for any layer, activation or quantizer outside the allowed set."""
    cls = config.get("class_name")
    inner = config.get("config", {})
    name = inner.get("name", "?") if isinstance(inner, dict) else "?"
    if _hgq_layer(config):
        pass  # HGQ's own classes (an installed library, no code in the file); the guard decides support
    elif cls not in ALLOWED_LAYERS and cls in qkeras_layer_classes():
        raise ConstraintError(qkeras_unsupported(name, cls, where), qkeras_fix(cls))
    elif cls not in ALLOWED_LAYERS and (cls in CODE_CARRIERS or not _standard_keras_layer(cls)):
        what = "carries Python code" if cls == "Lambda" else "is not a supported layer (a custom or wrapper class)"
        raise UnsafeModelError(
            f"layer '{name}' ({cls}) in {where} {what}; the file was not loaded, none of its code ran",
            "rebuild the model from QKeras and standard Keras layers only (no Lambda or custom layers)",
        )
    if not isinstance(inner, dict):
        return
    if cls == "TFOpLambda":
        _check_tf_op(config, name, where)
    for key in inner:
        if key in ("activation", "quantizer") or key.endswith("_quantizer"):
            _check_callable(inner[key], f"layer '{name}' {key}")
    for layer in inner.get("layers", []) or []:
        check_model_config(layer, where=f"'{name}'")


def qkeras_layer_classes() -> set[str]:
    """Every layer class QKeras exports (the pinned release's, and the newer ones micae knows by name)."""
    import inspect

    import qkeras
    import tensorflow as tf

    own = {
        n
        for n, v in vars(qkeras).items()
        if inspect.isclass(v) and issubclass(v, tf.keras.layers.Layer) and v.__module__.startswith("qkeras")
    }
    return own | set(QKERAS_NEWER_LAYERS)


def qkeras_unsupported(name: str, cls: str, where: str = "") -> str:
    """The one-line reason for a QKeras layer micae does not convert."""
    place = f" in {where}" if where else ""
    if cls in QKERAS_NEWER_LAYERS:
        return (
            f"layer '{name}' ({cls}){place} is a QKeras layer from a release newer than the pinned QKeras 0.9.0, "
            "which cannot load it"
        )
    return f"layer '{name}' ({cls}){place} is a QKeras layer micae does not support"


def qkeras_fix(cls: str) -> str:
    """What to use instead of an unsupported QKeras layer."""
    from micae.graph.registry import supported_layers

    if cls == "QDenseBatchnorm":
        return (
            "fold it before saving: a QDense with kernel/bias = the layer's get_folded_weights() through its "
            "quantizers (or QDense + QActivation without batch norm)"
        )
    return "rebuild the encoder from the supported layers: " + ", ".join(supported_layers())


def _hgq_layer(config: dict) -> bool:
    """A layer class of the HGQ library (stored as ``HGQ>HDense``): :mod:`micae.graph.hgq_front` reads them."""
    from micae.graph.hgq_front import stored_hgq_class

    return stored_hgq_class(config) is not None


def _standard_keras_layer(cls: str | None) -> bool:
    """A built-in Keras layer class: it carries no code, so loading it is safe (the guard decides support)."""
    if not cls:
        return False
    import tensorflow as tf

    return isinstance(getattr(tf.keras.layers, cls, None), type)


def _check_tf_op(config: dict, name: str, where: str) -> None:
    fn = config.get("config", {}).get("function")
    if fn not in TF_OPS:
        raise UnsafeModelError(
            f"layer '{name}' (TF op {fn}) in {where} is not an allowed operation; the file was not loaded",
            f"only the eLink output tail ops are read: {', '.join(TF_OPS)}",
        )
    for node in config.get("inbound_nodes", []) or []:
        for entry in node if isinstance(node, list) else [node]:
            if isinstance(entry, dict):  # .keras archives: {"args": [tensor, constant], "kwargs": {...}}
                extra = dict(entry.get("kwargs") or {})
                extra.update({f"arg{i}": v for i, v in enumerate(entry.get("args") or []) if not _is_tensor_ref(v)})
            else:
                extra = entry[3] if isinstance(entry, list) and len(entry) > 3 else {}
            for key, value in (extra or {}).items():
                if key != "name" and not isinstance(value, (int, float)):
                    raise UnsafeModelError(
                        f"layer '{name}' (TF op {fn}) in {where} takes {key}={value!r}, not a number",
                        "use literal numeric constants in the eLink tail",
                    )


def _is_tensor_ref(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def custom_objects() -> dict:
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects


def _quantizers_as_strings(node):
    """The .keras format stores quantizers as dicts, which QKeras 0.9 cannot read back;
    its own string form (``quantized_bits(bits=6,...)``) it can."""
    if isinstance(node, dict):
        if node.get("class_name") in ("quantized_bits", "quantized_relu") and isinstance(node.get("config"), dict):
            # QKeras parses this string itself: None would arrive as the text "None", so defaults are left out
            args = ",".join(
                f"{k}={int(v) if isinstance(v, bool) else v!r}" for k, v in node["config"].items() if v is not None
            )
            return f"{node['class_name']}({args})"
        return {k: _quantizers_as_strings(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_quantizers_as_strings(v) for v in node]
    return node


def _load_keras_v3(path: Path, config: dict):
    """Rebuild a QKeras model from a ``.keras`` archive: its config, then its weight file."""
    import tempfile

    import tensorflow as tf

    model = tf.keras.models.model_from_json(json.dumps(_quantizers_as_strings(config)), custom_objects=custom_objects())
    with zipfile.ZipFile(path) as zf, tempfile.TemporaryDirectory(prefix="micae_keras_") as tmp:
        zf.extract("model.weights.h5", tmp)
        model.load_weights(str(Path(tmp) / "model.weights.h5"))
    return model


def load_model(path: str | Path):
    """Load a QKeras/Keras model (.h5 or .keras) after checking it carries no code."""
    import tensorflow as tf

    path = Path(path)
    config = read_model_config(path)
    check_model_config(config, where=str(path))
    from micae.graph.hgq_front import import_hgq, uses_hgq

    if uses_hgq(config):
        import_hgq()  # registers HGQ's classes with Keras
        if path.suffix == ".keras":
            raise ConfigError(
                f"{path} is an HGQ model in a .keras archive, which HGQ 0.2.6 cannot load back (its MonoL1 "
                "regularizer has no from_config)",
                "save the HGQ model as .h5: model.save('encoder.h5')",
            )
    try:
        if path.suffix == ".keras":
            return _load_keras_v3(path, config)
        return tf.keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    except Exception as exc:
        raise UnsafeModelError(
            f"could not load {path}: {type(exc).__name__}: {exc}",
            "check the file is a Keras 2 / QKeras model saved with model.save()",
        ) from exc


def save_model(model, path: str | Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(str(path), include_optimizer=False)
