"""How much hidden bias would it take to explain an effect away?

For estimates that are not randomized, the question a referee asks next: how strong would an
unrecorded difference between participants and their comparisons (drive, a manager's backing)
have to be to produce the whole effect?

- The E-value (VanderWeele & Ding 2017) of a risk ratio or hazard ratio: the strength of
  association, on the risk-ratio scale, that an unmeasured confounder would need with both
  taking part and the outcome to explain the estimate away; and of the interval's end nearest 1
  (1 when the interval already includes no effect).
- The robustness value (Cinelli & Hazlett 2020) of a regression-adjusted difference: the share of
  the residual variance of both the participation and the outcome that an omitted variable would
  have to explain to bring the estimate to zero (q = 1), or to make it insignificant (alpha).

`of(result)` gives one row per non-randomized causal headline of a retention or promotion result,
each with a sentence a stakeholder can read; the rollout's own checks (a placebo start, bounds on
departures from parallel trends) are in `effects.placebo` and `did.honest_did`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .bounds import observed_rate


def evalue(ratio: float, low: float | None = None, high: float | None = None) -> tuple[float, float]:
    """(E-value of a risk ratio, E-value of its interval's end nearest 1; 1 when the interval
    includes 1). Ratios below 1 are inverted first."""
    def one(rr: float) -> float:
        if math.isnan(rr) or rr < 0:
            return float("nan")
        if rr == 0 or math.isinf(rr):
            return float("inf")
        rr = 1 / rr if rr < 1 else rr
        return float(rr + math.sqrt(rr * (rr - 1)))

    point = one(ratio)
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return point, float("nan")
    if low <= 1 <= high:
        return point, 1.0
    return point, one(low if ratio > 1 else high)


def hazard_to_risk_ratio(hr: float, common: bool) -> float:
    """A hazard ratio on the risk-ratio scale: itself for a rare outcome (under 15% by the end of
    follow-up), else VanderWeele's (2020) approximation (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))."""
    if not common:
        return hr
    return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))


def robustness_value(t_value: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """Cinelli & Hazlett's robustness value: the partial R^2 (0-1) an omitted variable would need
    with both treatment and outcome to reduce the estimate by 100q% (alpha None), or to make the
    reduced estimate insignificant at alpha."""
    f = q * abs(t_value) / math.sqrt(dof)
    if alpha is not None:
        f_crit = stats.t.ppf(1 - alpha / 2, dof - 1) / math.sqrt(dof - 1)
        f = f - f_crit
        if f <= 0:
            return 0.0
    return float(0.5 * (math.sqrt(f**4 + 4 * f**2) - f**2))


def exit_ratio(effect: float, observed: float, ci: tuple[float, float] | None = None,
               kind: str = "kept") -> tuple[float, float, float]:
    """A difference in rates (pp) as a risk ratio of leaving, participants against what they would
    have had: kind "kept" (effect on the share still employed) or "left" (effect on the share who
    left). Returns (ratio, ratio at the interval's ends) in the order of the interval's ends."""
    def ratio(e: float) -> float:
        if kind == "kept":
            left1, left0 = 100 - observed, 100 - (observed - e)
        else:
            left1, left0 = observed, observed - e
        return left1 / left0 if left0 > 0 else float("inf")

    lo, hi = ci if ci is not None else (float("nan"), float("nan"))
    ends = sorted([ratio(lo), ratio(hi)]) if not (math.isnan(lo) or math.isnan(hi)) else [float("nan")] * 2
    return ratio(effect), ends[0], ends[1]


def _sentence_evalue(point: float, bound: float, what: str) -> str:
    if math.isnan(point):
        return ""
    if math.isinf(point):
        return (f"The {what} implies that participants would otherwise have had a rate of zero, so no single "
                "unrecorded difference explains it away entirely; read its interval instead.")
    tail = ("; the interval already includes no effect" if bound == 1.0 else
            f"; a factor of {bound:.2f} would be enough to make it indistinguishable from none")
    return (f"Only an unrecorded difference between participants and their comparisons that made people about "
            f"{point:.2f} times as likely to take part and {point:.2f} times as likely to leave could explain away "
            f"the {what}{tail}.")


def of(result) -> pd.DataFrame:
    """One row per non-randomized causal effect on participants of a retention or promotion
    result: estimand, method, measure (e_value, robustness_value), value, value_ci (the E-value of
    the interval's end, or the robustness value at alpha 0.05) and a plain sentence."""
    rows = []
    for e in result.estimates:
        if e.evidence in ("", "randomized") or e.design in ("naive", "descriptive", "rollout"):
            continue
        if e.method == "cox_matched":
            rr = [hazard_to_risk_ratio(x, common=True) for x in (e.estimate, e.ci_low, e.ci_high)]
            point, bound = evalue(*rr)
            rows.append({"estimand": e.estimand, "method": e.method, "measure": "e_value", "value": point,
                         "value_ci": bound, "sentence": _sentence_evalue(point, bound, "hazard ratio of leaving")})
        elif e.unit == "pp" and np.isfinite(observed_rate(e)) and e.estimand in ("retention_12m", "voluntary_exit_12m"):
            observed = observed_rate(e)
            kind = "kept" if e.estimand == "retention_12m" else "left"
            point, bound = evalue(*exit_ratio(e.estimate, observed, (e.ci_low, e.ci_high), kind))
            rows.append({"estimand": e.estimand, "method": e.method, "measure": "e_value", "value": point,
                         "value_ci": bound, "sentence": _sentence_evalue(point, bound, f"{e.estimate:+.1f}-point effect")})
        if e.method in ("tot_dr",) and np.isfinite(e.std_error) and e.std_error > 0:
            dof = (e.n_treated or 0) + (e.n_control or 0) - 2
            if dof > 2:
                t = e.estimate / e.std_error
                rv, rv_a = robustness_value(t, dof), robustness_value(t, dof, alpha=0.05)
                rows.append({"estimand": e.estimand, "method": e.method, "measure": "robustness_value", "value": rv,
                             "value_ci": rv_a, "sentence": (
                                 f"An omitted difference would have to explain {100 * rv:.1f}% of what is left "
                                 f"unexplained of both who got a place and the outcome to bring the {e.estimate:+.1f} "
                                 f"estimate to zero, and {100 * rv_a:.1f}% to make it indistinguishable from zero.")})
    return pd.DataFrame(rows, columns=["estimand", "method", "measure", "value", "value_ci", "sentence"])
