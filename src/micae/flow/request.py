"""What a synthesize run is asked to do, validated against the library's own option lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from micae.errors import ConfigError
from micae.hls.convert import HlsOptions
from micae.hls.vendor import MODES as VENDOR_MODES

RTL_MODES = ("auto", "on", "off")
PNR_FAMILIES = ("off", "nexus", "ecp5")
DEFAULT_VECTORS = 10_000
DEFAULT_RTL_VECTORS = 10_000


@dataclass
class SynthRequest:
    """The options of one ``micae synth`` run (see ``micae synth --help`` for each)."""

    model: Path
    name: str | None = None
    hls_root: Path = Path("hls")
    firmware_root: Path = Path("firmware")
    options: HlsOptions = field(default_factory=HlsOptions)
    vectors: int = DEFAULT_VECTORS
    rtl_vectors: int | None = None
    data: Path | None = None
    vendor: str = "auto"
    rtl: str = "auto"
    latency_cutoff: float | None = None
    allow_inexact: bool = False
    force: bool = False
    seed: int = 0
    rtl_resources: bool = True
    input_layer: str | None = None
    output_layer: str | None = None
    input_mask: Path | None = None
    pnr: str = "off"
    pnr_device: str | None = None
    pnr_seed: int = 1
    close_timing: int = 1
    require_timing: bool = False

    def validate(self) -> None:
        self.options.validate()
        if self.vendor not in VENDOR_MODES:
            raise ConfigError(f"--vendor {self.vendor!r}", f"use one of {VENDOR_MODES}")
        if self.rtl not in RTL_MODES:
            raise ConfigError(f"--rtl {self.rtl!r}", f"use one of {RTL_MODES}")
        if self.vectors < 1:
            raise ConfigError(f"--vectors {self.vectors} must be >= 1", "use e.g. --vectors 10000")
        if self.pnr not in PNR_FAMILIES:
            raise ConfigError(f"--pnr {self.pnr!r}", f"use one of {PNR_FAMILIES}")
        if self.require_timing and self.pnr == "off" and self.rtl != "off":
            raise ConfigError(
                "--require-timing needs a timing analysis that includes routing",
                "add --pnr nexus (or ecp5); a Vivado run counts too when vivado is on PATH",
            )
        if self.close_timing < 0:
            raise ConfigError(f"--close-timing {self.close_timing} must be >= 0", "use 0 (off) or e.g. 1")
        if self.rtl_vectors is not None and self.rtl_vectors < 1:
            raise ConfigError(f"--rtl-vectors {self.rtl_vectors} must be >= 1", "use e.g. --rtl-vectors 1000000")

    def options_json(self) -> dict:
        return {
            **self.options.__dict__,
            "vectors": self.vectors,
            "rtl_vectors": self.rtl_vectors,
            "vendor": self.vendor,
            "rtl": self.rtl,
            "latency_cutoff": self.latency_cutoff,
            "seed": self.seed,
            "pnr": self.pnr,
            "pnr_device": self.pnr_device,
            "pnr_seed": self.pnr_seed,
            "close_timing": self.close_timing,
            "require_timing": self.require_timing,
        }


def resolve_model(path: Path) -> tuple[Path, Path | None]:
    """A run folder (models/<name>/) gives its encoder.h5 and itself; a file gives itself."""
    path = Path(path)
    fix = "give a training run folder (models/<name>) or an .h5/.keras file"
    if path.is_dir():
        enc = path / "encoder.h5"
        if not enc.exists():
            raise ConfigError(f"{path} has no encoder.h5", fix)
        return enc, path
    if not path.exists():
        raise ConfigError(f"model {path} does not exist", fix)
    if path.suffix not in (".h5", ".keras"):
        raise ConfigError(f"model {path} is neither .h5 nor .keras", "save the encoder with model.save('encoder.h5')")
    return path, None
