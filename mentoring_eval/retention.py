"""Did mentoring keep people? The naive comparison, the population design that avoids the
survivorship trap (headline), and participant-level survival against matched comparisons.

retention_12m counts every exit (still employed 12 months after the start), as the truth does;
voluntary_exit_12m is the cumulative incidence of leaving voluntarily within 12 months, with
involuntary exit a competing risk (Aalen-Johansen). Rates are in percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import applicants, bounds
from . import estimates as est
from .applicants import DesignChoice, DesignResult
from .cohorts import NaiveGap, Role
from .did.regression import DiDEstimate, EventStudy
from .effects import (SNAPSHOTS, Placebo, TrendSensitivity, WaldEffect, design_estimates, itt_exit_rate, itt_snapshot,
                      naive_estimate, placebo, population_event_study, trend_sensitivity)
from .errors import NotEstimable
from .estimates import Estimates
from .matching import BalanceResult

if TYPE_CHECKING:
    from .study import Study

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


def naive(study: Study, role: Role, months: int = 12) -> NaiveGap:
    """The platform figure: share of participants still employed `months` after the start against
    everyone else employed at the start (percent), with counts and a two-proportion interval."""
    cohort = study.cohort
    gone = study.dataset.employee_column(cohort.people["employee_id"], "termination_date")
    horizon = cohort.start + pd.DateOffset(months=months)
    stayed = (gone.isna() | (gone >= horizon)).to_numpy()
    return cohort.naive_gap(stayed, role)


@dataclass(frozen=True)
class Curves:
    """One arm of the matched survival comparison: its people's durations (months since the
    start), exit flags (any exit), voluntary-exit flags and CEM weights, and the weighted
    Kaplan-Meier curve of still being employed."""

    duration: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)
    curve: pd.DataFrame = field(repr=False)
    voluntary: np.ndarray = field(default=None, repr=False)


@dataclass(frozen=True)
class CoxFit:
    """Hazard ratio of voluntary exit, participants vs matched comparisons, with its 95% interval,
    p-value and the proportional-hazards test's p-value."""

    hazard_ratio: float
    ci_low: float
    ci_high: float
    pvalue: float
    ph_pvalue: float


@dataclass(frozen=True)
class MatchedSurvival:
    """Participants and CEM-matched comparisons followed from the start: curves, the 12-month
    retention difference (pp, every exit), the difference in 12-month voluntary-exit incidence
    (pp, Aalen-Johansen) and the Cox hazard ratio of voluntary exit."""

    participants: Curves
    comparison: Curves
    difference: est.Estimate
    cox: CoxFit | None  # None when the Cox model does not converge (see cox_note)
    balance: BalanceResult
    cox_note: str = ""
    voluntary: est.Estimate | None = None

    @property
    def n_matched(self) -> tuple[int, int]:
        return self.participants.duration.size, self.comparison.duration.size


@dataclass(frozen=True)
class RetentionResult:
    """Everything the retention notebook shows for one cohort and role."""

    cohort_id: str
    role: Role
    naive: NaiveGap
    retention_itt: DiDEstimate | None
    retention_tot: WaldEffect | None
    exit_itt: DiDEstimate | None
    exit_tot: WaldEffect | None
    event_study: EventStudy | None
    survival: MatchedSurvival | None
    notes: tuple[str, ...] = ()
    estimates: Estimates = field(default_factory=Estimates, repr=False)
    applicants: DesignResult | None = None  # the lottery or capacity design, when the data support one
    design: DesignChoice | None = None  # the design that heads the report, with its evidence grade
    placebo: Placebo | None = None  # the rollout with a fake start a year early
    trends: TrendSensitivity | None = None  # how far trends may depart from parallel (Rambachan & Roth)

    @property
    def balance(self) -> BalanceResult | None:
        return self.survival.balance if self.survival is not None else None

    @property
    def headline(self) -> est.Estimate | None:
        """The headline 12-month retention effect on participants, from the strongest design that ran."""
        return self.estimates.headline("retention_12m", self.role)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def summary(self) -> str:
        return "\n".join(e.summary() for e in self.estimates)

    def plot_survival(self, ax=None):
        """Weighted Kaplan-Meier curves of participants and comparisons (months since start) with
        95% pointwise bands (lifelines, exponential Greenwood)."""
        import warnings

        import matplotlib.pyplot as plt
        from lifelines import KaplanMeierFitter

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.6))
        if self.survival is None:
            ax.text(0.5, 0.5, "no matched comparison: " + " ".join(self.notes), ha="center", va="center", wrap=True)
            ax.set_axis_off()
            return ax
        colours = {"participants": "#0072B2", "comparison": "#E69F00"}
        for arm in ("participants", "comparison"):
            c = getattr(self.survival, arm)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # lifelines notes that weighted bands are approximate
                kmf = KaplanMeierFitter().fit(c.duration, c.event, weights=c.weight, label=arm)
            t = kmf.survival_function_.index.to_numpy()
            ci = kmf.confidence_interval_.to_numpy()
            ax.step(t, 100 * kmf.survival_function_.iloc[:, 0], where="post", color=colours[arm], label=arm)
            ax.fill_between(t, 100 * ci[:, 0], 100 * ci[:, 1], step="post", color=colours[arm], alpha=0.2, lw=0)
        ax.axvline(12, color="#999999", ls=":", lw=0.8)
        ax.set_xlabel("months since the cohort started")
        ax.set_ylabel("still employed (%)")
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return ax


def _durations(study: Study, people: pd.DataFrame, start: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Months from the start to exit or the end of the data, whether they left (any reason) and
    whether they left voluntarily."""
    gone = study.dataset.employee_column(people["employee_id"], "termination_date")
    why = study.dataset.employee_column(people["employee_id"], "termination_reason")
    end = study.end
    stop = gone.fillna(end)
    duration = ((stop - start).dt.days / MONTH_DAYS).to_numpy(float)
    left = gone.notna().to_numpy(bool)
    return np.maximum(duration, 0), left, left & (why == "voluntary").to_numpy(bool)


def cumulative_incidence(duration, event, cause, weights=None) -> pd.DataFrame:
    """Weighted Aalen-Johansen cumulative incidence of `cause` (bool, a subset of `event`) with the
    other exits competing: time, incidence (0-1) at each distinct event time."""
    duration = np.asarray(duration, float)
    event, cause = np.asarray(event, bool), np.asarray(cause, bool)
    w = np.ones(duration.size) if weights is None else np.asarray(weights, float)
    times, inverse = np.unique(duration, return_inverse=True)
    d_all = np.bincount(inverse, weights=w * event, minlength=times.size)
    d_cause = np.bincount(inverse, weights=w * cause, minlength=times.size)
    at_risk = np.bincount(inverse, weights=w, minlength=times.size)[::-1].cumsum()[::-1]
    keep = d_all > 0
    hazard_all = d_all[keep] / at_risk[keep]
    before = np.r_[1.0, np.cumprod(1 - hazard_all)[:-1]]  # overall survival just before each time
    return pd.DataFrame({"time": times[keep], "incidence": np.cumsum(before * d_cause[keep] / at_risk[keep])})


def _at_draws(duration, event, cause, w, at: float, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted KM survival and Aalen-Johansen incidence of `cause` at `at` for many resamples
    given as per-person counts (draws x n): the event times are sorted once, each draw is a few
    weighted counts."""
    times, inverse = np.unique(duration, return_inverse=True)
    upto = times <= at
    wc = counts * w[None, :]  # draws x people
    d = np.zeros((counts.shape[0], times.size))
    dc = np.zeros_like(d)
    leaving = np.zeros_like(d)
    for k in range(counts.shape[0]):  # one pass per draw, vectorized over people
        d[k] = np.bincount(inverse, weights=wc[k] * event, minlength=times.size)
        dc[k] = np.bincount(inverse, weights=wc[k] * cause, minlength=times.size)
        leaving[k] = np.bincount(inverse, weights=wc[k], minlength=times.size)
    at_risk = np.where(leaving[:, ::-1].cumsum(axis=1)[:, ::-1] > 0, leaving[:, ::-1].cumsum(axis=1)[:, ::-1], 1.0)
    factor = np.where((d > 0) & upto[None, :], 1 - d / at_risk, 1.0)
    survival = np.cumprod(factor, axis=1)
    before = np.concatenate([np.ones((counts.shape[0], 1)), survival[:, :-1]], axis=1)
    incidence = (before * np.where(upto[None, :], dc / at_risk, 0.0)).sum(axis=1)
    return survival[:, -1], incidence


def _bootstrap_difference(d1, e1, v1, w1, d0, e0, v0, w0, at: float, draws: int, seed: int) -> tuple[float, float]:
    """Bootstrap standard errors of the differences in KM survival and in voluntary-exit incidence
    at `at` (resampling people within each arm)."""
    rng = np.random.default_rng(seed)
    s1, i1 = _resampled(rng, d1, e1, v1, w1, at, draws)
    s0, i0 = _resampled(rng, d0, e0, v0, w0, at, draws)
    return float((s1 - s0).std(ddof=1)), float((i1 - i0).std(ddof=1))


def _resampled(rng, duration, event, cause, w, at: float, draws: int, chunk: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """`_at_draws` over `draws` resamples of everyone, drawn `chunk` at a time (the same draws as
    all at once, without a draws x people matrix)."""
    n = duration.size
    parts = [_at_draws(duration, event, cause, w, at, rng.multinomial(n, np.full(n, 1 / n), size=min(chunk, draws - k)))
             for k in range(0, draws, chunk)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def analyze(study: Study, role: Role = "mentee", months: int = 12, bootstrap: int = 200) -> RetentionResult:
    """Naive figure, population ITT and effect on participants (headline), population event study,
    and matched participant-level survival (Kaplan-Meier, 12-month difference, Cox hazard ratio).
    Computed once per study."""
    return study.result(("retention", role, months, bootstrap), lambda: _analyze(study, role, months, bootstrap))


def _analyze(study: Study, role: Role, months: int, bootstrap: int) -> RetentionResult:
    cohort = study.cohort
    cid = cohort.cohort_id
    per_period = f"pp per {study.params.period}"

    def row(estimand: str, method: str, value: float, design: str, unit: str = "pp", **kw) -> est.Estimate:
        return est.make(cohort_id=cid, role=role, estimand=estimand, method=method, estimate=value, design=design,
                        unit=unit, **kw)

    rows, notes = [], []
    nv = naive(study, role, months)
    rows.append(naive_estimate(cid, role, "retention_12m", nv, "participants vs everyone else employed at the start"))
    ret_itt = ret_tot = ex_itt = ex_tot = es = None
    try:
        ret_itt, ret_tot = itt_snapshot(study, role, "stayed", months)
        rows += design_estimates(cid, role, "retention_12m", ret_itt, ret_tot, SNAPSHOTS,
                                 f"ITT / participation share {ret_tot.share:.3f}")
        ex_itt, ex_tot, panel = itt_exit_rate(study, role)
        rows += design_estimates(cid, role, "exit_rate", ex_itt, ex_tot, "monthly voluntary exits, at-risk panel",
                                 f"ITT / participation share {ex_tot.share:.3f} (person-periods)", per_period)
        es = population_event_study(panel, unit=study.params.assignment_unit)
    except NotEstimable as exc:
        notes.append(f"Population design not available: {exc}")
    fake = trends = None
    if ret_itt is not None:
        try:
            fake = placebo(study, role, "stayed", months=months)
            rows.append(fake.estimate(cid, role, "retention_12m"))
        except NotEstimable as exc:
            notes.append(f"Placebo not available: {exc}")
        try:
            trends = trend_sensitivity(panel, study.params.assignment_unit)
        except NotEstimable as exc:
            notes.append(f"Sensitivity to parallel trends not available: {exc}")
    survival = None
    try:
        survival = _matched_survival(study, role, months, bootstrap)
        rows += [survival.difference, survival.voluntary]
        cox, n_matched = survival.cox, survival.n_matched
        if cox is None:
            notes.append(f"Matched Cox hazard ratio not available: {survival.cox_note}")
        else:
            rows.append(row("exit_hazard_ratio", "cox_matched", cox.hazard_ratio, "observational", "hazard ratio",
                            ci=(cox.ci_low, cox.ci_high), n_treated=n_matched[0], n_control=n_matched[1],
                            note=f"CEM-weighted Cox, robust SE; proportional hazards test p = {cox.ph_pvalue:.2g}"))
    except NotEstimable as exc:
        notes.append(f"Matched survival not available: {exc}")
    applicant = None
    if applicants.available(study, role) is not None:
        applicant = applicants.analyze(study, role)
        rows += list(applicant.estimates.where(estimand=("retention_12m", "voluntary_exit_12m")))
    blocked = ret_tot.assignment.reason() if ret_tot is not None and ret_tot.assignment is not None else ""
    choice = applicants.choose(study, role, applicant, ret_tot is not None, survival is not None,
                               _pretrend_p(es), blocked)
    rows = applicants.with_headlines(rows, choice, ("retention_12m", "voluntary_exit_12m"))
    return RetentionResult(cid, role, nv, ret_itt, ret_tot, ex_itt, ex_tot, es, survival, tuple(notes), Estimates(rows),
                           applicant, choice, fake, trends)


def _pretrend_p(es: EventStudy | None) -> float | None:
    """The p-value of the population event study's pre-period test, when it can be formed."""
    if es is None:
        return None
    try:
        p = es.pretrend_test().pvalue
    except (NotEstimable, np.linalg.LinAlgError):
        return None
    return p if np.isfinite(p) else None


def _matched_survival(study: Study, role: Role, months: int, bootstrap: int) -> MatchedSurvival:
    """Participants against CEM-matched comparisons from the start: weighted KM curves of still
    being employed, the 12-month retention difference and the difference in voluntary-exit
    incidence (bootstrap SEs, bounded by what participants' observed rates allow), and a weighted
    Cox model of voluntary exit."""
    cohort = study.cohort
    if cohort.params.comparison == "not_yet_treated":
        raise NotEstimable("comparison: not_yet_treated cannot be used for exits: people who enrol later had to still "
                           "be employed when they enrolled, so their survival to then is certain by construction (the "
                           "survivorship trap); use comparison: matched or never_treated")
    matched, balance = cohort.matched(role)
    matched = matched[matched["cem_weight"] > 0].reset_index(drop=True)
    d, e, v = _durations(study, matched, cohort.start)
    w = matched["cem_weight"].to_numpy(float)
    t = matched["treated"].to_numpy(bool)
    arms = {name: Curves(d[m], e[m], w[m], kaplan_meier(d[m], e[m], w[m]), v[m])
            for name, m in (("participants", t), ("comparison", ~t))}
    kept = {name: 100 * survival_at(arms[name].curve, months) for name in arms}
    quit_ = {name: 100 * _incidence_at(cumulative_incidence(c.duration, c.event, c.voluntary, c.weight), months)
             for name, c in arms.items()}
    se_kept, se_quit = (100 * x for x in _bootstrap_difference(d[t], e[t], v[t], w[t], d[~t], e[~t], v[~t], w[~t],
                                                               months, bootstrap, cohort.params.seed))
    common = dict(cohort_id=cohort.cohort_id, role=role, n_treated=int(t.sum()), n_control=int((~t).sum()),
                  design="observational", unit="pp")
    difference = bounds.bounded(est.make(
        estimand="retention_12m", method="km_matched", estimate=kept["participants"] - kept["comparison"],
        std_error=se_kept, note="every exit, CEM-weighted Kaplan-Meier, bootstrap SE; selection on unobservables "
        "remains", **common), kept["participants"])
    voluntary = bounds.bounded(est.make(
        estimand="voluntary_exit_12m", method="aj_matched", estimate=quit_["participants"] - quit_["comparison"],
        std_error=se_quit, note="voluntary exits with involuntary exits competing, CEM-weighted Aalen-Johansen, "
        "bootstrap SE; selection on unobservables remains", **common), quit_["participants"])
    from lifelines.exceptions import ConvergenceError

    try:
        cox, cox_note = _cox(d, v, t, w), ""
    except ConvergenceError as exc:
        cox, cox_note = None, "the model did not converge (" + str(exc).split(".")[0] + ")"
    return MatchedSurvival(arms["participants"], arms["comparison"], difference, cox, balance, cox_note, voluntary)


def _incidence_at(curve: pd.DataFrame, t: float) -> float:
    s = curve.loc[curve["time"] <= t, "incidence"]
    return float(s.iloc[-1]) if len(s) else 0.0


def _cox(duration, event, treated, weights) -> CoxFit:
    """Hazard ratio of voluntary exit, participants vs matched comparisons (lifelines, robust SE)."""
    import warnings

    from lifelines.statistics import proportional_hazard_test

    frame = pd.DataFrame({"duration": np.maximum(duration, 1e-6), "event": event.astype(int),
                          "participant": treated.astype(int), "weight": weights})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = _cox_fitter()().fit(frame, "duration", "event", weights_col="weight", robust=True)
        ph = proportional_hazard_test(cph, frame, time_transform="rank")
    s = cph.summary.loc["participant"]
    return CoxFit(float(s["exp(coef)"]), float(s["exp(coef) lower 95%"]), float(s["exp(coef) upper 95%"]),
                  float(s["p"]), float(ph.p_value[0]))


def _cox_fitter():
    """lifelines' CoxPHFitter with its Efron sums summed by time (`efron_values`; lifelines loops
    over rows in Python: 5 s for 280,000 matched people), and its robust (sandwich) score residuals
    and Schoenfeld residuals (the proportional-hazards test) computed by cumulative sums: lifelines
    forms each person's score residual by summing over everyone before them, O(n^2) (hours for the
    matched comparison of a million-employee company), and grows the Schoenfeld residuals one row
    at a time with np.append, also O(n^2); these are the same numbers in O(n) (tested against
    lifelines' own loops)."""
    from lifelines import CoxPHFitter
    from lifelines.fitters.coxph_fitter import SemiParametricPHFitter

    class CumulativeScores(SemiParametricPHFitter):
        def _choose_gradient_calculator(self, T, X, entries):  # lifelines' Efron sums, over every time at once
            if entries is not None:
                return super()._choose_gradient_calculator(T, X, entries)
            return lambda X, T, E, weights, entries, beta: efron_values(
                X.to_numpy(float), T.to_numpy(float), E.to_numpy(bool), weights.to_numpy(float), beta)

        def _compute_score_within_strata(self, X, _T, E, weights, entries):
            return cox_score_residuals(np.asarray(X, float), np.asarray(E, int), np.asarray(weights, float),
                                       self.params_.to_numpy() * self._norm_std.to_numpy())

        def _compute_schoenfeld_within_strata(self, X, T, E, weights, entries):
            return schoenfeld_residuals(np.asarray(X, float), np.asarray(T, float), np.asarray(E, int),
                                        np.asarray(weights, float), self.params_.to_numpy())

    class CumulativeScoreCoxPHFitter(CoxPHFitter):
        def _fit_model_breslow(self, *args, **kwargs):  # lifelines' own, with the model above
            model = CumulativeScores(penalizer=self.penalizer, l1_ratio=self.l1_ratio, strata=self.strata,
                                     alpha=self.alpha, label=self._label)
            model.fit(*args, **kwargs)
            return model

    return CumulativeScoreCoxPHFitter


def efron_values(x: np.ndarray, duration: np.ndarray, event: np.ndarray, weights: np.ndarray,
                 beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Hessian, gradient and log partial likelihood of a weighted Cox model with Efron's ties, for
    rows sorted by duration, as lifelines' `_get_efron_values_single` computes them, without its
    Python loop over rows: at each time with k events, l = 0..k-1 removes l/k of the tied events'
    phi = w exp(x beta) from the risk set's sums; the k terms are laid out as rows and summed by
    time."""
    phi = weights * np.exp(x @ beta)
    phi_x = phi[:, None] * x
    phi_xx = x[:, :, None] * phi_x[:, None, :]
    starts = np.r_[True, duration[1:] != duration[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    risk = phi[::-1].cumsum()[::-1][first]
    risk_x = phi_x[::-1].cumsum(axis=0)[::-1][first]
    risk_xx = phi_xx[::-1].cumsum(axis=0)[::-1][first]
    died, g = event.astype(bool), group[event.astype(bool)]

    def by_time(values: np.ndarray) -> np.ndarray:  # sums over each time's events, any trailing shape
        flat = values.reshape(len(values), -1)
        out = np.column_stack([np.bincount(g, weights=flat[:, j], minlength=first.size) for j in range(flat.shape[1])])
        return out.reshape((first.size, *values.shape[1:]))

    deaths = np.bincount(g, minlength=first.size)
    times = np.flatnonzero(deaths)
    if times.size == 0:  # no events: nothing to add, as lifelines' loop adds nothing
        return np.zeros((x.shape[1], x.shape[1])), np.zeros(x.shape[1]), 0.0
    k = deaths[times]
    tie, tie_x, tie_xx = by_time(phi[died])[times], by_time(phi_x[died])[times], by_time(phi_xx[died])[times]
    x_death = by_time((weights[:, None] * x)[died])[times]
    average_weight = by_time(weights[died])[times] / k
    offsets = np.cumsum(k) - k
    at = np.repeat(np.arange(times.size), k)  # one row per l of each time
    share = (np.arange(at.size) - offsets[at]) / k[at]  # l / k
    denom = 1.0 / (risk[times][at] - share * tie[at])
    summand = (risk_x[times][at] - share[:, None] * tie_x[at]) * denom[:, None]
    a1 = (risk_xx[times] * np.add.reduceat(denom, offsets)[:, None, None]
          - tie_xx * np.add.reduceat(share * denom, offsets)[:, None, None])
    a2 = np.add.reduceat(summand[:, :, None] * summand[:, None, :], offsets, axis=0)
    gradient = (x_death - average_weight[:, None] * np.add.reduceat(summand, offsets, axis=0)).sum(axis=0)
    log_lik = float((x_death @ beta + average_weight * np.add.reduceat(np.log(denom), offsets)).sum())
    hessian = (average_weight[:, None, None] * (a2 - a1)).sum(axis=0)
    return hessian, gradient, log_lik


def cox_score_residuals(x: np.ndarray, event: np.ndarray, weights: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Weighted Cox score residuals (Lin & Wei 1989) of rows sorted by duration, as lifelines
    computes them for its robust variance (ties in the risk sets not averaged):
    r_i = w_i [E_i (x_i - S1_i / S0_i) - phi_i sum_(k <= i) E_k w_k / S0_k (x_i - S1_k / S0_k)],
    with S0, S1 the weighted risk-set sums of phi and phi x from row i on."""
    phi = np.exp(x @ beta)
    s0 = (weights * phi)[::-1].cumsum()[::-1]
    s1 = (x * (weights * phi)[:, None])[::-1].cumsum(axis=0)[::-1]
    mean = s1 / s0[:, None]
    a = event * weights / s0
    upto = np.cumsum(a)
    centred = np.cumsum(a[:, None] * mean, axis=0)
    score = -phi[:, None] * (x * upto[:, None] - centred) + event[:, None] * (x - mean)
    return score * weights[:, None]


def schoenfeld_residuals(x: np.ndarray, duration: np.ndarray, event: np.ndarray, weights: np.ndarray,
                         beta: np.ndarray) -> np.ndarray:
    """Schoenfeld residuals with Efron's ties, as lifelines computes them, for rows sorted by
    duration: E_i (x_i - m_t) where, at a time t with k events, m_t averages over l = 0..k-1 the
    risk set's phi-weighted mean of x with l/k of the tied events' phi removed (phi = w exp(x beta));
    zero for censored rows."""
    phi = weights * np.exp(x @ beta)
    starts = np.r_[True, duration[1:] != duration[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    risk = phi[::-1].cumsum()[::-1][first]
    risk_x = (x * phi[:, None])[::-1].cumsum(axis=0)[::-1][first]
    tie = np.bincount(group, weights=phi * event, minlength=first.size)
    tie_x = np.column_stack([np.bincount(group, weights=phi * x[:, j] * event, minlength=first.size)
                             for j in range(x.shape[1])])
    deaths = np.bincount(group, weights=event, minlength=first.size).astype(np.int64)
    mean = np.zeros_like(risk_x)
    for step in range(int(deaths.max(initial=0))):  # Efron: one pass per tied event, over every time at once
        k = deaths > step
        m = deaths[k].astype(float)
        mean[k] += (risk_x[k] - step * tie_x[k] / m[:, None]) / ((risk[k] - step * tie[k] / m) * m)[:, None]
    return event[:, None] * (x - mean[group])
