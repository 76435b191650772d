"""Return on investment with the estimate's uncertainty carried into the money.

Costs: the program's cost lines plus the time mentors and mentees spend in meetings (hours x
hourly cost), usually the largest item. Benefit: departures avoided = the effect on participants'
12-month retention (percentage points, the retention headline) x participants, each worth
annual salary x a turnover-cost multiplier drawn from a range (0.5-2.0 of salary by default:
published estimates of the cost of replacing an employee span roughly this range). ROI is a
distribution over the effect's sampling distribution and the multiplier range; a platform's
"naive ROI" treats the naive retention gap as caused by the program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import estimates as est
from .errors import NotEstimable
from .estimates import Estimates

if TYPE_CHECKING:
    from .study import Study

HOURS_PER_YEAR = 2080


def costs(study: Study) -> pd.DataFrame:
    """Cost lines of the cohort (currency of the data): program_costs by category, with mentor and
    mentee time computed from the meeting log (hours x hourly cost: params mentor_hourly_cost, or
    each person's annual salary / 2080) in place of any mentor_time line when meetings are known."""
    ds, params = study.dataset, study.params
    lines = ds.require("program_costs", "ROI").query("cohort_id == @params.cohort_id")
    table = lines.groupby("category", as_index=False)["amount"].sum()
    if ds.has("meetings") and ds.has("matches"):
        m = ds.matches.query("cohort_id == @params.cohort_id")
        meet = ds.meetings.merge(m[["match_id", "mentor_id", "mentee_id"]], on="match_id")
        hours = meet["duration_minutes"] / 60
        salary = ds.employees.set_index("employee_id")["annual_salary"] if ds.has_values("employees", "annual_salary") else None
        fallback = float(salary.median()) if salary is not None else np.nan

        def hourly(ids: pd.Series, override: float | None) -> np.ndarray:
            if override is not None:
                return np.full(len(ids), override)
            if salary is None:
                raise NotEstimable("employees.csv has no annual_salary: set mentor_hourly_cost in the params")
            return ids.map(salary).fillna(fallback).to_numpy() / HOURS_PER_YEAR

        mentor_cost = float((hours * hourly(meet["mentor_id"], params.mentor_hourly_cost)).sum())
        mentee_cost = float((hours * hourly(meet["mentee_id"], None if salary is not None else params.mentor_hourly_cost)).sum())
        table = table[table["category"] != "mentor_time"]
        table = pd.concat([table, pd.DataFrame({"category": ["mentor_time", "mentee_time"],
                                                "amount": [mentor_cost, mentee_cost]})], ignore_index=True)
    table["share"] = 100 * table["amount"] / table["amount"].sum()
    return table.sort_values("amount", ascending=False, ignore_index=True)


@dataclass(frozen=True)
class ROIResult:
    """ROI as a distribution, its summary, the break-even effect and the naive ROI beside it."""

    cohort_id: str
    cost: float
    participants: int
    salary: float
    multiplier: tuple[float, float]
    effect: float  # retention_12m effect on participants, pp
    effect_se: float
    roi_median: float
    roi_low: float  # 5th percentile
    roi_high: float  # 95th percentile
    net_median: float
    net_low: float
    net_high: float
    prob_positive: float
    break_even_effect: float  # 12-month retention effect (pp) at which benefit = cost, mid multiplier
    naive_effect: float
    naive_roi: float
    naive_net: float
    draws: pd.DataFrame = field(repr=False)  # effect, multiplier, benefit, net, roi
    design: str = ""  # the design of the retention estimate it prices

    @property
    def break_even_exit_rate(self) -> float:
        """The same break-even as a change in the monthly voluntary-exit rate (pp per month)."""
        return -self.break_even_effect / 12

    def summary(self) -> str:
        return (f"ROI {100 * self.roi_median:+.0f}% (90% interval {100 * self.roi_low:+.0f}% to {100 * self.roi_high:+.0f}%), "
                f"P(ROI > 0) = {self.prob_positive:.0%}; break-even at +{self.break_even_effect:.1f} pp 12-month "
                f"retention; naive ROI {100 * self.naive_roi:+.0f}%")

    @property
    def estimates(self) -> Estimates:
        """ROI (percent, 90% interval), net benefit (currency of the data) and the break-even exit
        rate, each beside its naive counterpart."""
        def row(estimand, method, value, unit, design=self.design, **kw):
            return est.make(cohort_id=self.cohort_id, role="mentee", estimand=estimand, method=method, estimate=value,
                            unit=unit, design=design, **kw)

        return Estimates([
            row("roi", "causal", 100 * self.roi_median, "percent", ci=(100 * self.roi_low, 100 * self.roi_high),
                n_treated=self.participants, headline=True,
                note=f"percent; 90% interval; P(ROI>0) = {self.prob_positive:.2f}"),
            row("roi", "naive", 100 * self.naive_roi, "percent", "naive", note="naive retention gap taken as causal"),
            row("net_benefit", "causal", self.net_median, "currency", ci=(self.net_low, self.net_high),
                n_treated=self.participants, headline=True, note="benefit minus cost; 90% interval"),
            row("net_benefit", "naive", self.naive_net, "currency", "naive", note="naive retention gap taken as causal"),
            row("break_even_exit_rate", "causal", self.break_even_exit_rate, "pp per month", headline=True,
                note=f"pp per month; = +{self.break_even_effect:.2f} pp 12-month retention at the mid multiplier"),
        ])

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def plot(self, ax=None):
        """Histogram of the ROI draws with the median, zero and the naive ROI marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.4))
        roi = 100 * self.draws["roi"]
        lo, hi = np.percentile(roi, [0.5, 99.5])
        ax.hist(roi.clip(lo, hi), bins=60, color="#0072B2", alpha=0.8)
        ax.axvline(0, color="black", lw=0.8)
        ax.axvline(100 * self.roi_median, color="#0072B2", ls="--", label="median")
        ax.axvline(100 * self.naive_roi, color="#D55E00", ls=":", label="naive ROI")
        ax.set_xlabel("return on investment (%)")
        ax.set_ylabel("simulated draws")
        ax.legend(frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return ax


def compute(study: Study, draws: int = 20_000) -> ROIResult:
    """ROI of the cohort from its mentee retention estimates (the headline 12-month effect on
    participants and its SE, and the naive gap), computed once per study. NotEstimable when the
    cohort has no headline retention estimate, no costs or no salaries to price a departure."""
    from . import retention

    def run() -> ROIResult:
        ds = study.dataset
        if not ds.has("program_costs"):
            raise NotEstimable(f"no program_costs table in {ds.source}: the program's cost is unknown")
        if not ds.has_values("employees", "annual_salary"):
            raise NotEstimable("employees.csv has no annual_salary: the cost of a departure cannot be priced")
        result = retention.analyze(study, "mentee")
        found = result.estimates.where(estimand="retention_12m", role="mentee")
        head, naive = found.first(headline=True), found.first(method="naive")
        if head is None:
            why = result.design.reason.removeprefix("No design can head this report: ") if result.design else ""
            raise NotEstimable("there is no honest retention estimate for this cohort to price"
                               + (f" ({why.rstrip('.')})" if why else ""))
        salary_col = ds.employees.set_index("employee_id")["annual_salary"]
        enr = ds.enrollments.query("cohort_id == @study.cohort_id and role == 'mentee'")
        salary = float(enr["employee_id"].map(salary_col).dropna().mean())
        cost = float(costs(study)["amount"].sum())
        p = study.params
        return from_effect(study.cohort_id, cost, int(head.n_treated), salary, p.turnover_cost_multiplier,
                           head.estimate, head.std_error, naive.estimate if naive is not None else np.nan, draws,
                           p.seed, design=head.design)

    return study.result(("roi", draws), run)


@dataclass(frozen=True)
class ROIAttempt:
    """The cohort's ROI, or None with the reason it cannot be computed (no honest retention
    estimate, no costs, no salaries)."""

    result: ROIResult | None
    reason: str = ""

    @property
    def estimates(self) -> Estimates:
        return self.result.estimates if self.result is not None else Estimates()

    def summary(self) -> str:
        return self.result.summary() if self.result is not None else f"ROI not available: {self.reason}"


def attempt(study: Study, draws: int = 20_000) -> ROIAttempt:
    """compute(study), or the reason it is not estimable."""
    try:
        return ROIAttempt(compute(study, draws))
    except NotEstimable as exc:
        return ROIAttempt(None, str(exc))


def from_effect(cohort_id: str, cost: float, participants: int, salary: float, multiplier: tuple[float, float],
                effect: float, effect_se: float, naive_effect: float, draws: int = 20_000, seed: int = 0,
                design: str = "") -> ROIResult:
    """The ROI arithmetic: benefit = effect/100 x participants x salary x multiplier; net = benefit -
    cost; ROI = net / cost; effect ~ Normal(effect, SE), multiplier ~ Uniform(range), seeded."""
    if cost <= 0:
        raise NotEstimable("the program's cost must be positive to compute a return on it")
    rng = np.random.default_rng(seed)
    d = rng.normal(effect, effect_se, draws) if effect_se > 0 else np.full(draws, effect)
    m = rng.uniform(multiplier[0], multiplier[1], draws)
    benefit = d / 100 * participants * salary * m
    net = benefit - cost
    roi = net / cost
    mid = (multiplier[0] + multiplier[1]) / 2
    break_even = 100 * cost / (participants * salary * mid)
    naive_net = naive_effect / 100 * participants * salary * mid - cost
    q = lambda x: np.percentile(x, [50, 5, 95])  # noqa: E731
    r_med, r_lo, r_hi = q(roi)
    n_med, n_lo, n_hi = q(net)
    return ROIResult(cohort_id, cost, participants, salary, tuple(multiplier), effect, effect_se, float(r_med), float(r_lo),
                     float(r_hi), float(n_med), float(n_lo), float(n_hi), float((roi > 0).mean()), float(break_even),
                     naive_effect, float(naive_net / cost), float(naive_net),
                     pd.DataFrame({"effect": d, "multiplier": m, "benefit": benefit, "net": net, "roi": roi}), design)


def sensitivity(result: ROIResult, multipliers=(0.5, 1.0, 1.5, 2.0)) -> pd.DataFrame:
    """Median ROI and P(ROI > 0) at fixed turnover-cost multipliers (percent), the effect's
    uncertainty kept."""
    rows = []
    for m in multipliers:
        r = from_effect(result.cohort_id, result.cost, result.participants, result.salary, (m, m), result.effect,
                        result.effect_se, result.naive_effect, draws=len(result.draws))
        rows.append({"multiplier (x salary)": m, "roi_median_pct": 100 * r.roi_median, "roi_low_pct": 100 * r.roi_low,
                     "roi_high_pct": 100 * r.roi_high, "prob_positive_pct": 100 * r.prob_positive,
                     "naive_roi_pct": 100 * r.naive_roi, "break_even_pp": r.break_even_effect})
    return pd.DataFrame(rows)
