"""Report sections for how the encoder was trained: its objective (with the transmitted zero codes) and
the stacked levels of a stacked run. Both read metrics.json only; nothing is recomputed here."""

from __future__ import annotations

from micae.report.blocks import Para, Span, Table, note, num, percent
from micae.results.metrics import Metrics

OBJECTIVE_TEXT = {
    "ae": "plain autoencoder: the reconstruction loss only",
    "vae": "variational: a float log-variance head beside the hardware mean head, a sampled latent and a KL term; "
    "the chip computes and sends the mean",
    "contractive": "contractive: the squared Frobenius norm of d latent / d input is added (straight-through "
    "gradients of the quantizers)",
    "l1": "L1-sparse latents: the sum of |latent| is added",
}


def objective(metrics: Metrics) -> list:
    """The objective, its weights, the last epoch's penalties and the fraction of zero latent codes."""
    name = str(metrics.objective or "ae")
    rows = [["objective", f"{name}: {OBJECTIVE_TEXT.get(name, name)}"]]
    rows += [[key, num(value)] for key, value in metrics.objective_weights.items()]
    for phase, record in metrics.objective_penalty.items():
        rows += [[f"{phase}: {key} (last epoch, unweighted)", num(value)] for key, value in record.items()]
    zero = metrics.zero_codes
    if zero is not None:
        rows.append(["latent codes equal to 0 (test split)", percent(zero.fraction)])
    blocks: list = [Table(["", "value"], rows)]
    if zero is not None:
        blocks.append(
            note(
                "Zero codes: the fraction of transmitted latent values whose integer code is exactly 0, counted "
                "on the quantized latents of the test split. A link that zero-suppresses sends fewer words "
                "when it is high."
            )
        )
    return blocks


def _level_rows(stacked: dict, has_emd: bool) -> list[list[str]]:
    budgets = {r["stage"]: r for r in (stacked.get("compression") or {}).get("levels") or []}
    s1 = stacked.get("stage1") or {}
    b1 = budgets.get(1, {})
    rows = [
        ["1 (MICAE)", "-", "-", "-", num(s1.get("mse"))]
        + ([num(s1.get("emd_mean"), 3)] if has_emd else [])
        + [num(b1.get("compression_factor"), 3), num(b1.get("bit_ratio"), 3)]
    ]
    for lv in stacked.get("levels") or []:
        b = budgets.get(lv["stage"], {})
        inputs = lv.get("inputs") or {}
        rows.append(
            [str(lv["stage"]), lv.get("loss", "-"), num(lv.get("latent_mse")), num(lv.get("latent_mse_pca"))]
            + [num(inputs.get("mse"))]
            + ([num(inputs.get("emd_mean"), 3)] if has_emd else [])
            + [num(b.get("compression_factor"), 3), num(b.get("bit_ratio"), 3)]
        )
    return rows


def stacked_levels(metrics: Metrics) -> list:
    """Per-level latent and input reconstruction and the per-level and whole-chain budgets (metrics.json
    ``stacked``, as :mod:`micae.train.stack_report` writes it)."""
    stacked = metrics.stacked or {}
    has_emd = "emd_mean" in (stacked.get("end_to_end") or {})
    head = ["stage", "loss", "latent MSE", "latent MSE, PCA", "input MSE (stages 1..k)"]
    head += ["input EMD mean"] if has_emd else []
    head += ["compression (values)", "bit ratio"]
    table = Table(head, _level_rows(stacked, has_emd), numeric=set(range(2, len(head))))
    c = stacked.get("compression") or {}
    blocks: list = [table]
    if c.get("chain") is not None:
        blocks.append(
            note(
                f"The whole chain compresses {c.get('input_values')} input values by {num(c['chain'], 3)} "
                f"(bit ratio {num(c.get('chain_bit_ratio'), 3)}). Latent MSE: each level against the latents "
                "of the level below, beside PCA with as many components; input MSE/EMD: the original test "
                "inputs against their reconstruction through every decoder down to stage 1."
            )
        )
    for lv in stacked.get("levels") or []:
        route = lv.get("hls_route") or {}
        if route.get("synthesize"):
            blocks.append(Para([Span(f"stage {lv['stage']} converts with: "), Span(route["synthesize"], "code")]))
    return blocks
