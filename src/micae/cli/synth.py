"""``micae synth`` (scripts/synthesize.py): trained encoder -> verified HLS project, RTL and reports.

Its options are the fields of :class:`~micae.flow.request.SynthRequest` and
:class:`~micae.config.synth.SynthOptions`, in the groups of ``micae.config.synth.GROUPS``.
"""

from __future__ import annotations

import argparse

from micae.cli.common import add_debug, quiet_tensorflow, run_cli
from micae.config.cli import add_options, flag_of, given_values, options_of
from micae.config.synth import GROUPS

SUMMARY = "convert a QKeras encoder to a bit-exact hls4ml project, verify it at every level, write RTL and reports"
DESCRIPTION = (
    "Convert a QKeras encoder into an hls4ml project (hls/<name>/) whose C++ is bit-exact with QKeras, prove it "
    "on real, random, saturation and rounding-tie vectors (integer model, C model, csim, vendor tools, RTL), and "
    "write Verilog and resource/latency reports (firmware/<name>/). Exits 1 on any mismatch. "
    "Settings come from the defaults below, then the synth: block of the training run's config.yaml (--model "
    "models/<name>; each option names its key there), then these options; the log and the report list each "
    "setting with its source (default, run config, cli). Two vendors: --part is a Xilinx part (hls4ml project, "
    "yosys resource estimate, logic-only STA, Vivado), --pnr places and routes on a Lattice part (nextpnr)."
)


def _options():
    from micae.flow.request import SynthRequest

    return options_of(SynthRequest, marked_only=True)


def _default_note(opt) -> str | None:
    """A setting's default and the run YAML key that replaces it (``synth: {clock_ns: 10}``); the request's own
    options (model, outputs) keep the plain note."""
    from micae.config.cli import _show_default

    if not opt.key.startswith("options."):
        return None
    return f"run config synth.{opt.key.removeprefix('options.')}; default {_show_default(opt.default)}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    groups = {title: p.add_argument_group(title, line) for title, line in GROUPS.items()}
    add_options(p, _options(), groups=groups, default_note=_default_note)
    add_debug(p)


def request_from_args(a: argparse.Namespace):
    """The request of the parsed options: settings from the run's config.yaml, overridden by the options given."""
    from micae.flow.request import SynthRequest, effective_settings

    opts = _options()
    given = given_values(a, opts)
    settings = {k.removeprefix("options."): v for k, v in given.items() if k.startswith("options.")}
    own = {k: v for k, v in given.items() if not k.startswith("options.")}

    def fix(key: str) -> str:
        return f"correct {flag_of(opts, key if key in own else 'options.' + key)}"

    values, sources = effective_settings(own["model"], settings, fix=fix)
    request = SynthRequest.parse({**own, "options": values, "sources": sources}, fix=fix)
    request.validate()
    return request


def settings_lines(request) -> list[str]:
    """The effective settings of ``request`` and where each came from, and the device of each figure (the lines
    ``micae synth`` logs before it starts; the report and the final summary repeat them)."""
    from micae.flow.request import run_settings
    from micae.report.settings import settings_line
    from micae.results.report import ReportOptions

    options = ReportOptions.model_validate(request.options_json())
    _, config = run_settings(request.model)
    if config is not None:
        where = f"run config: the synth: block of {config}"
    elif request.model.is_dir():
        where = f"no run config: {request.model} has no config.yaml"
    else:
        where = "a model file has no run config"
    devices = f"two vendors: the Xilinx {options.part} (--part) for the hls4ml project, the yosys resource estimate "
    devices += "and the logic-only STA; "
    if options.pnr == "off":
        devices += "no place-and-route (--pnr off)"
    else:
        devices += f"the Lattice {options.pnr_part()} (--pnr {options.pnr}) for place-and-route timing (nextpnr)"
    return [f"{settings_line(options)} (cli: a micae synth option; {where})", devices]


def run(a: argparse.Namespace) -> int:
    quiet_tensorflow()
    from micae.flow import synthesize
    from micae.flow.request import resolve_model
    from micae.log import info
    from micae.report.summary import console_summary

    request = request_from_args(a)
    resolve_model(request.model)  # a missing model is refused before the settings are logged
    for line in settings_lines(request):
        info(line)
    print(console_summary(synthesize(request)))
    return 0


def build_parser(prog: str = "micae synth") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def entry() -> int:
    return run_cli(main)
