"""What the report reads from a training run folder (``models/<name>/``), as plain arrays and dicts.

Nothing here draws or formats: the figures and the view model take these
values. Files that are missing are simply absent from the returned dict; a
``metrics.json`` that is not JSON raises :class:`~micae.errors.DataError`.
The list of models is derived from the keys the run wrote, so algorithms a
newer training run adds (ECON-T's non-ML baselines) appear without code
changes here.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from micae.data.geometry import HGCAL_LAYOUTS as HGCAL_LAYOUTS
from micae.report.figures import read_history
from micae.results.metrics import Metrics, Scores, load_metrics
from micae.results.report import SynthReport

PREFERRED_ORDER = ("quantized", "float", "pca_tied", "pca_joint", "bc", "stc", "threshold")
"""Models are listed in this order first, then any other model in the order the file holds it."""


def load_run(run_dir: Path) -> dict:
    """``{"dir", "metrics", "history", "data", "eval"}`` from a run folder; missing files are absent."""
    run_dir = Path(run_dir)
    run: dict = {"dir": run_dir}
    if (run_dir / "metrics.json").exists():
        # typed, through the one loader (an older micae's file is carried over, a broken one refused)
        run["metrics"] = load_metrics(run_dir)
    if (run_dir / "history.csv").exists():
        run["history"] = read_history(run_dir / "history.csv")
    if (run_dir / "config.yaml").exists():
        run["loss"] = loss_name(run_dir / "config.yaml")
    for key, name in (("data", "test_data.npz"), ("eval", "test_evaluation.npz")):
        if (run_dir / name).exists():
            with np.load(run_dir / name, allow_pickle=False) as z:
                run[key] = {k: z[k] for k in z.files}
    return run


LOSS_WORDS = {
    "mse": "MSE of the normalised input",
    "telescope": "telescope MSE (the ECON-T autoencoder's loss)",
    "sinkhorn": "Sinkhorn EMD (entropic, in half trigger-cell pitches)",
}


def loss_name(config_yaml: Path) -> str | None:
    """The training loss the run's config.yaml names (train.loss), in words; None when it names none."""
    import yaml

    try:
        train = (yaml.safe_load(config_yaml.read_text()) or {}).get("train") or {}
    except (OSError, yaml.YAMLError):
        return None
    loss = train.get("loss")
    if loss is None:
        return None
    words = LOSS_WORDS.get(str(loss), str(loss))
    objective = train.get("objective")
    if objective and objective != "ae":
        words += f" + the {objective} objective's penalty"
    return words


def run_metrics(run: dict | None) -> Metrics | None:
    """The run's metrics.json, typed (None without a run or without the file)."""
    return None if run is None else run.get("metrics")


def layout(run: dict | None) -> str:
    metrics = run_metrics(run)
    return metrics.layout if metrics is not None else "image"


def ordered_models(names: Iterable[str]) -> list[str]:
    """Unique model names, the known ones in :data:`PREFERRED_ORDER`, then the rest as given."""
    seen = list(dict.fromkeys(names))
    return [m for m in PREFERRED_ORDER if m in seen] + [m for m in seen if m not in PREFERRED_ORDER]


def models_in_arrays(keys: Iterable[str], metric: str) -> list[str]:
    """Models with a ``<model>__<metric>`` array (``metric`` "emd", "mse") or, for "recon", ``recon__<model>``."""
    if metric == "recon":
        return ordered_models(k[len("recon__") :] for k in keys if k.startswith("recon__"))
    suffix = f"__{metric}"
    return ordered_models(k[: -len(suffix)] for k in keys if k.endswith(suffix) and not k.startswith("recon__"))


def models_in_metrics(metrics: Metrics) -> dict[str, Scores]:
    """``{model: scores}`` for the quantized model and every baseline in metrics.json, ordered."""
    found = metrics.models
    return {m: found[m] for m in ordered_models(found)}


def per_sample_metrics(run: dict) -> dict:
    """``{"values": {metric: {model: array}}, "per_wafer", "n_parts"}``.

    EMD is computed per wafer, so with several wafers per sample it holds
    n_parts values per sample (MSE stays per sample): ``per_wafer`` says so.
    """
    ev, data = run.get("eval", {}), run.get("data", {})
    out = {metric: {m: ev[f"{m}__{metric}"] for m in models_in_arrays(ev, metric)} for metric in ("emd", "mse")}
    out = {k: v for k, v in out.items() if v}
    n_parts = int(data["x"].shape[1]) if "x" in data and data["x"].ndim >= 2 else 1
    n_mse = len(next(iter(out.get("mse", {}).values()), []))
    per_wafer = n_parts > 1 and "emd" in out and all(len(v) == n_parts * n_mse for v in out["emd"].values())
    return {"values": out, "per_wafer": per_wafer, "n_parts": n_parts}


def reconstructions(run: dict) -> dict[str, np.ndarray]:
    ev = run.get("eval", {})
    return {m: ev[f"recon__{m}"] for m in models_in_arrays(ev, "recon")}


def wafer_charge(run: dict) -> tuple[np.ndarray, str] | None:
    """Total charge of every test wafer, in the order the per-wafer EMD arrays use, and its unit.

    ``x`` in test_data.npz is normalised per wafer; when the run kept the
    normalisation scale (``aux_norm_scale``) the sum is multiplied back to the
    charge the detector saw (ADC counts), else it is the normalised sum.
    None when the run has no test inputs.
    """
    data = run.get("data", {})
    if "x" not in data:
        return None
    x = np.asarray(data["x"], dtype=np.float64)
    n_parts = x.shape[1] if x.ndim >= 5 else 1
    charge = x.reshape(len(x) * n_parts, -1).sum(axis=1)
    scale = data.get("aux_norm_scale")
    if scale is not None and np.size(scale) == len(charge):
        return charge * np.asarray(scale, dtype=np.float64).reshape(-1), "total charge per wafer (ADC counts)"
    return charge, "sum of the normalised inputs per wafer"


def colourings(run: dict, n: int) -> list[dict]:
    """How to colour the latent projection: digit label; HGCAL energy and impact position; else the input sum."""
    data = run.get("data", {})
    aux = {k[len("aux_") :]: v[:n] for k, v in data.items() if k.startswith("aux_")}
    out = []
    if "label" in aux:
        out.append({"name": "label", "kind": "category", "values": aux["label"]})
    if "energy" in aux and np.any(np.asarray(aux["energy"]) > 0):  # a generator with showers (not pile-up only)
        out.append(
            {
                "name": "shower energy",
                "kind": "log",
                "values": aux["energy"],
                "unit": "shower energy (GeV)",
                "zero_label": "no shower",
            }
        )
    if "eta" in aux and np.asarray(aux["eta"]).dtype.kind == "f":  # the physical hgcal-synth presets
        out.append({"name": "wafer eta", "kind": "value", "values": aux["eta"], "unit": "|eta| of the wafer centre"})
    if "impact_x" in aux and "impact_y" in aux and np.isfinite(aux["impact_x"]).any():
        out.append(
            {
                "name": "impact position",
                "kind": "position",
                "values": np.stack([aux["impact_x"], aux["impact_y"]], axis=-1),
            }
        )
    if not out and "y" in aux:
        y = aux["y"]
        few = y.dtype.kind in "iub" and len(np.unique(y)) <= 20
        out.append({"name": "y", "kind": "category" if few else "value", "values": y})
    if not out and "x" in data:
        x = data["x"][:n]
        out.append(
            {
                "name": "input sum",
                "kind": "value",
                "values": x.reshape(len(x), -1).sum(axis=1),
                "unit": "sum of the inputs",
            }
        )
    return out


def latent_rails(report: SynthReport | dict) -> tuple[tuple[float, float] | None, float | None]:
    """(min, max) and LSB of the latent format from report.json's model section."""
    from micae.report.facts import as_report

    lt = as_report(report).model.latent_type
    if lt is None:
        return None, None
    from micae.fixed.types import FixedType

    t = FixedType(width=lt.width, frac=lt.frac, signed=lt.signed)
    return (t.min_value, t.max_value), t.lsb
