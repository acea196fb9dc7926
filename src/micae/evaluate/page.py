"""evaluation.md and evaluation.html: the report's view model and templates (:mod:`micae.report.render`)."""

from __future__ import annotations

from pathlib import Path

from micae.evaluate.block import Block
from micae.evaluate.figures import label, plot_emd_histograms, plot_emd_vs_lit
from micae.evaluate.schema import AlgorithmResult, Evaluation
from micae.report.blocks import Bullets, Card, Figure, Heading, ReportView, Section, Span, Table, note, num, para

HEAD = [
    "algorithm",
    "family",
    "EMD mean",
    "EMD median",
    "EMD mean, >= 16 lit",
    "EMD median, >= 16 lit",
    "MSE (wafer-sum units)",
    "bits / wafer",
    "lossless",
    "energy kept",
    "sent nothing",
]
UNIT_NOTE = (
    "EMD in emd units (half a trigger-cell pitch; neighbouring cells are 2.0 apart), on non-empty wafers, each "
    "normalised to unit sum. A wafer where an algorithm sends nothing counts with {cost:.2f}, the largest "
    "TC-to-TC distance: the unbalanced EMD's cost of destroying the whole unit of charge, an upper bound of "
    "every balanced EMD, so sending nothing never scores better than sending something ('sent nothing' counts "
    "those wafers). MSE: the mean over 48 cells of ((reconstruction - CALQ) / true wafer sum)^2, averaged over "
    "wafers. Bits: the whole frame, header and sum included; Threshold-Sum and the literature thresholds vary "
    "per wafer (largest here, mean in brackets)."
)


def emd_text(v: float | None) -> str:
    """An EMD for a table cell: 3 decimals (values run from 0 to 13.76), "-" for none."""
    return "-" if v is None else f"{v:.3f}"


def _row(name: str, r: AlgorithmResult) -> list[str]:
    bits = str(r.bits_per_wafer) + (f" ({r.bits_per_wafer_mean:.1f})" if r.bits_per_wafer_mean is not None else "")
    return [
        label(name),
        r.family,
        emd_text(r.emd_mean),
        emd_text(r.emd_median),
        emd_text(r.lit_ge16.emd_mean),
        emd_text(r.lit_ge16.emd_median),
        num(r.mse, 3),
        bits,
        f"{100 * r.lossless_fraction:.1f}%",
        f"{100 * r.energy_kept:.1f}%",
        num(r.empty_reconstructions),
    ]


SUMMARY_NAMES = (
    *("ae", "ae_float", "bc", "stc4", "stc16", "threshold"),
    *("lit_bc", "lit_stc16", "lit_thr_1p35", "lit_thr_2p0"),
)


def summary_table(ev: Evaluation) -> Table:
    """The headline: mean / median EMD per L, overall and on wafers with >= 16 lit cells (the issue's table)."""
    ls = sorted(ev.elinks)
    names = [n for n in SUMMARY_NAMES if any(n in ev.elinks[L] for L in ls)]
    head = ["algorithm"]
    for L in ls:
        head += [f"L = {L}: all", f"L = {L}: >= 16 lit"]
    rows, tones = [], []
    for n in names:
        row = [label(n)]
        for L in ls:
            r = ev.elinks[L].get(n)
            if r is None:
                row += ["", ""]
                continue
            row += [f"{emd_text(r.emd_mean)} / {emd_text(r.emd_median)}"]
            row += [f"{emd_text(r.lit_ge16.emd_mean)} / {emd_text(r.lit_ge16.emd_median)}"]
        rows.append(row)
        tones.append("good" if n.startswith("ae") else "")
    return Table(head, rows, numeric=set(range(1, len(head))), tones=tones)


def algorithm_table(algos: dict[str, AlgorithmResult]) -> Table:
    """Every figure of every algorithm at one e-link count (the autoencoder's rows highlighted)."""
    rows = [_row(name, r) for name, r in algos.items()]
    tones = ["good" if r.family == "autoencoder" else "" for r in algos.values()]
    return Table(HEAD, rows, numeric=set(range(2, len(HEAD))), tones=tones)


def unit_note(cost: float) -> str:
    return UNIT_NOTE.format(cost=cost)


def elinks_tables(ev: Evaluation) -> list:
    blocks: list = []
    for L, algos in sorted(ev.elinks.items()):
        n16 = next(iter(algos.values())).lit_ge16.n
        blocks.append(Heading(f"L = {L} e-links ({32 * L} bits per bunch crossing; {n16} wafers with >= 16 lit)"))
        blocks.append(algorithm_table(algos))
    blocks.append(note(unit_note(ev.definitions.empty_reconstruction_emd)))
    return blocks


def _cards(ev: Evaluation) -> list[Card]:
    d = ev.data
    cards = [
        Card("data", f"{d.wafers_evaluated:,} wafers", f"{'generated' if d.generated else 'real'}: {d.kind}"),
    ]
    run = ev.run
    if run is not None and run.elinks in ev.elinks:
        algos = ev.elinks[run.elinks]
        if "ae" in algos:
            cards.append(Card(f"AE at L = {run.elinks}", emd_text(algos["ae"].emd_mean), "mean EMD (half TC pitch)"))
        chip = {n: r for n, r in algos.items() if r.family == "chip"}
        if chip:
            best = min(chip, key=lambda n: chip[n].emd_mean)
            cards.append(Card(f"best chip at L = {run.elinks}", emd_text(chip[best].emd_mean), label(best)))
    return cards


def _data_bullets(ev: Evaluation) -> Bullets:
    d, r = ev.data, ev.run
    items = [
        [Span("data: ", "b"), Span(d.description)],
        [Span("wafers: ", "b"), Span(f"{d.wafers_read} read, {d.wafers_dropped_zero} all-zero not scored, "
                                    f"{d.wafers_evaluated} scored")],
        [Span("seen in training: ", "b"), Span(f"{d.seen_in_training} ({d.seen_in_training_why})")],
        [Span("row order: ", "b"), Span(d.order)],
    ]  # fmt: skip
    if d.path:
        items.append([Span("file: ", "b"), Span(d.path, "code")])
    if r is not None:
        where = f"{r.name} (trained on {r.dataset}), L = {r.elinks} ({r.elinks_source})"
        items.append([Span("run: ", "b"), Span(where)])
        items.append([Span("autoencoder input: ", "b"), Span(f"normalisation {r.normalisation}, layout {r.layout}")])
        if r.note:
            items.append([Span("note: ", "b"), Span(r.note)])
    return Bullets(items)


def _descriptions(ev: Evaluation) -> Table:
    seen: dict[str, AlgorithmResult] = {}
    for algos in ev.elinks.values():
        for name, r in algos.items():
            seen.setdefault(name, r)
    rows = [[label(n), r.family, r.description] for n, r in seen.items()]
    return Table(["algorithm", "family", "what it sends (at the first L it appears)"], rows)


def build_view(ev: Evaluation, figs: dict[str, Figure]) -> ReportView:
    run = ev.run
    name = run.name if run else "chip algorithms"
    n16 = next(iter(next(iter(ev.elinks.values())).values())).lit_ge16.n
    summary = [
        summary_table(ev),
        note(
            f"EMD mean / median in emd units (half a trigger-cell pitch), on all {ev.data.wafers_evaluated} "
            f"non-empty wafers and on those with 16 or more lit cells ({n16} "
            "wafers). Empty cells: the algorithm does not fit at that L (the autoencoder is scored at the run's "
            "L only). Every figure of every algorithm is in the tables below."
        ),
    ]
    sections = [
        Section("summary", "Summary", summary),
        Section("results", "Results per e-link count", elinks_tables(ev)),
        Section("occupancy", "EMD against lit cells", [figs["occupancy"]]),
        Section("histograms", "EMD distributions", [figs["histograms"]]),
        Section("data", "Data and run", [_data_bullets(ev)]),
        Section("algorithms", "Algorithms", [_descriptions(ev)]),
    ]
    warn = []
    if ev.data.seen_in_training in ("yes", "partly"):
        text = f"These wafers overlap the run's training data: {ev.data.seen_in_training_why}."
        sections[0].blocks.insert(0, para(text, "warn"))
        warn.append("overlaps training data")
    return ReportView(
        name=name,
        subtitle=f"{ev.data.description}; written {ev.created} by micae {ev.micae_version} in {ev.seconds:.0f} s",
        verdict=f"Evaluation of {name} on {ev.data.wafers_evaluated} wafers at L = "
        f"{', '.join(map(str, ev.elinks))}" + (f" ({', '.join(warn)})" if warn else "") + ".",
        ok=not warn,
        banners=[],
        cards=_cards(ev),
        sections=sections,
        heading=f"micae evaluation: {name}",
    )


def write_pages(out: Path, ev: Evaluation, block: Block) -> None:
    """Draw the figures into ``out/plots`` and write ``out/evaluation.md`` and ``out/evaluation.html``."""
    from micae.report.render import render_html, render_markdown

    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    plot_emd_vs_lit(ev.elinks, plots / "emd_vs_lit.png")
    families = {n: r.family for algos in ev.elinks.values() for n, r in algos.items()}
    drawn = plot_emd_histograms(block.emds, families, plots / "emd_histograms.png")
    figs = {
        "occupancy": Figure(
            "emd_vs_lit.png", plots / "emd_vs_lit.png", "mean EMD against lit cells, one panel per L",
            "Mean EMD (half a trigger-cell pitch) of the wafers in each lit-cell bin, one line per algorithm "
            "(dashed: the literature's forms). Empty bins are left out.",
        ),
        "histograms": Figure(
            "emd_histograms.png", plots / "emd_histograms.png", "per-wafer EMD histograms, one panel per L",
            f"Per-wafer EMD (half a trigger-cell pitch) of {', '.join(label(n) for n in drawn)}; log counts. "
            "Wafers where an algorithm sent nothing sit at the dotted line (13.76). The other algorithms are in "
            "the tables and per_wafer.npz.",
        ),
    }  # fmt: skip
    view = build_view(ev, figs)
    (out / "evaluation.md").write_text(render_markdown(view), encoding="utf-8")
    (out / "evaluation.html").write_text(render_html(view), encoding="utf-8")
