"""findings.html from findings.json: a view model of formatted cells, rendered with Jinja2.

One self-contained file like report.html: the report's CSS (``micae/report/templates/report.css``)
plus a few rules of its own inlined, figures embedded as data URIs (and linked to their PNG).
"""

from __future__ import annotations

import base64
from pathlib import Path

from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
REPORT_CSS = Path(__file__).resolve().parents[1] / "report" / "templates" / "report.css"
EXTRA_CSS = """
.verdict{display:inline-block;padding:1px 7px;border-radius:9px;font-weight:600;font-size:12px;white-space:nowrap}
.verdict.confirmed{background:#e5f5e8;color:#1b6e2f}
.verdict.not-confirmed{background:#fdecea;color:#a1271b}
.verdict.inconclusive{background:#fff6e0;color:#8a6200}
.card.inconclusive{border-color:#e0c060;background:#fffaf0}
.card .v{font-size:17px}
.card .d{min-height:32px}
td.rule{font-size:12px;color:#555d66}
table.checks td{max-width:520px}
"""
APPROACH_TEXT = {
    "solitary": "solitary encoders (untied), each trained alone as a CAE on its own part, frozen; "
    "a decoder trained on their concatenated latents",
    "frozen": "one shared encoder pre-trained as a single-input CAE on every part, frozen; a new decoder "
    "(train.mode: encoder)",
    "joint": "one shared encoder (tied weights) and the decoder trained together from scratch (train.mode: joint)",
}
TONES = {"confirmed": "pass", "not confirmed": "fail", "inconclusive": "inconclusive"}


def _f(value, fmt: str = ".4g") -> str:
    return "" if value is None else format(value, fmt)


def _figure(path: Path, root: Path, caption: str) -> dict:
    uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return {"uri": uri, "rel": str(path.relative_to(root)), "caption": caption, "alt": caption}


def _approach_table(label: str, recs: dict) -> dict:
    has_emd = any("emd_mean" in r["quality"] for r in recs.values())
    head = ["approach", "what", "test MSE", *(["test EMD (mean)"] if has_emd else [])]
    head += ["run wall s", "run CPU s", "fit wall s", "params total", "trainable (last phase)", "trained (all phases)"]
    head += ["epochs per phase"]
    rows = []
    for name, r in recs.items():
        q, s, p = r["quality"], r["seconds"], r["params"]
        row = [name, APPROACH_TEXT[name], _f(q["mse"]), *([_f(q.get("emd_mean"), ".3f")] if has_emd else [])]
        row += [_f(s["run_wall_s"], ".1f"), _f(s["run_cpu_s"], ".1f"), _f(s["fit_wall_s"], ".1f")]
        row += [f"{p['total']:,}", f"{p['trainable_final']:,}", f"{p['trained_all']:,}"]
        row += [", ".join(f"{k}: {v}" for k, v in r["epochs"].items())]
        rows.append(row)
    first_num = 2
    return {"head": head, "rows": rows, "num": set(range(first_num, len(head) - 1))}


def _parts_table(sol: dict) -> dict:
    rows = []
    for i, (c, o, b) in enumerate(zip(sol["part_mse"], sol["own_part_mse"], sol["mean_image_part_mse"])):
        rows.append([f"part {i}", _f(c), _f(o), _f(c / o - 1 if o else None, "+.1%"), _f(b), _f(1 - c / b, ".3f")])
    head = [
        "part",
        "concatenation decoder MSE",
        "own solitary CAE MSE",
        "difference",
        "mean-image MSE",
        "explained fraction",
    ]
    return {"head": head, "rows": rows, "num": {1, 2, 3, 4, 5}}


def _sweep_table(points: list[dict]) -> dict:
    has_emd = any(p["emd_mean"] is not None for p in points)
    head = ["latents per part", "compression (values)", "status", "test MSE", *(["test EMD"] if has_emd else [])]
    head += ["nonzero encoder weights", "mismatches (bit-exact check)", "point wall s", "note"]
    rows = []
    for p in points:
        row = [p["latent"], _f(p["compression"], ".3g"), p["status"], _f(p["test_mse"])]
        row += [_f(p["emd_mean"], ".3f")] if has_emd else []
        row += [_f(p["weights_nz"], ".0f"), _f(p["mismatches"], ".0f"), _f(p["seconds"], ".0f"), p["error"]]
        rows.append(row)
    return {"head": head, "rows": rows, "num": {0, 1, 3, 4, 5, 6, 7} if has_emd else {0, 1, 3, 4, 5, 6}}


def _same_config_line(label: str, joint: dict, points: list[dict]) -> str | None:
    """The in-process joint run against the sweep point with the same config (another process, 1 TF thread)."""
    latent = joint["config"]["encoder"]["latent"]
    twin = next((p for p in points if p["latent"] == latent and p["test_mse"] is not None), None)
    if twin is None:
        return None
    mse = joint["quality"]["mse"]
    return (
        f"{label}: the joint run of findings 1-4 and the sweep point with the same config ({latent} latents) were "
        f"trained separately: test MSE {mse:.5g} in this process, {twin['test_mse']:.5g} in the sweep's "
        f"subprocess ({twin['test_mse'] / mse - 1:+.1%})."
    )


def _checks(found: list[dict], ids: tuple[int, ...]) -> list[dict]:
    return [{"finding": f["id"], **c} for f in found if f["id"] in ids for c in f["checks"]]


def _timing_line(t: dict) -> str:
    return (
        f"total {t['wall_s']:.0f} s wall; CPU {t['cpu_self_s']:.0f} s in this process and {t['cpu_children_s']:.0f} s "
        "in its child processes (Dask workers and their train/synthesize subprocesses)"
    )


def view(result: dict, root: Path, figures: dict[str, Path], config_text: str) -> dict:
    """Everything the template shows, as strings and small tables."""
    tol = result["tolerances"]
    found = result["findings"]
    comps, sweeps = result["comparisons"], result["sweeps"]
    datasets = []
    for label, recs in comps.items():
        sol = recs["solitary"]
        datasets.append(
            {
                "title": f"{label}: {sol['n_parts']} parts, layout {sol['layout']}, {sol['test_samples']} test samples",
                "approaches": _approach_table(label, recs),
                "solitary_note": "Per part: the decoder on the concatenated solitary latents against each part's own "
                "solitary CAE (finding 2), and against predicting the mean training image (finding 1).",
                "parts": _parts_table(sol),
            }
        )
    return {
        "name": result["name"],
        "subtitle": f"seed {result['seed']}; {', '.join(comps)}; run {result['created']} on {result['host']} "
        f"({result['cores']} cores); {_timing_line(result['timing'])}"
        + (f"; verdicts recomputed {result['rejudged']} (--page-only)" if result.get("rejudged") else ""),
        "findings": [{**f, "tone": TONES.get(f["status"], "")} for f in found],
        "compare_intro": [
            "Same data, seed, encoder and decoder specs and epochs per phase for the three approaches. Test MSE and "
            "EMD on the test split, of the QAT model. Times are measured in this process: 'run' = the "
            "whole run (data, every training phase, evaluation, files), wall (perf_counter) and CPU "
            "(getrusage, all threads); 'fit' = the wall time of the Keras fits alone. The machine may be shared: "
            "CPU seconds are the steadier figure.",
            "Every phase runs the same number of epochs, so the pre-training approaches (solitary, frozen) train "
            "for more epochs in total than joint training, which has one phase (see 'epochs per phase').",
            "Parameters: 'total' = the final model (encoders + decoder), 'trainable (last phase)' = what its "
            "last training phase updated, 'trained (all phases)' adds the encoders and the CAE decoders of the "
            "pre-training phases (the solitary approach trains N untied encoders).",
        ],
        "datasets": datasets,
        "checks_14": _checks(found, (1, 2, 3, 4)),
        "sweep_intro": [
            "Joint MICAE runs of each dataset's config at every latent size, run by micae's sweep machinery on a "
            f"local Dask cluster ({result['workers']} workers): each point trains (micae train) and converts and "
            "verifies its encoder bit-exactly (micae synth, options below) in child processes. Points below "
            "min_compression would be skipped; the study lowers min_compression per dataset so the sweep can reach "
            "the largest latents (there the encoder expands its input instead of compressing it).",
        ],
        "sweep_twins": [
            line
            for label, s in sweeps.items()
            if label in comps and (line := _same_config_line(label, comps[label]["joint"], s["points"]))
        ],
        "sweeps": [
            {
                "title": f"{label} (sweep folder {s['root']}, {s['seconds_wall']:.0f} s wall)",
                "table": _sweep_table(s["points"]),
            }
            for label, s in sweeps.items()
        ],
        "checks_5": _checks(found, (5,)),
        "curves_intro": [
            "CAE = the single-input CAE phase of the frozen-encoder run (the shared encoder trained on every part "
            "as its own sample); MICAE = the joint run. Loss = the training objective per epoch (Keras: training "
            "loss averaged over the epoch's batches, validation loss after the epoch).",
        ],
        "checks_6": _checks(found, (6,)),
        "figures": {
            "compare": _figure(figures["compare"], root, "Test MSE of the three approaches (findings 1-4)."),
            "sweep": _figure(
                figures["sweep"],
                root,
                f"Test MSE against latents per part; green band: within {100 * tol['saturation']:g}% of the best; "
                "dashed: L_sat; grey: nonzero encoder weights from each point's synthesis report.",
            ),
            "curves": _figure(figures["curves"], root, "Training (solid) and validation (dashed) loss per epoch."),
        },
        "method": result["method"],
        "tolerances": {
            "head": ["key", "value"],
            "rows": [[k, str(vv)] for k, vv in tol.items()],
            "num": set(),
        },
        "config_name": result["config_file"],
        "config_text": config_text,
    }


def render(result: dict, root: Path, figures: dict[str, Path], config_text: str) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    css = Markup(REPORT_CSS.read_text(encoding="utf-8") + EXTRA_CSS)  # our own files, not user data
    return env.get_template("findings.html.j2").render(view=view(result, root, figures, config_text), css=css)
