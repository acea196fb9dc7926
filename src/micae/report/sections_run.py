"""View-model sections built from the training run folder: quality, reconstructions, training, latent space."""

from __future__ import annotations

from pathlib import Path

from micae.report import run_data
from micae.report.blocks import Bullets, Details, Figure, Heading, Span, Table, note, num, percent
from micae.report.figures import model_label, phase_label
from micae.results.metrics import Metrics, OccupancyBin

METRIC_NAMES = {
    "mse": "MSE mean",
    "mse_median": "MSE median",
    "emd_mean": "EMD mean (half TC pitch)",
    "emd_median": "EMD median (half TC pitch)",
    "emd_q16": "EMD 16% (half TC pitch)",
    "emd_q84": "EMD 84% (half TC pitch)",
    "emd_undefined": "EMD undefined (wafers)",
}
NON_ML = ("bc", "stc", "threshold")


def _figure(plot_dir: Path, fig: dict, alt: str, caption: str) -> Figure:
    return Figure(fig["file"], plot_dir / fig["file"], alt, caption)


def metrics_table(metrics: Metrics) -> Table | None:
    models = {k: v.to_json() for k, v in run_data.models_in_metrics(metrics).items()}
    if metrics.n_parts == 1:  # PCA (joint) of one part is PCA (tied): one row, said in the note
        models.pop("pca_joint", None)
    if not models:
        return None
    cols = [c for c in METRIC_NAMES if any(c in v for v in models.values())]
    rows = [[model_label(k)] + [num(v.get(c)) for c in cols] for k, v in models.items()]
    return Table(["model"] + [METRIC_NAMES[c] for c in cols], rows, numeric=set(range(1, len(cols) + 1)))


def _quality_note(metrics: Metrics) -> str:
    models = run_data.models_in_metrics(metrics)
    text = (
        f"On {metrics.test_samples} test samples. The float twin has the same architecture without "
        "quantization; PCA (tied) projects every input onto as many components as one encoder has latents, "
        "PCA (joint) the whole MICAE sample onto all latents together"
        + (" (the same as PCA (tied) for a one-input model, so not listed)." if metrics.n_parts == 1 else ".")
    )
    present = [model_label(m) for m in NON_ML if m in models]
    if present:
        text += (
            f" {', '.join(present)}: micae's own equal-bit forms of ECON-T's non-ML algorithms (a third family), "
            "sized to the encoder's latent bits and run on its 8-bit input codes of the same test wafers; the "
            "chip's own forms are in the table above when the run kept integer charges."
        )
    if metrics.quantized.emd_mean is None:
        text += " EMD applies to HGCAL wafers only, so it is not shown."
    else:
        text += (
            " EMD in half trigger-cell pitches (neighbouring cells are 2 apart), per wafer normalised to unit sum; "
            "'EMD undefined' counts wafers where the reconstruction is empty (left out of the EMD columns)."
        )
    return text


def budget_blocks(metrics: Metrics) -> list:
    """What micae's equal-bit forms of BC, STC and threshold send per wafer (metrics.json baseline_bit_budgets)."""
    budgets = metrics.baseline_bit_budgets
    if not budgets:
        return []
    rows = []
    for name, b in budgets.items():
        if "n_cells" in b:
            sent = f"{b['n_cells']} cells x {b['bits_per_cell']} bits ({b.get('energy', '')})"
        elif "n_groups" in b:
            sent = f"{b['n_groups']} groups x {b['bits_per_group']} bits ({b.get('sum', '')})"
        else:
            sent = (
                f"cells above code {b.get('threshold_code')}, at most {b.get('max_cells')}, "
                f"{b.get('bits_per_cell')} bits each + {b.get('count_bits')}-bit count"
            )
        bits = b.get("bits_per_wafer", b.get("bits_per_wafer_max"))
        extra = []
        if b.get("bits_per_wafer_mean") is not None:
            extra.append(f"mean {num(b['bits_per_wafer_mean'], 3)} bits")
        if b.get("wafers_over_budget_dropped"):
            extra.append(
                f"{num(b['wafers_over_budget_dropped'])} wafers had more than {b.get('max_cells')} cells above the "
                "threshold: the largest that fit are sent, the smallest dropped"
            )
        rows.append([model_label(name), sent, num(bits), num(b.get("budget_bits")), "; ".join(extra)])
    head = ["baseline", "sends per wafer", "bits / wafer", "budget bits", "note"]
    return [
        Table(head, rows, numeric={2, 3}),
        note(
            "The equal-bit baselines' budgets: each is sized to the encoder's latent bits per wafer (the budget), "
            "from the 8-bit input codes. The chip's own algorithms send the whole ECON-T frame (table above)."
        ),
    ]


def chip_blocks(metrics: Metrics) -> list:
    """The autoencoder against the chip's algorithms at the run's e-link count (metrics.json ``elinks``)."""
    from micae.evaluate.page import algorithm_table, unit_note
    from micae.metrics.emd import empty_reconstruction_cost

    if not metrics.elinks:
        return []
    about = metrics.elinks_about
    L, algos = next(iter(metrics.elinks.items()))
    table = algorithm_table(algos)
    table.head = [h + " (half TC pitch)" if h.startswith("EMD") else h for h in table.head]
    names = {"ae": "QAT model (AE)", "ae_float": "float twin (AE)"}
    table.rows = [[names.get(n, row[0]), *row[1:]] for n, row in zip(algos, table.rows)]
    source = about.elinks_source if about is not None else ""
    data = about.data if about is not None else "the test split"
    text = (
        f"The run's autoencoder against the ECON-T chip's algorithms as the chip sends them at L = {L} e-links "
        f"({source}), and the literature's forms, on {data}. "
        + unit_note(empty_reconstruction_cost())
        + " micae evaluate gives the same table on any data file and at every L."
    )
    return [Heading(f"Against the chip's algorithms at L = {L} e-links"), table, note(text)]


def quality(run: dict, figs: dict, plot_dir: Path) -> list:
    metrics = run_data.run_metrics(run)
    blocks: list = chip_blocks(metrics) if metrics is not None else []
    table = metrics_table(metrics) if metrics is not None else None
    if metrics is not None and table:
        if blocks:
            blocks.append(Heading("Against the float twin, PCA and micae's equal-bit baselines (normalised units)"))
        blocks += [table, note(_quality_note(metrics))]
        blocks += budget_blocks(metrics)
    fig = figs.get("metric_histograms")
    if fig:
        dropped = {k: sum(v.values()) for k, v in fig["dropped"].items() if sum(v.values())}
        extra = "".join(f" {n} non-finite {k.upper()} values (empty wafers) are left out." for k, n in dropped.items())
        for metric, per_model in (fig.get("zeros") or {}).items():
            said = ", ".join(f"{model_label(m)} {n}" for m, n in per_model.items())
            extra += (
                f" {metric.upper()} exactly 0 (lossless wafers) has no place on the log axis; those are counted in "
                f"the legend and not drawn ({said})."
            )
        caption = "Per-sample reconstruction error on the test split." + extra + " " + fig["note"]
        blocks.append(_figure(plot_dir, fig, "per-sample metric histograms", caption.strip()))
    fig = figs.get("emd_vs_charge")
    if fig:
        binned = fig["binned"]
        counts = {m: int(b["n"].sum()) for m, b in binned["models"].items()}
        n = max(counts.values())
        fewer = ", ".join(f"{model_label(m)} {c}" for m, c in counts.items() if c < n)
        kept, total = fig.get("wafers_kept"), fig.get("wafers_total")
        where = (
            f"the first {kept} of the {total} test wafers (the run keeps {kept} test inputs in test_data.npz), "
            if kept and total and kept < total
            else ""
        )
        caption = (
            f"Mean EMD (half trigger-cell pitches) of the wafers in each bin of {fig['x_label']}, one line per "
            f"algorithm: {where}{n} of them with a defined EMD"
            + (f" (fewer for {fewer})" if fewer else "")
            + f", in {len(binned['x_mean'])} bins of equal population. "
            "Error bars are the standard error of the mean (points of one bin are shifted sideways a little so the "
            "bars stay apart)."
        )
        blocks.append(_figure(plot_dir, fig, "mean EMD against wafer charge", caption))
    if metrics is not None:
        blocks += occupancy_blocks(metrics)
    return blocks or [note("The run folder has no metrics.")]


def _occupancy_models(metrics: Metrics, bins: list[OccupancyBin]) -> list[str]:
    """Models with EMDs in the occupancy bins, in the metrics table's order; PCA (joint) is left out when
    it is PCA (tied) (one part)."""
    present = set().union(*(b.emd_mean for b in bins))
    skip = {"pca_joint"} if metrics.n_parts == 1 else set()
    return [m for m in run_data.models_in_metrics(metrics) if m in present and m not in skip]


def occupancy_blocks(metrics: Metrics) -> list:
    """Mean / median EMD per wafer-occupancy bin for every algorithm, and how often the QAT encoder wins
    per wafer (metrics.json ``emd_by_occupancy`` and ``wafer_wins``; nothing for runs without them)."""
    bins = metrics.emd_by_occupancy or []
    if not bins:
        return []
    models = _occupancy_models(metrics, bins)
    rows = []
    for b in bins:
        cells = [f"{num(b.emd_mean.get(m), 3)} / {num(b.emd_median.get(m), 3)}" for m in models]
        rows.append([f"{b.lo}-{b.hi - 1}", str(b.n), *cells])
    head = ["lit cells per wafer", "wafers", *(model_label(m) for m in models)]
    blocks: list = [Table(head, rows, numeric=set(range(1, len(head))))]
    text = (
        "EMD mean / median (half trigger-cell pitches) by the wafer's occupancy (trigger cells with non-zero "
        "charge in the test input). "
        "Best Choice sends its cells exactly, so it is nearly lossless on wafers with fewer lit cells than it "
        "sends; STC never moves charge out of its 2x2 group."
    )
    wins = metrics.wafer_wins or {}
    said = [
        f"{model_label(m)} on {percent(w.better)} (worse on {percent(w.worse)})" for m in models if (w := wins.get(m))
    ]
    if said:
        text += f" Per wafer, the QAT model has the lower EMD than {'; than '.join(said)} of the wafers."
    blocks.append(note(text))
    return blocks


def reconstructions(run: dict, figs: dict, plot_dir: Path) -> list:
    fig = figs.get("reconstructions")
    if not fig:
        return [note("The run folder has no stored reconstructions (test_evaluation.npz / test_data.npz).")]
    if run_data.layout(run) in run_data.HGCAL_LAYOUTS:
        how = (
            "Each panel is one wafer's 48 trigger cells drawn at their positions on the hexagonal wafer; "
            "the colour scale (normalised charge) is shared along a row."
        )
    else:
        how = (
            "Each panel is the whole image: the MICAE tiles (red lines) are put back in place; "
            "the grey scale is shared along a row."
        )
    caption = (
        f"Test samples from the largest to the smallest total input, next to every model's reconstruction. {how} "
        f"The number under each model is that {fig['unit']}'s {fig['score'].upper()}."
    )
    return [_figure(plot_dir, fig, "inputs and reconstructions", caption)]


def training(run: dict, figs: dict, plot_dir: Path) -> list:
    blocks: list = []
    fig = figs.get("training")
    if fig:
        blocks.append(Bullets([[Span(phase_label(p), "b"), Span(f": {t['text']}")] for p, t in fig["trends"].items()]))
        loss = f" The loss: {fig['loss']}." if fig.get("loss") else ""
        caption = (
            f"Top: training and validation loss per epoch (log scale; epochs counted from 1).{loss} Bottom: "
            "validation loss divided by training "
            "loss; a ratio that keeps rising above 1 means the model fits the training set better than unseen data."
        )
        blocks.append(_figure(plot_dir, fig, "training curves", caption))
    else:
        blocks.append(note("The run folder has no history.csv, so there are no training curves."))
    metrics = run_data.run_metrics(run)
    phases = metrics.training if metrics is not None else {}
    if phases:
        rows = [
            [phase_label(p), num(t.epochs_run), num(t.final_loss), num(t.final_val_loss), num(t.seconds)]
            for p, t in phases.items()
        ]
        head = ["phase", "epochs", "final train loss", "final validation loss", "seconds"]
        blocks.append(Table(head, rows, numeric={1, 2, 3, 4}))
    return blocks


def _latent_verdict(flags: list[dict]):
    dead = [f"z{f['dim']}" for f in flags if f["dead"]]
    sat = [f"z{f['dim']}" for f in flags if f["saturated"] and not f["dead"]]
    if not (dead or sat):
        return note(f"All {len(flags)} latent dimensions vary and none sits at a rail for more than half the values.")
    msg = []
    if dead:
        msg.append(f"dead (constant on the test split): {', '.join(dead)}")
    if sat:
        msg.append(f"saturated (at a rail for more than half the values): {', '.join(sat)}")
    return note(
        f"{len(dead) + len(sat)} of {len(flags)} latent dimensions are unused or clipped: "
        + "; ".join(msg)
        + ". Their bits are wasted; consider fewer latents or another latent range.",
        "warn",
    )


def _latent_stats(flags: list[dict]) -> Details:
    rows, tones = [], []
    for f in flags:
        status = "dead" if f["dead"] else "saturated" if f["saturated"] else "ok"
        rows.append(
            [f"z{f['dim']}"]
            + [num(f[k]) for k in ("mean", "std", "min", "max", "distinct")]
            + [percent(f["at_low_rail"]), percent(f["at_high_rail"]), status]
        )
        tones.append("bad" if status != "ok" else "")
    head = ["dim", "mean", "std", "min", "max", "distinct codes", "at low rail", "at high rail", "status"]
    return Details("Per-dimension statistics", [Table(head, rows, numeric=set(range(1, 8)), tones=tones)])


def _projection(proj: dict, plot_dir: Path) -> Figure:
    if proj["points"] == "per part":
        what = "each wafer's latent vector is one point (the colours belong to single wafers)"
    elif proj["n_parts"] > 1:
        what = "the latents of all inputs of a sample are concatenated into one point"
    else:
        what = "one point per test sample"
    left = "; ".join(
        f"{n} points without {'an impact position (no shower)' if k == 'impact position' else k} are left out of "
        f"the {k} panel"
        for k, n in proj["left_out"].items()
        if n
    )
    caption = (
        f"First two principal components of the latent space ({what}; {proj['n_points']} points), coloured by "
        f"{' and by '.join(proj['colourings'])}. " + (left + "." if left else "")
    )
    return _figure(plot_dir, proj, "2-D PCA projection of the latent space", caption.strip())


def latents(run: dict, figs: dict, plot_dir: Path) -> list:
    fig = figs.get("latent_histograms")
    if not fig:
        return [note("The run folder has no latents (test_evaluation.npz).")]
    rails = fig.get("rails")
    rail_text = (
        f"Each x axis spans the values that dimension takes; its title gives the share of the latent "
        f"format's range ({num(rails[0])} to {num(rails[1])}) it spans: a small share means most of its codes "
        "go unused. Red dotted lines mark a rail when it is in view."
        if rails
        else ""
    )
    caption = "One histogram per latent dimension, pooled over the encoder's inputs. " + rail_text
    blocks = [_latent_verdict(fig["flags"]), _figure(plot_dir, fig, "latent histograms", caption.strip())]
    blocks.append(_latent_stats(fig["flags"]))
    if figs.get("latent_projection"):
        blocks.append(_projection(figs["latent_projection"], plot_dir))
    return blocks
