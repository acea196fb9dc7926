"""micae-train / scripts/train_qat.py: quantization-aware training of a MICAE model."""

from __future__ import annotations

import argparse
from pathlib import Path

from micae.cli.common import quiet_tensorflow, run_cli
from micae.data import DATASETS
from micae.data.geometry import HGCAL_LAYOUTS
from micae.train.config import LOSSES, MODES, OBJECTIVES

SUMMARY = "quantization-aware training of a MICAE model (QKeras encoder shared by N inputs + decoder)"
DESCRIPTION = (
    "Train a quantization-aware (QKeras) MICAE model: N inputs share one shallow encoder "
    "(Conv2D -> Flatten -> Dense), a decoder reconstructs all N. Writes models/<name>/."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML run config (e.g. models/econt.yaml); command-line options override it")
    p.add_argument("--name", help="run name; outputs go to <out>/<name>/")
    p.add_argument("--out", default="models", help="folder holding the runs (default: models)")
    p.add_argument("--dataset", choices=DATASETS, help="dataset (default hgcal-synth)")
    p.add_argument("--data", help="input file for econt-csv (.csv) or npz (.npz)")
    p.add_argument("--n-samples", type=int, help="number of (MICAE) samples to generate/read")
    p.add_argument("--layout", choices=(*HGCAL_LAYOUTS, "image"), help="HGCAL arrangement of the 48 trigger cells")
    p.add_argument("--n-parts", type=int, help="MICAE inputs N sharing one encoder (HGCAL/npz; digits uses --tiles)")
    p.add_argument("--tiles", type=int, help="digits: cut each 8x8 image into this many tiles (1, 4 or 16)")
    p.add_argument(
        "--mode",
        choices=MODES,
        help="joint: train all from scratch; frozen-encoder: train only a decoder on a given --encoder; "
        "encoder: train a single CAE, then reuse its encoder in MICAE",
    )
    p.add_argument("--encoder", help="trained encoder .h5 for --mode frozen-encoder")
    p.add_argument("--loss", choices=LOSSES, help="training loss (telescope: HGCAL layouts only)")
    p.add_argument("--epochs", type=int, help="maximum epochs (early stopping on validation loss)")
    p.add_argument("--batch-size", type=int, help="batch size")
    p.add_argument("--lr", type=float, help="Adam learning rate")
    p.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    p.add_argument("--latent", type=int, help="latent values per encoder")
    p.add_argument("--latent-bits", type=int, help="bits per latent value")
    p.add_argument(
        "--objective",
        choices=OBJECTIVES,
        help="training objective around the same hardware encoder: ae (plain), vae (KL weight train.kl_weight; "
        "the hardware encoder is the mean head), contractive (Jacobian penalty, train.contractive_weight), "
        "l1 (sparse latents, train.l1_weight)",
    )
    p.add_argument("--noise", help="denoising training: corrupt inputs, keep clean targets (dropout:P)")
    p.add_argument("--no-float-twin", action="store_true", help="skip training the unquantized twin")
    p.add_argument(
        "--stack",
        action="store_true",
        help="then train a second-stage encoder on the concatenated latents (config section stack)",
    )
    p.add_argument("--stack-latent", type=int, metavar="N", help="stage-2 latent values (implies --stack)")
    p.add_argument("--min-compression", type=float, help="smallest allowed compression factor (default 3)")
    p.add_argument("--seed", type=int, help="random seed (data split, initialisation, training order)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config value, e.g. --set encoder.filters=4 (repeatable)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing run folder")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="train_qat.py", description=DESCRIPTION)
    add_arguments(p)
    return p


def overrides_from_args(a: argparse.Namespace) -> dict:
    from micae.errors import ConfigError

    over = {
        "name": a.name,
        "seed": a.seed,
        "dataset.name": a.dataset,
        "dataset.path": a.data,
        "dataset.n_samples": a.n_samples,
        "dataset.layout": a.layout,
        "dataset.n_parts": a.n_parts,
        "dataset.tiles": a.tiles,
        "train.mode": a.mode,
        "train.encoder_path": a.encoder,
        "train.loss": a.loss,
        "train.epochs": a.epochs,
        "train.batch_size": a.batch_size,
        "train.learning_rate": a.lr,
        "train.patience": a.patience,
        "train.noise": a.noise,
        "train.objective": a.objective,
        "min_compression": a.min_compression,
        "encoder.latent": a.latent,
    }
    if a.no_float_twin:
        over["train.float_twin"] = False
    if a.stack or a.stack_latent is not None:
        over["stack.enabled"] = True
        over["stack.latent"] = a.stack_latent
    if a.latent_bits is not None:
        if a.latent_bits < 2:
            raise ConfigError(f"--latent-bits {a.latent_bits} is too small", "use at least 2 bits")
        over["encoder.latent_quant"] = {"bits": a.latent_bits, "integer": 2, "signed": True}
    return over


def format_metrics_table(metrics: dict) -> str:
    rows = [("quantized (QAT)", metrics["quantized"])] + [(name, m) for name, m in metrics["baselines"].items()]
    has_emd = "emd_mean" in metrics["quantized"]
    head = f"{'model':<18}{'test MSE':>12}" + (f"{'EMD mean':>10}{'EMD median':>12}" if has_emd else "")
    lines = [head, "-" * len(head)]
    for name, m in rows:
        line = f"{name:<18}{m['mse']:>12.4g}"
        if has_emd:
            line += f"{m['emd_mean']:>10.3f}{m['emd_median']:>12.3f}"
        lines.append(line)
    from micae.train.shared import describe_budget

    lines.append(f"{describe_budget(metrics['bit_budget'])}; {metrics['n_parts']} encoder(s)")
    if metrics["dead_latents"]:
        lines.append(f"dead latent dimensions: {metrics['dead_latents']}")
    if "objective" in metrics:
        weights = ", ".join(f"{k} {v:g}" for k, v in metrics["objective_weights"].items())
        zero = metrics["zero_codes"]["fraction"]
        lines.append(
            f"objective {metrics['objective']}" + (f" ({weights})" if weights else "") + "; "
            f"latent codes equal to 0 on the test split: {100 * zero:.1f}%"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    quiet_tensorflow()
    from micae.train.config import load_config
    from micae.train.run import train_run

    cfg = load_config(args.config, overrides_from_args(args), args.set)
    if cfg.stack["enabled"]:
        from micae.train.stacked import precheck

        precheck(cfg)
    out, metrics = train_run(cfg, Path(args.out), force=args.force, resume=args.resume)
    print(format_metrics_table(metrics))
    secs = sum(p["seconds"] for p in metrics["training"].values())
    print(f"training time {secs:.1f} s; artifacts in {out}")
    if cfg.stack["enabled"]:
        from micae.train.stacked import format_stacked_table, train_stacked

        print(format_stacked_table(train_stacked(cfg, out)))
    return 0


def entry() -> int:
    return run_cli(main)
