"""View-model sections for latent-space probing (probing.npz) and a VAE run's prior against its posterior means."""

from __future__ import annotations

from pathlib import Path

from micae.report import run_data
from micae.report.blocks import Details, Figure, Table, note, num
from micae.report.draw import HGCAL_LAYOUTS

DECODER = (
    "decoded with the QAT decoder (the decoder of the run's micae.h5, trained on the quantized encoder's "
    "latents) from quantized latents"
)
VAE_DECODER = (
    "decoded with the decoder of the run's micae.h5 (a VAE run: trained on samples mean + σ·ε around the "
    "quantized posterior means) from quantized latents"
)


def _decoder(run: dict) -> str:
    from micae.report.probing_figures import is_vae

    return VAE_DECODER if is_vae(run_data.run_metrics(run)) else DECODER


def _figure(plot_dir: Path, fig: dict, alt: str, caption: str) -> Figure:
    return Figure(fig["file"], plot_dir / fig["file"], alt, caption)


def _grid_text(info: dict) -> str:
    lt = info.get("latent_type")
    if not lt:
        return "Latent values are decoded as stored (no latent format was recorded)."
    kind = "signed" if lt["signed"] else "unsigned"
    return (
        f"Every latent vector is rounded half-to-even to the latent format's grid ({lt['width']}-bit {kind}, "
        f"LSB {num(lt['lsb'])}) and clipped to its rails before decoding: the decoder only ever receives such codes."
    )


def _which_wafer(run: dict, info: dict, per_latent: bool = False) -> str:
    n = int(info.get("n_parts", 1))
    if n == 1:
        return ""
    if run_data.layout(run) not in HGCAL_LAYOUTS:
        return " The orange box marks the tile of the input a row's latent belongs to." if per_latent else ""
    if per_latent:
        return f" Each row shows the wafer of the input (of {n}) its latent belongs to."
    return f" Only wafer 1 of the {n} the decoder rebuilds is drawn."


def _space(info: dict) -> str:
    d, n = info.get("latent_dims", "?"), int(info.get("n_parts", 1))
    return f"the {d}-dimensional decoder input ({n} inputs' latents concatenated)" if n > 1 else f"the {d} latents"


def latent_map(fig: dict, plot_dir: Path) -> Figure:
    info = fig["info"]
    ex = (info.get("map") or {}).get("explained", [0, 0])
    if fig["kind"] == "latents":
        axes = "the two latents themselves (a 2-latent model needs no projection)"
    else:
        axes = (
            f"the first two principal components of {_space(info)} "
            f"({100 * ex[0]:.0f}% and {100 * ex[1]:.0f}% of the variance)"
        )
    left = "; ".join(f"{n} points without {k} are left out of its panel" for k, n in fig["left_out"].items() if n)
    caption = (
        f"Latent map of {fig['n_points']} test samples, one point per sample: {axes}, coloured by "
        f"{' and by '.join(fig['colourings'])}. Dashed box: the span of the decoded grid below; numbered black "
        "lines: the interpolation paths below (open circles: their two test samples)." + (f" {left}." if left else "")
    )
    return _figure(plot_dir, fig, "latent map with the probed paths and grid", caption)


def interpolations(run: dict, fig: dict, plot_dir: Path) -> Figure:
    info = fig["info"]
    rule = (info.get("interpolation") or {}).get("rule", "")
    caption = (
        f"Decoded interpolations, {_decoder(run)}. Each row walks in a straight line through {_space(info)} from the "
        f"latents of one test sample (left, blue frame: its input) to those of another (right), in {fig['steps']} "
        "steps α = 0 ... 1; α = 0 and α = 1 are the decoder's outputs for the two samples' own codes (their "
        f"reconstructions). {_grid_text(info)} Pairs: {rule} (seed {info.get('seed', '?')})."
        + _which_wafer(run, info)
        + " Colour scale shared along a row."
    )
    return _figure(plot_dir, fig, "decoded latent interpolations", caption)


def meshgrid(run: dict, fig: dict, plot_dir: Path) -> Figure:
    info = fig["info"]
    grid = info.get("grid") or {}
    if (info.get("map") or {}).get("kind") == "latents":
        where = "the two latents: the first across, the second up, each at its test mean + a·σ"
    else:
        where = (
            f"the two leading principal directions v1 (across) and v2 (up) of {_space(info)}, at "
            "mean + a·σ1·v1 + b·σ2·v2"
        )
    railed = int(grid.get("values_at_rail", 0))
    caption = (
        f"Decoded grid ({fig['size']} x {fig['size']}), {_decoder(run)}, over {where} with a, b from "
        f"-{num(fig['span'])} to +{num(fig['span'])} (σ: the standard deviation of the test latents along that "
        f"direction). The red-framed centre panel decodes the mean latent vector. {_grid_text(info)}"
        + (f" {railed} latent values of the grid lay beyond a rail and were clipped." if railed else "")
        + _which_wafer(run, info)
        + " One colour scale for the whole grid."
    )
    return _figure(plot_dir, fig, "decoded meshgrid over the leading latent directions", caption)


def traversals(run: dict, fig: dict, plot_dir: Path) -> Figure:
    info = fig["info"]
    trav = info.get("traversal") or {}
    caption = (
        f"Per-latent traversals, {_decoder(run)}. Each row varies one latent from its smallest to its largest value on "
        f"the test split ({trav.get('steps', '?')} steps rounded to its codes; the value is above each panel; a step "
        "that rounds to a code already shown is left blank) while every other latent keeps the codes of reference "
        f"test sample {trav.get('reference', '?')} (the non-empty sample nearest the per-latent median; left: its "
        f"input). The red frame marks the step nearest the reference's own code. Shown: {trav.get('chosen', '?')}."
        + _which_wafer(run, info, per_latent=True)
        + " One colour scale for the whole figure."
    )
    return _figure(plot_dir, fig, "per-latent traversals", caption)


def probing(run: dict, figs: dict, plot_dir: Path) -> list:
    """The "Latent-space probing" section's blocks."""
    missing = figs.get("probing_missing")
    if missing:
        return [
            note(
                f"No latent-space probing pictures: the run folder {missing['run']} {missing['why']} (a run trained "
                "before micae computed latent probing, or probing failed there). "
                f"`micae report --run {missing['run']} --firmware <folder>` computes it once from micae.h5 and the "
                "stored test latents, then draws these pictures (delete a broken probing.npz first)."
            )
        ]
    blocks: list = []
    if figs.get("latent_map"):
        blocks.append(latent_map(figs["latent_map"], plot_dir))
    if figs.get("latent_interpolations"):
        blocks.append(interpolations(run, figs["latent_interpolations"], plot_dir))
    if figs.get("latent_meshgrid"):
        blocks.append(meshgrid(run, figs["latent_meshgrid"], plot_dir))
    if figs.get("latent_traversals"):
        blocks.append(traversals(run, figs["latent_traversals"], plot_dir))
    return blocks or [note("probing.npz holds no pictures for this run.")]


def vae_prior(figs: dict, plot_dir: Path) -> list:
    """The VAE section: the prior against the posterior means, and per-latent statistics."""
    fig = figs["vae_prior"]
    stats = fig["stats"]
    picked = ", ".join(f"z{d}" for d in fig["dims"])
    which = (
        "every latent"
        if len(fig["dims"]) == len(stats)
        else (f"the latents whose posterior means spread most and least ({picked})")
    )
    curve = (
        " Dashed orange: the aggregate posterior (the average of every test sample's N(mean, σ²), from "
        "latent_logvar), which a well-trained VAE brings close to the prior."
        if fig["logvar"]
        else " The run stored no latent_logvar, so the posterior widths are not shown."
    )
    caption = (
        "Histogram (density) of the test-split posterior means (the encoder's mean head, the latents the "
        f"hardware sends), pooled over the encoder's inputs, against the prior N(0, 1) (black), for {which}." + curve
    )
    flat = [s["dim"] for s in stats if s["std"] < 0.1]
    blocks: list = []
    if flat:
        blocks.append(
            note(
                f"{len(flat)} of {len(stats)} latents have posterior means that barely move (standard deviation "
                f"< 0.1 on the test split): {', '.join(f'z{d}' for d in flat)}. They carry little information "
                "about the input (posterior collapse onto the prior).",
                "warn",
            )
        )
    blocks.append(_figure(plot_dir, fig, "VAE prior against the posterior means", caption))
    head = ["latent", "mean of means", "std of means"] + (
        ["mean posterior σ", "mean KL (nats)"] if fig["logvar"] else []
    )
    rows = [
        [f"z{s['dim']}", num(s["mean"]), num(s["std"])] + ([num(s["sigma"]), num(s["kl"])] if fig["logvar"] else [])
        for s in stats
    ]
    blocks.append(Details("Per-latent posterior statistics", [Table(head, rows, numeric=set(range(1, len(head))))]))
    return blocks
