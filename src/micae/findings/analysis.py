"""From the study's measurements to the six findings: each claim with its checks and verdicts."""

from __future__ import annotations

from micae.findings import verdicts as v
from micae.findings.latent_sweep import usable

CLAIMS = {
    1: "encoders trained alone can have their latents concatenated",
    2: "a decoder trained on the concatenation reproduces the concatenated inputs",
    3: "a decoder trained on a frozen, preloaded shared encoder performs like joint training",
    4: "joint training from scratch with tied weights performs similarly",
    5: "a larger latent is not always better (it saturated around 64)",
    6: "neither CAE nor MICAE overfit",
}


def _check(scope: str, verdict: v.Verdict) -> dict:
    return {"scope": scope, **verdict.to_dict()}


def _metric_checks(label: str, claim: str, value: dict, ref: dict, tol: float, what: str, against: str) -> list:
    """A ratio check on test MSE, and on mean EMD when the dataset has it."""
    checks = [_check(f"{label}, MSE", v.ratio_verdict(claim, value["mse"], ref["mse"], tol, what, against))]
    if "emd_mean" in value and "emd_mean" in ref:
        checks.append(
            _check(f"{label}, EMD", v.ratio_verdict(claim, value["emd_mean"], ref["emd_mean"], tol, what, against))
        )
    return checks


def comparison_checks(label: str, records: dict, tol: dict) -> dict[int, list]:
    """Findings 1-4 for one dataset from its three approach records."""
    sol, frozen, joint = records["solitary"], records["frozen"], records["joint"]
    return {
        1: [_check(label, v.concatenation_verdict(sol["part_mse"], sol["mean_image_part_mse"], tol["explained_min"]))],
        2: [_check(label, v.reproduction_verdict(sol["part_mse"], sol["own_part_mse"], tol["similar"]))],
        3: _metric_checks(
            label, CLAIMS[3], frozen["quality"], joint["quality"], tol["similar"], "frozen-encoder", "joint"
        ),
        4: _metric_checks(label, CLAIMS[4], joint["quality"], sol["quality"], tol["similar"], "joint", "solitary"),
    }


def sweep_checks(label: str, points: list[dict], tol: dict) -> list:
    good = usable(points)
    lats, mse = [p["latent"] for p in good], [p["test_mse"] for p in good]
    found = v.saturation_verdicts(lats, mse, tol["saturation"], tuple(tol["around"]))
    return [_check(label, x) for x in found]


def overfit_checks(label: str, records: dict, tol: dict) -> list:
    """CAE: the frozen run's single-input CAE phase; MICAE: the joint run."""
    out = []
    for model, approach, phase in (("CAE", "frozen", "cae"), ("MICAE", "joint", "micae")):
        h = records[approach]["history"].get(phase, {})
        verdict = v.overfitting_verdict(
            model,
            h.get("loss", []),
            h.get("val_loss", []),
            tol["overfit_ratio"],
            tol["overfit_rise"],
            int(tol["last_epochs"]),
        )
        out.append(_check(f"{label}, {model}", verdict))
    return out


def findings(comparisons: dict[str, dict], sweeps: dict[str, dict], tol: dict) -> list[dict]:
    """The six findings: {id, claim, status, summary, checks: [{scope, claim, status, evidence, rule, numbers}]}."""
    checks: dict[int, list] = {i: [] for i in CLAIMS}
    for label, records in comparisons.items():
        for i, found in comparison_checks(label, records, tol).items():
            checks[i] += found
        checks[6] += overfit_checks(label, records, tol)
    for label, sweep in sweeps.items():
        checks[5] += sweep_checks(label, sweep["points"], tol)
    out = []
    for i, claim in CLAIMS.items():
        overall = v.combine(claim, [v.Verdict(c["claim"], c["status"], "", "") for c in checks[i]])
        out.append(
            {"id": i, "claim": claim, "status": overall.status, "summary": overall.evidence, "checks": checks[i]}
        )
    return out
