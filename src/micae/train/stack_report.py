"""Evaluation of a stacked run on the test split, its ``stacked`` metrics section and its console table.

Per level k: the latent reconstruction of level k-1 (MSE, against PCA with as many components) and
the input reconstruction through levels 1..k (MSE, and EMD on HGCAL layouts, always against the
original inputs). ``end_to_end`` is the top level's input reconstruction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.train.shared import recon_parts, training_record
from micae.train.stack_levels import STACKED_MODEL, decoder_file, encoder_file, latents_file


def _metrics(x: np.ndarray, recon: np.ndarray, layout: str) -> dict:
    from micae.train.evaluate import public, reconstruction_metrics

    return public(reconstruction_metrics(x, recon, layout))


def evaluate_levels(cfg, ds, stage1: dict, built: list[dict], z1: dict) -> dict:
    """Stage 1, every stacked level (latents and inputs) and the whole chain on the test split.

    Returns ``grids`` (per split, the input of every level and the top latents, from the final
    weights), ``stage1`` and ``levels`` (one metrics dict per stacked level).
    """
    from micae.train.baselines import pca_joint
    from micae.train.stack_models import level_latents

    x, channels = ds.x_test, ds.input_shape[-1]
    encoders = [lv["encoder"] for lv in built]
    grids = {s: level_latents(encoders, z) for s, z in z1.items()}
    levels = []
    for i, lv in enumerate(built):
        z_in = grids["test"][i]
        flat = z_in.reshape(len(z_in), -1)
        z_hat = lv["ae"].predict(z_in, batch_size=4096, verbose=0)
        z_pca = pca_joint(grids["train"][i], z_in, lv["spec"].latent, cfg.seed).reshape(len(z_in), -1)
        levels.append(
            {
                "latent_mse": float(np.mean((flat - z_hat) ** 2)),
                "latent_mse_pca": float(np.mean((flat - z_pca) ** 2)),
                "latent_variance": float(np.mean(np.var(flat, axis=0))),
                "inputs": _metrics(x, recon_parts(lv["chain"], x, channels), ds.layout),
            }
        )
    stage1_metrics = _metrics(x, recon_parts(stage1["micae"], x, channels), ds.layout)
    return {"grids": grids, "stage1": stage1_metrics, "levels": levels}


def _level_record(run_dir: Path, lv: dict, metrics: dict, budget: dict, record: dict | None) -> dict:
    from micae.models.extract import inspect_encoder

    stage = lv["stage"]
    guard = inspect_encoder(lv["encoder"], name=f"stage{stage}_encoder")
    enc, data = run_dir / encoder_file(stage), run_dir / latents_file(stage - 1)
    return {
        "stage": stage,
        "loss": lv["level"]["loss"],
        **metrics,
        "budget": budget,
        "spec": lv["spec"].to_dict(),
        "input_shape": list(lv["spec"].input_shape),
        "hls_route": {
            "supported": guard.exact,
            "problems": guard.problems,
            "synthesize": f"micae synth --model {enc} --data {data}",
        },
        "training": training_record(record) if record else None,
        "files": [encoder_file(stage), decoder_file(stage), latents_file(stage - 1)],
    }


def stacked_summary(
    run_dir: Path, built: list[dict], evaluation: dict, compression: dict, records: dict, listed: bool
) -> dict:
    """The ``stacked`` section of metrics.json: per level, end to end, budgets, training, HLS route.

    The top-level ``stage2``, ``loss``, ``spec``, ``hls_route`` and ``training`` keys describe level 2,
    as in the original two-stage section.
    """
    from micae.train.stack_levels import FINE_TUNE_PHASE

    levels = [
        _level_record(run_dir, lv, m, compression["levels"][i + 1], records.get(f"stage{lv['stage']}"))
        for i, (lv, m) in enumerate(zip(built, evaluation["levels"], strict=True))
    ]
    first = levels[0]
    fine = records.get(FINE_TUNE_PHASE)
    return {
        "stage1": evaluation["stage1"],
        "stage2": {k: first[k] for k in ("latent_mse", "latent_mse_pca", "latent_variance")},
        "end_to_end": levels[-1]["inputs"],
        "levels": levels,
        "n_stages": len(levels) + 1,
        "form": "levels" if listed else "section",
        "compression": compression,
        "fine_tune_end_to_end": training_record(fine) if fine else None,
        "loss": first["loss"],
        "spec": first["spec"],
        "stage2_input_shape": first["input_shape"],
        "hls_route": first["hls_route"],
        "training": first["training"],
        "files": [f for lv in levels for f in lv["files"]] + [STACKED_MODEL],
    }


def format_stacked_table(stacked: dict) -> str:
    """Per-level and end-to-end losses, as in the stackable autoencoder's table, then the budgets."""
    s1, e2e, c = stacked["stage1"], stacked["end_to_end"], stacked["compression"]
    levels = stacked.get("levels") or []
    has_emd = "emd_mean" in e2e
    head = f"{'stacked stage':<28}{'target':<9}{'MSE':>11}" + (f"{'EMD mean':>10}{'EMD median':>12}" if has_emd else "")
    lines = [head, "-" * len(head)]

    def row(label: str, target: str, mse: float, m: dict | None) -> str:
        line = f"{label:<28}{target:<9}{mse:>11.4g}"
        if has_emd:
            line += f"{m['emd_mean']:>10.3f}{m['emd_median']:>12.3f}" if m else f"{'-':>10}{'-':>12}"
        return line

    lines.append(row("stage 1 (MICAE)", "inputs", s1["mse"], s1))
    for lv in levels:
        k = lv["stage"]
        lines.append(row(f"stage {k} (latent AE, {lv['loss']})", "latents", lv["latent_mse"], None))
        lines.append(row(f"stage {k} PCA baseline", "latents", lv["latent_mse_pca"], None))
        label = "end-to-end (all stages)" if k == levels[-1]["stage"] else f"stages 1-{k} chain"
        lines.append(row(label, "inputs", lv["inputs"]["mse"], lv["inputs"]))
    lines.append(
        "compression factor (values): "
        + ", ".join(f"stage {r['stage']} {r['compression_factor']:.2f} (-> {r['latent_values']})" for r in c["levels"])
        + f", chain {c['chain']:.2f} ({c['input_values']} -> {c['levels'][-1]['latent_values']})"
    )
    lines.append(
        "bit ratio: "
        + ", ".join(f"stage {r['stage']} {r['bit_ratio']:.2f} (-> {r['latent_bits']} bits)" for r in c["levels"])
        + f", chain {c['chain_bit_ratio']:.2f} ({c['input_bits']} -> {c['levels'][-1]['latent_bits']} bits)"
    )
    if stacked.get("fine_tune_end_to_end"):
        lines.append(f"fine-tuned end to end: {stacked['fine_tune_end_to_end']['epochs_run']} epoch(s)")
    for lv in levels:
        route = lv["hls_route"]
        status = f"hls-convertible ({route['synthesize']})" if route["supported"] else None
        lines.append(f"stage-{lv['stage']} encoder: {status or 'not bit-exact convertible: ' + route['problems'][0]}")
    return "\n".join(lines)
