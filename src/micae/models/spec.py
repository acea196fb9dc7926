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
    """Input -> input quantizer -> QConv2D -> quantizer -> Flatten -> QDense -> latent quantizer.

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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
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
        return cls(**d)

    def conv_output_shape(self) -> tuple[int, int, int]:
        h, w = self.input_shape[0], self.input_shape[1]
        k, s = self.kernel, self.strides
        if self.padding == "same":
            return (-(-h // s), -(-w // s), self.filters)
        return ((h - k) // s + 1, (w - k) // s + 1, self.filters)


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
