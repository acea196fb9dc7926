"""``micae train`` (scripts/train_qat.py): quantization-aware training of a MICAE model.

Its options are the run config's fields marked ``Cli`` (:mod:`micae.config.run`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import add_debug, quiet_tensorflow, run_cli

SUMMARY = "quantization-aware training of a MICAE model (QKeras encoder shared by N inputs + decoder)"
DESCRIPTION = (
    "Train a quantization-aware (QKeras) MICAE model: N inputs share one shallow encoder "
    "(Conv2D -> Flatten -> Dense), a decoder reconstructs all N. Writes models/<name>/. "
    "Every value comes from the run config: its defaults, then the YAML file (--config), then --set KEY=VALUE, then "
    "the options below; each option names its config key and default. Every value is checked before any data loads."
)
GROUPS = {
    "run": "the run config, its name and its folder",
    "data": "the dataset (config section dataset)",
    "encoder": "the hardware encoder (config section encoder; any key with --set encoder.KEY=VALUE)",
    "training": "how it trains (config section train)",
    "stacking": "stacked encoders on the latents (config section stack)",
}


def _options():
    from micae.config.cli import options_of
    from micae.config.run import RunSchema

    return [o for o in options_of(RunSchema, marked_only=True) if not o.key.startswith("synth.")]


def _default_note(opt) -> str:
    from micae.config.cli import _show_default

    if opt.boolean:
        return f"config {opt.key}; default {'on' if opt.default else 'off'}"
    return f"config {opt.key}; default {_show_default(opt.default)}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from micae.config.cli import add_options

    groups = {title: p.add_argument_group(title, line) for title, line in GROUPS.items()}
    run = groups["run"]
    run.add_argument("--config", help="YAML run config (e.g. models/econt.yaml); --set and the options override it")
    run.add_argument("--out", default="models", help="folder holding the runs (default: models)")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config value, e.g. --set encoder.filters=4 (repeatable; the value is read as YAML)",
    )
    run.add_argument("--force", action="store_true", help="replace an existing run folder")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    add_options(p, _options(), groups=groups, default_note=_default_note)
    groups["encoder"].add_argument(
        "--latent-bits",
        metavar="BITS",
        help="bits per latent value: sets encoder.latent_quant to {bits, integer: 2, signed} (not with --elinks)",
    )
    groups["stacking"].add_argument(
        "--stack-latent", metavar="N", help="stage-2 latent values: sets stack.latent and implies --stack"
    )
    add_debug(p)


def build_parser(prog: str = "micae train") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(p)
    return p


def overrides_from_args(a: argparse.Namespace) -> dict:
    """The config values the options give (dotted key -> value; options left out are absent)."""
    from micae.config.cli import given_values

    over = given_values(a, _options())
    if a.stack_latent is not None:
        over["stack.enabled"] = True
        over["stack.latent"] = _yaml(a.stack_latent)
    if a.latent_bits is not None:
        over["encoder.latent_quant"] = {"bits": _yaml(a.latent_bits), "integer": 2, "signed": True}
    return over


def _yaml(text: str):
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def option_flags(a: argparse.Namespace | None = None) -> dict[str, str]:
    """Config key -> the option that sets it (for the fix of a bad value)."""
    flags = {o.key: o.flag for o in _options()}
    flags.update({"stack.latent": "--stack-latent", "encoder.latent_quant": "--latent-bits"})
    return flags


def format_metrics_table(metrics: dict) -> str:
    from micae.labels import QAT, model_name

    rows = [(model_name("quantized"), metrics["quantized"])]
    rows += [(model_name(name), m) for name, m in metrics["baselines"].items()]
    has_emd = "emd_mean" in metrics["quantized"]
    width = max(len(name) for name, _ in rows) + 2
    head = f"{'model':<{width}}{'test MSE':>12}" + (f"{'EMD mean':>10}{'EMD median':>12}" if has_emd else "")
    lines = [head, "-" * len(head)]
    for name, m in rows:
        line = f"{name:<{width}}{m['mse']:>12.4g}"
        if has_emd:
            line += f"{m['emd_mean']:>10.3f}{m['emd_median']:>12.3f}"
        lines.append(line)
    if has_emd:
        lines.append("EMD in units of half a trigger-cell pitch (neighbouring cells are 2 apart), on the test split")
    for L, algos in (metrics.get("elinks") or {}).items():
        shown = [n for n in ("ae", "bc", "stc4", "stc16", "threshold") if n in algos]
        said = ", ".join(f"{QAT if n == 'ae' else n} {algos[n]['emd_mean']:.3f}" for n in shown)
        lines.append(f"{QAT} and the chip's algorithms at L = {L} on the test split (mean EMD): {said}")
    from micae.train.shared import describe_budget

    lines.append(f"{describe_budget(metrics['bit_budget'])}; {metrics['n_parts']} encoder(s)")
    if metrics["dead_latents"]:
        lines.append(f"dead latent dimensions: {metrics['dead_latents']}")
    if "objective" in metrics:
        weights = ", ".join(f"{k} {v:g}" for k, v in metrics["objective_weights"].items())
        from micae.train.run import zero_line

        lines.append(
            f"objective {metrics['objective']}" + (f" ({weights})" if weights else "") + "; "
            f"latent codes equal to 0 on the test split: {zero_line(metrics['zero_codes'])}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from micae.train.config import load_config

    cfg = load_config(args.config, overrides_from_args(args), args.set, flags=option_flags())
    return train_config(cfg, Path(args.out), force=args.force, resume=args.resume)


def train_config(cfg, out_root: Path, *, force: bool = False, resume: bool = False) -> int:
    """Train a validated run config and print its tables (``micae train``, a sweep point's training step)."""
    quiet_tensorflow()
    from micae.train.run import train_run

    cfg.check_before_data()
    if cfg.stack["enabled"]:
        from micae.train.stacked import precheck

        precheck(cfg)
    out, metrics = train_run(cfg, Path(out_root), force=force, resume=resume)
    print(format_metrics_table(metrics))
    secs = sum(p["seconds"] for p in metrics["training"].values())
    print(f"training time {secs:.1f} s; artifacts in {out}")
    if cfg.stack["enabled"]:
        from micae.train.stacked import format_stacked_table, train_stacked

        print(format_stacked_table(train_stacked(cfg, out)))
    return 0


def entry() -> int:
    return run_cli(main)
