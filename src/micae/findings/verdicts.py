"""The findings' verdicts: pure functions of measured numbers, each with its rule stated.

Nothing here assumes the seed projects' conclusions: every function takes the numbers a study measured
and returns a :class:`Verdict` that says ``confirmed``, ``not confirmed`` or ``inconclusive`` together
with the numbers and the rule that decided it. Thresholds are arguments (the study config's
``tolerances``), so a reader can see what "similar" or "saturated" meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE = "confirmed", "not confirmed", "inconclusive"


@dataclass(frozen=True)
class Verdict:
    """One claim as the data show it."""

    claim: str
    status: str
    evidence: str
    rule: str
    numbers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def explained_fraction(mse: float, baseline_mse: float) -> float:
    """1 - MSE / MSE of the mean image (the fraction of the part's variance the reconstruction explains)."""
    return 1.0 - mse / baseline_mse if baseline_mse > 0 else float("nan")


def concatenation_verdict(part_mse: Sequence[float], part_baseline: Sequence[float], minimum: float) -> Verdict:
    """Finding 1: the concatenated latents of solitary encoders carry every part.

    Rule: a decoder trained on the concatenation explains at least ``minimum`` of every part's variance
    (explained fraction = 1 - MSE / MSE of predicting the training mean image, on the test split).
    """
    fractions = [explained_fraction(m, b) for m, b in zip(part_mse, part_baseline)]
    worst = min(range(len(fractions)), key=lambda i: fractions[i])
    ok = all(f >= minimum for f in fractions)
    shown = ", ".join(f"part {i}: {f:.3f}" for i, f in enumerate(fractions))
    return Verdict(
        claim="encoders trained alone can have their latents concatenated",
        status=CONFIRMED if ok else NOT_CONFIRMED,
        evidence=f"explained fraction per part {shown}; the worst, part {worst}, is "
        f"{'at or above' if ok else 'below'} {minimum:g}",
        rule=f"every part's explained fraction (1 - MSE / MSE of the mean image, test split) >= {minimum:g}",
        numbers={"explained_fraction": fractions, "minimum": minimum},
    )


def ratio_verdict(claim: str, value: float, reference: float, tolerance: float, what: str, against: str) -> Verdict:
    """``value`` "performs like" ``reference``: confirmed when |value / reference - 1| <= tolerance."""
    ratio = value / reference if reference > 0 else float("inf")
    diff = ratio - 1.0
    ok = abs(diff) <= tolerance
    if ok:
        how = "within"
    else:
        how = "worse than" if diff > 0 else "better than"
    return Verdict(
        claim=claim,
        status=CONFIRMED if ok else NOT_CONFIRMED,
        evidence=f"{what} {value:.4g} vs {against} {reference:.4g}: {_pct(diff)}, {how} the "
        f"+-{100 * tolerance:g}% band",
        rule=f"|{what} / {against} - 1| <= {tolerance:g}",
        numbers={"value": value, "reference": reference, "ratio": ratio, "tolerance": tolerance},
    )


def reproduction_verdict(concat_mse: Sequence[float], own_mse: Sequence[float], tolerance: float) -> Verdict:
    """Finding 2: per part, the decoder on the concatenation is no worse than that part's own solitary CAE
    by more than ``tolerance`` (relative test MSE)."""
    ratios = [c / o if o > 0 else float("inf") for c, o in zip(concat_mse, own_mse)]
    ok = all(r <= 1.0 + tolerance for r in ratios)
    shown = ", ".join(f"part {i}: {_pct(r - 1)}" for i, r in enumerate(ratios))
    return Verdict(
        claim="a decoder trained on the concatenation reproduces the concatenated inputs",
        status=CONFIRMED if ok else NOT_CONFIRMED,
        evidence=f"test MSE of the concatenation's decoder vs each part's own solitary CAE: {shown}",
        rule=f"for every part, MSE(concatenation decoder) / MSE(the part's own CAE) <= 1 + {tolerance:g}",
        numbers={"ratios": ratios, "tolerance": tolerance},
    )


def saturation_latent(latents: Sequence[int], mse: Sequence[float], tolerance: float) -> int:
    """The smallest latent size whose test MSE is within ``tolerance`` (relative) of the best one."""
    best = min(mse)
    return min(lat for lat, m in zip(latents, mse) if m <= best * (1.0 + tolerance))


def saturation_verdicts(
    latents: Sequence[int], mse: Sequence[float], tolerance: float, around: tuple[int, int]
) -> list[Verdict]:
    """Finding 5: "a larger latent is not always better" and "it saturated around 64".

    L_sat = the smallest latent within ``tolerance`` of the best test MSE. "Not always better" is
    confirmed when a larger latent than L_sat exists in the sweep (those gain less than the tolerance).
    "Saturated around 64" is confirmed when ``around[0] <= L_sat <= around[1]`` and the sweep goes
    beyond L_sat; inconclusive when L_sat is the largest latent swept (saturation not reached or not
    shown).
    """
    pairs = sorted((int(lat), float(m)) for lat, m in zip(latents, mse))
    if len(pairs) < 2:
        numbers = {"latents": [p[0] for p in pairs], "mse": [p[1] for p in pairs]}
        why = "fewer than two latent sizes were swept"
        return [
            Verdict("a larger latent is not always better", INCONCLUSIVE, why, "needs >= 2 latent sizes", numbers),
            Verdict("it saturated around 64", INCONCLUSIVE, why, "needs >= 2 latent sizes", numbers),
        ]
    lats, vals = [p[0] for p in pairs], [p[1] for p in pairs]
    l_sat, l_max = saturation_latent(lats, vals, tolerance), lats[-1]
    best_lat = lats[vals.index(min(vals))]
    numbers = {"latents": lats, "mse": vals, "l_sat": l_sat, "best_latent": best_lat, "tolerance": tolerance}
    sat_rule = f"L_sat = the smallest latent with test MSE <= (1 + {tolerance:g}) x the best"
    base = f"best test MSE {min(vals):.4g} at {best_lat} latents; L_sat = {l_sat}"
    beyond = l_sat < l_max
    first = Verdict(
        "a larger latent is not always better",
        CONFIRMED if beyond else NOT_CONFIRMED,
        f"{base}; "
        + (
            f"{l_max} latents gain less than {100 * tolerance:g}% over {l_sat}"
            if beyond
            else f"the largest latent swept ({l_max}) is still the first within {100 * tolerance:g}% of the best"
        ),
        f"{sat_rule}; confirmed when the sweep has larger latents than L_sat",
        numbers,
    )
    lo, hi = around
    if not beyond:
        status, why = INCONCLUSIVE, f"L_sat is the largest latent swept ({l_max}): saturation is not shown"
    elif lo <= l_sat <= hi:
        status, why = CONFIRMED, f"L_sat = {l_sat} lies in [{lo}, {hi}]"
    else:
        status, why = (
            NOT_CONFIRMED,
            f"L_sat = {l_sat} lies outside [{lo}, {hi}] (it saturates " + ("earlier)" if l_sat < lo else "later)"),
        )
    second = Verdict(
        "it saturated around 64",
        status,
        f"{base}; {why}",
        f"{sat_rule}; confirmed when {lo} <= L_sat <= {hi} and larger latents were swept",
        numbers,
    )
    return [first, second]


def moving_mean(values: Sequence[float], k: int) -> list[float]:
    """Means of every ``k`` consecutive values (``len(values) - k + 1`` of them)."""
    return [sum(values[i : i + k]) / k for i in range(len(values) - k + 1)]


def overfitting_verdict(
    model: str, loss: Sequence[float], val_loss: Sequence[float], max_ratio: float, max_rise: float, last: int = 3
) -> Verdict:
    """Finding 6 for one model: it does not overfit.

    Both curves are smoothed by a moving mean over ``last`` epochs. Two signs of overfitting at the
    end of training: the smoothed validation loss is more than ``max_ratio`` x the smoothed training
    loss, or it ends more than ``max_rise`` (relative) above its own minimum.
    """
    if not loss or not val_loss:
        return Verdict(
            f"{model} does not overfit", INCONCLUSIVE, "no loss history was recorded", "needs loss curves", {}
        )
    k = max(1, min(last, len(loss), len(val_loss)))
    train_s, val_s = moving_mean(list(loss), k), moving_mean(list(val_loss), k)
    ratio = val_s[-1] / train_s[-1] if train_s[-1] > 0 else float("inf")
    v_min = min(val_s)
    rise = val_s[-1] / v_min - 1.0 if v_min > 0 else float("inf")
    signs = []
    if ratio > max_ratio:
        signs.append(f"val/train {ratio:.3f} > {max_ratio:g}")
    if rise > max_rise:
        signs.append(f"val loss {_pct(rise)} above its minimum (> {100 * max_rise:g}%)")
    evidence = (
        f"{len(loss)} epochs, {k}-epoch moving mean: at the end val/train = {ratio:.3f}, val loss {_pct(rise)} vs "
        f"its minimum {v_min:.4g} (window ending at epoch {val_s.index(v_min) + k})"
    )
    return Verdict(
        f"{model} does not overfit",
        NOT_CONFIRMED if signs else CONFIRMED,
        evidence + ("; overfitting: " + "; ".join(signs) if signs else ""),
        f"{k}-epoch moving means at the end of training: val/train <= {max_ratio:g} and val loss <= "
        f"(1 + {max_rise:g}) x its minimum",
        {"val_train_ratio": ratio, "val_rise": rise, "epochs": len(loss), "max_ratio": max_ratio, "max_rise": max_rise},
    )


def combine(claim: str, parts: Sequence[Verdict]) -> Verdict:
    """One claim over several datasets or models: confirmed only if every part is, not confirmed if any is
    not, inconclusive otherwise."""
    statuses = [p.status for p in parts]
    if statuses and all(s == CONFIRMED for s in statuses):
        status = CONFIRMED
    elif NOT_CONFIRMED in statuses:
        status = NOT_CONFIRMED
    else:
        status = INCONCLUSIVE
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in (CONFIRMED, NOT_CONFIRMED, INCONCLUSIVE) if s in statuses)
    return Verdict(claim, status, counts, "confirmed only when every part is confirmed", {})
