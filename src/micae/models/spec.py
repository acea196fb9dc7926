"""The encoder/decoder description that configs, builders and reports share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from micae.errors import ConfigError
from micae.models.quantizers import QuantSpec

_QUANT_FIELDS = (
    "input_quant",
    "conv_weight",
    "conv_bias",
    "conv_act",
    "dense_weight",
    "dense_bias",
    "latent_quant",
)


@dataclass(frozen=True)
class EncoderSpec:
    """Input -> input quantizer -> QConv2D -> quantizer -> Flatten -> QDense -> latent quantizer
    (``conv=False``: no QConv2D; ``dense_hidden``: QDense + quantizer layers before the latent QDense).

    Defaults are the ECON-T shape: 4x4x3 input, 8 filters 3x3 stride 2 ``same``,
    16 latents of 9 bits, 6-bit weights. Inputs are 8-bit unsigned (1 integer
    bit, ``sumlog2``-normalised charges lie in [0, 2)): 48 values into 16 is the
    chip's compression factor 3 (bit ratio 48 x 8 / 16 x 9 = 2.67).
    """

    input_shape: tuple[int, ...] = (4, 4, 3)
    input_quant: QuantSpec = QuantSpec(8, 1, signed=False)
    filters: int = 8
    kernel: int = 3
    strides: int = 2
    padding: str = "same"
    conv_weight: QuantSpec = QuantSpec(6, 0)
    conv_bias: QuantSpec = QuantSpec(8, 2)
    conv_act: QuantSpec = QuantSpec(8, 2, signed=False, relu=True)
    latent: int = 16
    dense_weight: QuantSpec = QuantSpec(6, 0)
    dense_bias: QuantSpec = QuantSpec(8, 2)
    latent_quant: QuantSpec = QuantSpec(9, 1, signed=True)
    pad: tuple[tuple[int, int], tuple[int, int]] | None = None
    """Zero padding ``((top, bottom), (left, right))`` before the convolution (the CMS CAE: ``((0, 1), (0, 1))``)."""
    output_bits: int | None = None
    """Per-eLink output bits ``b``: the latent leaves as ``minimum(floor(z * 2**(b-1)) / 2**(b-1), 1 - 2**-(b-1))``,
    so training sees what the chip transmits."""
    input_mask: str | None = None
    """Layout whose dead cells never carry a value (``8x8``): they count out of the budget, the hardware drops them."""
    conv: bool = True
    """False: a dense-only encoder, Input -> input quantizer -> Flatten -> [hidden QDense] -> QDense -> latent
    quantizer (the conv fields are then unused)."""
    dense_hidden: tuple[int, ...] = ()
    """Units of hidden QDense layers between Flatten and the latent QDense (weights ``dense_weight``/``dense_bias``,
    activations ``conv_act``); empty by default."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["dense_hidden"] = list(self.dense_hidden)
        d["pad"] = [list(p) for p in self.pad] if self.pad is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> EncoderSpec:
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown encoder option(s) {unknown}", f"use only {sorted(known)}")
        for key in _QUANT_FIELDS:
            if key in d and isinstance(d[key], dict):
                try:
                    d[key] = QuantSpec.from_dict(d[key])
                except TypeError as exc:
                    raise ConfigError(f"encoder.{key}: {exc}", "give bits, integer, signed, relu") from exc
        if "input_shape" in d:
            d["input_shape"] = tuple(int(v) for v in d["input_shape"])
        if "dense_hidden" in d:
            d["dense_hidden"] = _hidden_units(d["dense_hidden"])
        if "conv" in d and not isinstance(d["conv"], bool):
            raise ConfigError(f"encoder.conv = {d['conv']!r}", "give true (Conv2D encoder) or false (dense-only)")
        if d.get("pad") is not None:
            try:
                (t, b), (left, r) = d["pad"]
                d["pad"] = ((int(t), int(b)), (int(left), int(r)))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"encoder.pad = {d['pad']!r}", "give [[top, bottom], [left, right]]") from exc
            if min(min(p) for p in d["pad"]) < 0:
                raise ConfigError(f"encoder.pad = {d['pad']!r} has a negative size", "pad by 0 or more")
        if d.get("output_bits") is not None and not 2 <= int(d["output_bits"]) <= 16:
            raise ConfigError(f"encoder.output_bits = {d['output_bits']!r}", "give 2..16 bits per latent, or null")
        return cls(**d)

    def padded_shape(self) -> tuple[int, int]:
        h, w = self.input_shape[0], self.input_shape[1]
        if self.pad is None:
            return h, w
        (t, b), (left, r) = self.pad
        return h + t + b, w + left + r

    def conv_output_shape(self) -> tuple[int, int, int]:
        h, w = self.padded_shape()
        k, s = self.kernel, self.strides
        if self.padding == "same":
            return (-(-h // s), -(-w // s), self.filters)
        return ((h - k) // s + 1, (w - k) // s + 1, self.filters)


def _hidden_units(value) -> tuple[int, ...]:
    try:
        units = tuple(int(v) for v in (value or ()))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"encoder.dense_hidden = {value!r}", "give a list of layer widths, e.g. [32]") from exc
    if any(u < 1 for u in units):
        raise ConfigError(f"encoder.dense_hidden = {value!r} has a width below 1", "give widths >= 1, or []")
    return units


@dataclass(frozen=True)
class DecoderSpec:
    """Dense -> Reshape -> Conv2DTranspose stack; float by default, quantized on request
    (then UpSampling2D + QConv2D, because QKeras' QConv2DTranspose fails on TF 2.15)."""

    filters: int = 8
    kernel: int = 3
    quantized: bool = False
    weight: QuantSpec = QuantSpec(8, 1)
    activation: QuantSpec = QuantSpec(10, 3, signed=False, relu=True)
    output_activation: str = "relu"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> DecoderSpec:
        d = dict(d or {})
        for key in ("weight", "activation"):
            if key in d and isinstance(d[key], dict):
                d[key] = QuantSpec.from_dict(d[key])
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown decoder option(s) {unknown}", f"use only {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class MicaeSpec:
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    decoder: DecoderSpec = field(default_factory=DecoderSpec)
    n_inputs: int = 1
    min_compression: float = 3.0
