"""Did mentoring keep people? The naive comparison, the population design that avoids the
survivorship trap (headline), and participant-level survival against matched comparisons.

Voluntary exits are the outcome; involuntary exits censor. Rates are in percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import estimates as est
from .cohorts import Cohort
from .data import Dataset
from .did.regression import DiDEstimate, EventStudy
from .effects import WaldEffect, data_end, itt_exit_rate, itt_snapshot, population_event_study
from .matching import BalanceResult

MONTH_DAYS = 30.4375


def kaplan_meier(duration: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None) -> pd.DataFrame:
    """Weighted Kaplan-Meier survival at each distinct event time: time, at_risk, events, survival."""
    duration = np.asarray(duration, float)
    event = np.asarray(event, bool)
    w = np.ones(duration.size) if weights is None else np.asarray(weights, float)
    times, inverse = np.unique(duration, return_inverse=True)
    d = np.bincount(inverse, weights=w * event, minlength=times.size)
    leaving = np.bincount(inverse, weights=w, minlength=times.size)
    at_risk = leaving[::-1].cumsum()[::-1]
    keep = d > 0
    surv = np.cumprod(1 - d[keep] / at_risk[keep])
    return pd.DataFrame({"time": times[keep], "at_risk": at_risk[keep], "events": d[keep], "survival": surv})


def survival_at(curve: pd.DataFrame, t: float) -> float:
    s = curve.loc[curve["time"] <= t, "survival"]
    return float(s.iloc[-1]) if len(s) else 1.0


def naive(ds: Dataset, cohort: Cohort, role: str, months: int = 12) -> dict:
    """The platform figure: share of participants still employed `months` after the start against
    everyone else employed at the start (percent), with counts and a two-proportion interval."""
    emp = ds.employees.set_index("employee_id")
    people = cohort.people
    gone = people["employee_id"].map(emp["termination_date"]) if "termination_date" in emp else pd.Series(pd.NaT, index=people.index)
    horizon = cohort.start + pd.DateOffset(months=months)
    stayed = (gone.isna() | (gone >= horizon)).to_numpy()
    return cohort.naive_gap(stayed, role)


@dataclass(frozen=True)
class RetentionResult:
    """Everything the retention notebook shows for one cohort and role."""

    cohort_id: str
    role: str
    naive: dict
    retention_itt: DiDEstimate | None
    retention_tot: WaldEffect | None
    exit_itt: DiDEstimate | None
    exit_tot: WaldEffect | None
    event_study: EventStudy | None
    km: dict = field(repr=False)  # arm -> curve
    km_data: dict = field(default_factory=dict, repr=False)  # arm -> (duration, event, weight)
    km_difference: tuple[float, float, float, float] | None = None  # estimate, se, lo, hi (pp at 12 months)
    cox: dict | None = None
    balance: BalanceResult | None = None
    n_matched: tuple[int, int] = (0, 0)
    notes: tuple[str, ...] = ()
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.copy()

    def summary(self) -> str:
        return self.findings()

    def headline(self, estimand: str = "retention_12m") -> pd.Series:
        e = self.estimates
        return e[(e["estimand"] == estimand) & e["headline"]].iloc[0]

    def findings(self) -> str:
        """Plain-language findings, headline first, with the naive figure and why they differ."""
        who = f"{self.role}s"
        n = self.naive
        lines = []
        if self.retention_tot is not None:
            h = self.headline("retention_12m")
            direction = "more" if h["estimate"] >= 0 else "less"
            lines.append(
                f"**Effect on {who}:** {who.capitalize()} were an estimated **{abs(h['estimate']):.1f} percentage points "
                f"{direction} likely** to still be here 12 months after the start (95% CI {h['ci_low']:+.1f} to "
                f"{h['ci_high']:+.1f}).")
            if h["ci_low"] <= 0 <= h["ci_high"]:
                lines.append(f"The interval includes zero: this cohort is too small to tell whether mentoring changed "
                             f"retention. Only {100 * self.retention_tot.share:.0f}% of eligible employees took part, "
                             f"so any effect on them is diluted about {1 / self.retention_tot.share:.0f}-fold in the population comparison.")
        lines.append(
            f"**The naive comparison** says {n['rate_participants']:.0f}% of {who} stayed against "
            f"{n['rate_others']:.0f}% of everyone else (**{n['difference']:+.1f} points**). It overstates the effect "
            f"because people who sign up were already less likely to leave: the comparison credits mentoring with "
            f"who volunteers.")
        if self.balance is not None and "smd_after" in self.balance.table:
            worst = self.balance.table.loc[self.balance.table["smd_after"].abs().idxmax()]
            lines.append(f"Even after matching on {', '.join(self.balance.table['covariate'].head(3))}..., "
                         f"{who} differ from their matches on {worst['covariate']} (standardized difference "
                         f"{worst['smd_after']:+.2f}): the participant-level survival figures below carry that selection.")
        return "\n\n".join(lines)

    def plot_survival(self, ax=None):
        """Weighted Kaplan-Meier curves of participants and comparisons (months since start) with
        95% pointwise bands (lifelines, exponential Greenwood)."""
        import warnings

        import matplotlib.pyplot as plt
        from lifelines import KaplanMeierFitter

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.6))
        if not self.km_data:
            ax.text(0.5, 0.5, "no matched comparison: " + " ".join(self.notes), ha="center", va="center", wrap=True)
            ax.set_axis_off()
            return ax
        colours = {"participants": "#0072B2", "comparison": "#E69F00"}
        for arm, (d, e, w) in self.km_data.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # lifelines notes that weighted bands are approximate
                kmf = KaplanMeierFitter().fit(d, e, weights=w, label=arm)
            t = kmf.survival_function_.index.to_numpy()
            ci = kmf.confidence_interval_.to_numpy()
            ax.step(t, 100 * kmf.survival_function_.iloc[:, 0], where="post", color=colours[arm], label=arm)
            ax.fill_between(t, 100 * ci[:, 0], 100 * ci[:, 1], step="post", color=colours[arm], alpha=0.2, lw=0)
        ax.axvline(12, color="#999999", ls=":", lw=0.8)
        ax.set_xlabel("months since the cohort started")
        ax.set_ylabel("not left voluntarily (%)")
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return ax


def _durations(ds: Dataset, people: pd.DataFrame, start: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    emp = ds.employees.set_index("employee_id")
    gone = people["employee_id"].map(emp["termination_date"]) if "termination_date" in emp else pd.Series(pd.NaT, index=people.index)
    why = people["employee_id"].map(emp["termination_reason"]) if "termination_reason" in emp else pd.Series(pd.NA, index=people.index)
    end = data_end(ds)
    stop = gone.fillna(end)
    duration = ((stop - start).dt.days / MONTH_DAYS).to_numpy(float)
    event = (gone.notna() & (why == "voluntary")).to_numpy(bool)
    return np.maximum(duration, 0), event


def _survival_at_draws(duration, event, w, at: float, counts: np.ndarray) -> np.ndarray:
    """Weighted KM survival at `at` for many resamples given as per-person counts (draws x n): the
    event times are sorted once, each draw is a pair of weighted counts."""
    times, inverse = np.unique(duration, return_inverse=True)
    upto = times <= at
    wc = counts * w[None, :]  # draws x people
    d = np.zeros((counts.shape[0], times.size))
    leaving = np.zeros_like(d)
    for k in range(counts.shape[0]):  # one pass per draw, vectorized over people
        d[k] = np.bincount(inverse, weights=wc[k] * event, minlength=times.size)
        leaving[k] = np.bincount(inverse, weights=wc[k], minlength=times.size)
    at_risk = leaving[:, ::-1].cumsum(axis=1)[:, ::-1]
    factor = np.where((d > 0) & upto[None, :], 1 - d / np.where(at_risk > 0, at_risk, 1), 1.0)
    return factor.prod(axis=1)


def _bootstrap_difference(d1, e1, w1, d0, e0, w0, at: float, draws: int, seed: int) -> float:
    """Bootstrap standard error of the difference in KM survival at `at` (resampling people)."""
    rng = np.random.default_rng(seed)
    c1 = rng.multinomial(d1.size, np.full(d1.size, 1 / d1.size), size=draws)
    c0 = rng.multinomial(d0.size, np.full(d0.size, 1 / d0.size), size=draws)
    diffs = _survival_at_draws(d1, e1, w1, at, c1) - _survival_at_draws(d0, e0, w0, at, c0)
    return float(diffs.std(ddof=1))


def analyze(ds: Dataset, cohort: Cohort, role: str = "mentee", months: int = 12, bootstrap: int = 200) -> RetentionResult:
    """Naive figure, population ITT and effect on participants (headline), population event study,
    and matched participant-level survival (Kaplan-Meier, 12-month difference, Cox hazard ratio)."""
    cid = cohort.cohort_id
    rows, notes = [], []
    nv = naive(ds, cohort, role, months)
    rows.append(est.row(cid, role, "retention_12m", "naive", nv["difference"], nv["std_error"],
                        n_treated=nv["participants"], n_control=nv["others"],
                        note="participants vs everyone else employed at the start"))
    ret_itt = ret_tot = ex_itt = ex_tot = es = None
    try:
        ret_itt, ret_tot = itt_snapshot(ds, cohort, role, "stayed", months)
        rows.append(est.row(cid, role, "retention_12m", "itt_did", ret_itt.estimate, ret_itt.std_error,
                            (ret_itt.ci_low, ret_itt.ci_high), note="eligible vs comparison segment, snapshots at start and 12 months before"))
        rows.append(est.row(cid, role, "retention_12m", "tot_wald", ret_tot.estimate, ret_tot.std_error,
                            (ret_tot.ci_low, ret_tot.ci_high), ret_tot.n_participants, ret_tot.n_eligible - ret_tot.n_participants,
                            headline=True, note=f"ITT / participation share {ret_tot.share:.3f}"))
        ex_itt, ex_tot, panel = itt_exit_rate(cohort, role)
        rows.append(est.row(cid, role, "exit_rate", "itt_did", ex_itt.estimate, ex_itt.std_error,
                            (ex_itt.ci_low, ex_itt.ci_high), note="monthly voluntary exits, at-risk panel"))
        rows.append(est.row(cid, role, "exit_rate", "tot_wald", ex_tot.estimate, ex_tot.std_error,
                            (ex_tot.ci_low, ex_tot.ci_high), ex_tot.n_participants, ex_tot.n_eligible - ex_tot.n_participants,
                            headline=True, note=f"ITT / participation share {ex_tot.share:.3f} (person-periods)"))
        es = population_event_study(panel)
    except ValueError as exc:
        notes.append(f"Population design not available: {exc}")
    km, km_data, km_diff, cox, balance, n_matched = {}, {}, None, None, None, (0, 0)
    try:
        matched, balance = cohort.matched(role)
        matched = matched[matched["cem_weight"] > 0].reset_index(drop=True)
        d, e = _durations(ds, matched, cohort.start)
        w = matched["cem_weight"].to_numpy(float)
        t = matched["treated"].to_numpy(bool)
        n_matched = (int(t.sum()), int((~t).sum()))
        km = {"participants": kaplan_meier(d[t], e[t], w[t]), "comparison": kaplan_meier(d[~t], e[~t], w[~t])}
        km_data = {"participants": (d[t], e[t], w[t]), "comparison": (d[~t], e[~t], w[~t])}
        diff = 100 * (survival_at(km["participants"], months) - survival_at(km["comparison"], months))
        se = 100 * _bootstrap_difference(d[t], e[t], w[t], d[~t], e[~t], w[~t], months, bootstrap, cohort.params.seed)
        z = stats.norm.ppf(0.975)
        km_diff = (diff, se, diff - z * se, diff + z * se)
        rows.append(est.row(cid, role, "retention_12m", "km_matched", diff, se, (km_diff[2], km_diff[3]), *n_matched,
                            note="voluntary exits, CEM-weighted Kaplan-Meier, bootstrap SE; selection on unobservables remains"))
        cox = _cox(d, e, t, w)
        rows.append(est.row(cid, role, "exit_hazard_ratio", "cox_matched", cox["hazard_ratio"], None,
                            (cox["ci_low"], cox["ci_high"]), *n_matched,
                            note=f"CEM-weighted Cox, robust SE; proportional hazards test p = {cox['ph_pvalue']:.2g}"))
    except ValueError as exc:
        notes.append(f"Matched survival not available: {exc}")
    return RetentionResult(cid, role, nv, ret_itt, ret_tot, ex_itt, ex_tot, es, km, km_data, km_diff, cox, balance,
                           n_matched, tuple(notes), est.frame(rows))


def _cox(duration, event, treated, weights) -> dict:
    """Hazard ratio of voluntary exit, participants vs matched comparisons (lifelines, robust SE)."""
    import warnings

    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    frame = pd.DataFrame({"duration": np.maximum(duration, 1e-6), "event": event.astype(int),
                          "participant": treated.astype(int), "weight": weights})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(frame, "duration", "event", weights_col="weight", robust=True)
        ph = proportional_hazard_test(cph, frame, time_transform="rank")
    s = cph.summary.loc["participant"]
    return {"hazard_ratio": float(s["exp(coef)"]), "ci_low": float(s["exp(coef) lower 95%"]),
            "ci_high": float(s["exp(coef) upper 95%"]), "pvalue": float(s["p"]), "ph_pvalue": float(ph.p_value[0])}
