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

import numpy as np
import pandas as pd

from . import estimates as est
from .data import Dataset

HOURS_PER_YEAR = 2080


def costs(ds: Dataset, params) -> pd.DataFrame:
    """Cost lines of the cohort (currency of the data): program_costs by category, with mentor and
    mentee time computed from the meeting log (hours x hourly cost: params mentor_hourly_cost, or
    each person's annual salary / 2080) in place of any mentor_time line when meetings are known."""
    lines = ds.require("program_costs", "ROI").query("cohort_id == @params.cohort_id")
    table = lines.groupby("category", as_index=False)["amount"].sum()
    if ds.has("meetings") and ds.has("matches"):
        m = ds.matches.query("cohort_id == @params.cohort_id")
        meet = ds.meetings.merge(m[["match_id", "mentor_id", "mentee_id"]], on="match_id")
        hours = meet["duration_minutes"] / 60
        salary = ds.employees.set_index("employee_id")["annual_salary"] if "annual_salary" in ds.employees else None
        fallback = float(salary.median()) if salary is not None else np.nan

        def hourly(ids: pd.Series, override: float | None) -> np.ndarray:
            if override is not None:
                return np.full(len(ids), override)
            if salary is None:
                raise ValueError("employees.csv has no annual_salary: set mentor_hourly_cost in the params")
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

    @property
    def break_even_exit_rate(self) -> float:
        """The same break-even as a change in the monthly voluntary-exit rate (pp per month)."""
        return -self.break_even_effect / 12

    def summary(self) -> str:
        return (f"ROI {100 * self.roi_median:+.0f}% (90% interval {100 * self.roi_low:+.0f}% to {100 * self.roi_high:+.0f}%), "
                f"P(ROI > 0) = {self.prob_positive:.0%}; break-even at +{self.break_even_effect:.1f} pp 12-month "
                f"retention; naive ROI {100 * self.naive_roi:+.0f}%")

    def findings(self) -> str:
        return (f"**Return on investment:** the program cost about {self.cost:,.0f}. Counting only the departures "
                f"it avoided, its ROI is **{100 * self.roi_median:+.0f}%** (90% interval {100 * self.roi_low:+.0f}% to "
                f"{100 * self.roi_high:+.0f}%); the chance that it paid back more than it cost is "
                f"{self.prob_positive:.0%}.\n\n"
                f"It breaks even if mentoring raised participants' 12-month retention by "
                f"**{self.break_even_effect:.1f} points**; the estimate is {self.effect:+.1f} (SE {self.effect_se:.1f}).\n\n"
                f"**The naive ROI** a platform would quote, treating the whole {self.naive_effect:+.1f}-point retention gap "
                f"as the program's doing, is {100 * self.naive_roi:+.0f}%.")

    def to_frame(self) -> pd.DataFrame:
        rows = [
            est.row(self.cohort_id, "mentee", "roi", "causal", 100 * self.roi_median, None,
                    (100 * self.roi_low, 100 * self.roi_high), self.participants, None, headline=True,
                    note=f"percent; 90% interval; P(ROI>0) = {self.prob_positive:.2f}"),
            est.row(self.cohort_id, "mentee", "roi", "naive", 100 * self.naive_roi, note="naive retention gap taken as causal"),
            est.row(self.cohort_id, "mentee", "net_benefit", "causal", self.net_median, None, (self.net_low, self.net_high),
                    self.participants, None, headline=True, note="benefit minus cost; 90% interval"),
            est.row(self.cohort_id, "mentee", "net_benefit", "naive", self.naive_net, note="naive retention gap taken as causal"),
            est.row(self.cohort_id, "mentee", "break_even_exit_rate", "causal", self.break_even_exit_rate, headline=True,
                    note=f"pp per month; = +{self.break_even_effect:.2f} pp 12-month retention at the mid multiplier"),
        ]
        return est.frame(rows)

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


def analyze(ds: Dataset, params, retention_estimates: pd.DataFrame, draws: int = 20_000,
            if_unavailable: str = "raise") -> ROIResult | None:
    """ROI of the cohort from its retention estimates (the rows of retention.analyze for mentees):
    the headline retention_12m effect and its SE, and the naive gap. With if_unavailable="none",
    a cohort without a headline retention estimate gives None instead of an error."""
    try:
        return _analyze(ds, params, retention_estimates, draws)
    except ValueError:
        if if_unavailable == "none":
            return None
        raise


def _analyze(ds: Dataset, params, retention_estimates: pd.DataFrame, draws: int) -> ROIResult:
    e = retention_estimates[(retention_estimates["role"] == "mentee") & (retention_estimates["estimand"] == "retention_12m")]
    head = e[e["headline"]]
    if head.empty:
        raise ValueError("no headline retention_12m estimate for mentees: run the retention analysis first")
    naive = e[e["method"] == "naive"]
    h = head.iloc[0]
    n = int(h["n_treated"])
    enr = ds.enrollments.query("cohort_id == @params.cohort_id and role == 'mentee'")
    salary_col = ds.employees.set_index("employee_id")["annual_salary"] if "annual_salary" in ds.employees else None
    if salary_col is None:
        raise ValueError("employees.csv has no annual_salary: the cost of a departure cannot be priced")
    salary = float(enr["employee_id"].map(salary_col).dropna().mean())
    cost = float(costs(ds, params)["amount"].sum())
    return compute(params.cohort_id, cost, n, salary, params.turnover_cost_multiplier, float(h["estimate"]),
                   float(h["std_error"]), float(naive["estimate"].iloc[0]) if len(naive) else np.nan, draws, params.seed)


def compute(cohort_id: str, cost: float, participants: int, salary: float, multiplier: tuple[float, float],
            effect: float, effect_se: float, naive_effect: float, draws: int = 20_000, seed: int = 0) -> ROIResult:
    """The ROI arithmetic: benefit = effect/100 x participants x salary x multiplier; net = benefit -
    cost; ROI = net / cost; effect ~ Normal(effect, SE), multiplier ~ Uniform(range), seeded."""
    if cost <= 0:
        raise ValueError("the program's cost must be positive to compute a return on it")
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
                     pd.DataFrame({"effect": d, "multiplier": m, "benefit": benefit, "net": net, "roi": roi}))


def sensitivity(result: ROIResult, multipliers=(0.5, 1.0, 1.5, 2.0)) -> pd.DataFrame:
    """Median ROI and P(ROI > 0) at fixed turnover-cost multipliers (percent), the effect's
    uncertainty kept."""
    rows = []
    for m in multipliers:
        r = compute(result.cohort_id, result.cost, result.participants, result.salary, (m, m), result.effect,
                    result.effect_se, result.naive_effect, draws=len(result.draws))
        rows.append({"multiplier (x salary)": m, "roi_median_pct": 100 * r.roi_median, "roi_low_pct": 100 * r.roi_low,
                     "roi_high_pct": 100 * r.roi_high, "prob_positive_pct": 100 * r.prob_positive,
                     "naive_roi_pct": 100 * r.naive_roi, "break_even_pp": r.break_even_effect})
    return pd.DataFrame(rows)
