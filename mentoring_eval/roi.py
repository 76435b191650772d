"""Return on investment from the evidence: what the program cost, what the departures it avoided
are worth, and whether the evidence says it paid back.

Costs: the program's cost lines plus the time mentors and mentees spend in meetings (hours x
hourly cost), usually the largest item. Benefit: departures avoided = the cut in 12-month exits
among mentees (percentage points; voluntary exits where the design measures them, else exits for
any reason) x mentees who took part, each worth annual salary x a turnover-cost multiplier (the
params' range, 0.5-2.0 of salary by default: published estimates of the cost of replacing an
employee span roughly this range). ROI is a straight line in the cut, so the decision is one
comparison: the program pays back if it cut exits by at least the break-even; the evidence's 95%
interval for the cut either clears it (pays back), falls short of it (does not) or straddles it
(cannot tell yet). The cut comes from the strongest evidence the program has so far: the pooled
effect of the strongest design over this cohort and the earlier ones, else this cohort's own
headline. A probability that the program paid back is given only under a stated skeptical prior
(normal, centred at no effect, SD `prior_sd` pp), never from a flat prior on an imprecise
estimate. The platforms' "naive ROI" treats the naive retention gap as caused by the program.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from . import estimates as est
from . import populations
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



EXIT_ESTIMANDS = ("voluntary_exit_12m", "retention_12m")  # preferred first: the benefit counts voluntary departures
VERDICTS = ("pays back", "does not pay back", "cannot tell yet")
DECIDING_DESIGNS = ("lottery", "capacity", "rollout")  # an observational comparison's interval misses its selection


@dataclass(frozen=True)
class ExitCut:
    """The evidence the money rests on: how many percentage points fewer mentees left within 12
    months because of the program (positive = fewer exits), its 95% interval and standard error,
    which exits it counts, the design and evidence grade, and the cohorts it pools."""

    estimate: float
    ci_low: float
    ci_high: float
    std_error: float
    exits: str  # "voluntary" or "any reason"
    design: str
    evidence: str
    cohorts: tuple[str, ...]

    @classmethod
    def of(cls, e: est.Estimate, cohorts: Sequence[str]) -> ExitCut:
        """The cut read from a voluntary_exit_12m effect (sign flipped) or a retention_12m effect,
        bounded by what is possible (+/-100 pp)."""
        sign = -1.0 if e.estimand == "voluntary_exit_12m" else 1.0
        lo, hi = sorted((sign * e.ci_low, sign * e.ci_high))
        return cls(float(np.clip(sign * e.estimate, -100, 100)), float(max(lo, -100.0)), float(min(hi, 100.0)),
                   e.std_error, "voluntary" if sign < 0 else "any reason", e.design, e.evidence, tuple(cohorts))

    @property
    def what(self) -> str:
        """'12-month voluntary exits' or '12-month exits (any reason)'."""
        return "12-month voluntary exits" if self.exits == "voluntary" else "12-month exits (any reason)"

    @property
    def departures(self) -> str:
        """What the benefit counts: 'voluntary departures' or 'departures (any reason)'."""
        return "voluntary departures" if self.exits == "voluntary" else "departures (any reason)"

    @property
    def pooled(self) -> bool:
        return len(self.cohorts) > 1

    @property
    def can_decide(self) -> bool:
        """Whether the design's interval can be trusted to decide: not an observational comparison."""
        return self.design in DECIDING_DESIGNS


def exit_evidence(studies: Sequence[Study]) -> ExitCut | None:
    """The strongest answer the studies' cohorts give on 12-month exits among mentees (voluntary
    exits before exits for any reason; see pooling.strongest), as a cut; None when no design can."""
    from .pooling import strongest

    found = strongest(studies, EXIT_ESTIMANDS)
    return ExitCut.of(*found) if found is not None else None


def skeptical_probability(cut: float, se: float, threshold: float, prior_sd: float) -> float:
    """P(true cut > threshold) under a normal prior N(0, prior_sd^2) on the cut (pp) and a normal
    likelihood of the estimate (cut, se): the conjugate posterior, whose mean shrinks the estimate
    towards no effect by prior_sd^2 / (prior_sd^2 + se^2). With se = inf (no data) it is the prior's."""
    if not np.isfinite(se):
        return float(stats.norm.sf(threshold / prior_sd))
    shrink = prior_sd ** 2 / (prior_sd ** 2 + se ** 2)
    mean, sd = shrink * cut, math.sqrt(shrink) * se
    return float(stats.norm.sf((threshold - mean) / sd)) if sd > 0 else float(mean > threshold)


def verdict(low: float, high: float, break_even: float) -> str:
    """'pays back' when the whole 95% interval of the cut clears the break-even, 'does not pay back'
    when it all falls short, 'cannot tell yet' when it straddles it (or there is no interval)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "cannot tell yet"
    if low >= break_even:
        return "pays back"
    if high < break_even:
        return "does not pay back"
    return "cannot tell yet"


def rounded(value: float, low: float, high: float) -> float:
    """`value` rounded to what an interval (low, high) supports: to the power of ten below a
    quarter of its width (a 6,000-point-wide interval rounds to thousands), at least to units."""
    width = abs(high - low) if np.isfinite(low) and np.isfinite(high) else abs(value)
    step = 10 ** max(0, math.floor(math.log10(width / 4))) if width > 4 else 1
    return float(round(value / step) * step)


@dataclass(frozen=True)
class ROIResult:
    """The program's money for one cohort (or the program so far): cost, what a percentage point
    fewer exits among its mentees is worth, the evidence's cut with its interval, the break-even
    cut, the verdict, ROI over the interval, and the naive ROI a platform would quote."""

    cohort_id: str
    cost: float  # currency
    participants: int  # mentees who took part (matched in the cohort: `populations`)
    salary: float  # their mean annual salary (currency)
    multiplier: tuple[float, float]  # cost of a departure, multiples of salary
    currency: str
    cut: ExitCut | None  # None: no design can answer yet
    naive_cut: float  # the naive retention gap (pp) a platform takes as the program's doing
    prior_sd: float  # pp
    reason: str = ""  # why there is no evidence, when cut is None
    participants_withheld: bool = False  # the cohort's matched count is one its pages withhold (`populations`)

    # --------------------------------------------------------------- the line

    @property
    def mid_multiplier(self) -> float:
        return (self.multiplier[0] + self.multiplier[1]) / 2

    def worth(self, multiplier: float | None = None) -> float:
        """What a cut of one percentage point in 12-month exits is worth (currency): participants /
        100 departures avoided x salary x multiplier (mid of the range by default)."""
        m = self.mid_multiplier if multiplier is None else multiplier
        return self.participants / 100 * self.salary * m

    def roi_at(self, cut, multiplier: float | None = None):
        """ROI (a fraction; 0 = break-even, -1 = the whole cost lost) at a cut in exits (pp)."""
        return (np.asarray(cut, float) * self.worth(multiplier) - self.cost) / self.cost

    @property
    def break_even(self) -> float:
        """The cut in 12-month exits among mentees (pp) at which the benefit equals the cost, at the
        middle of the multiplier range."""
        return self.cost / self.worth() if self.worth() > 0 else math.inf

    @property
    def break_even_range(self) -> tuple[float, float]:
        """The break-even cut (pp) at the dearest and the cheapest departure of the range."""
        hi, lo = (self.cost / self.worth(m) if self.worth(m) > 0 else math.inf for m in self.multiplier)
        return lo, hi

    # --------------------------------------------------------------- the evidence on it

    @property
    def verdict(self) -> str:
        """pays back / does not pay back / cannot tell yet (see `verdict`). A matched comparison
        of participants with colleagues who did not apply never decides: with no effect planted it
        said "pays back" for 22.5% of simulated cohorts (docs/validation.md), since it carries the
        volunteers' selection."""
        if self.cut is None or not self.cut.can_decide:
            return "cannot tell yet"
        return verdict(self.cut.ci_low, self.cut.ci_high, self.break_even)

    @property
    def roi(self) -> float:
        """ROI at the evidence's estimate, mid multiplier (fraction); NaN without evidence."""
        return float(self.roi_at(self.cut.estimate)) if self.cut else math.nan

    @property
    def roi_interval(self) -> tuple[float, float]:
        """ROI over the cut's 95% interval and the whole multiplier range (fractions)."""
        if self.cut is None:
            return math.nan, math.nan
        corners = [float(self.roi_at(c, m)) for c in (self.cut.ci_low, self.cut.ci_high) for m in self.multiplier]
        return min(corners), max(corners)

    @property
    def net(self) -> float:
        return self.roi * self.cost

    @property
    def net_interval(self) -> tuple[float, float]:
        lo, hi = self.roi_interval
        return lo * self.cost, hi * self.cost

    @property
    def prob_pays_back(self) -> float:
        """P(the cut exceeds the break-even) under the skeptical prior, given the evidence (0-1);
        the prior's alone when the evidence cannot decide (none, or an observational comparison,
        whose selection would move the posterior as if it were an effect)."""
        if self.cut is None or not self.cut.can_decide:
            return self.prior_pays_back
        return skeptical_probability(self.cut.estimate, self.cut.std_error, self.break_even, self.prior_sd)

    @property
    def prior_pays_back(self) -> float:
        """The same probability from the prior alone, before any evidence (0-1)."""
        return skeptical_probability(0.0, math.inf, self.break_even, self.prior_sd)

    @property
    def naive_roi(self) -> float:
        return float(self.roi_at(self.naive_cut)) if np.isfinite(self.naive_cut) else math.nan

    @property
    def naive_net(self) -> float:
        return self.naive_roi * self.cost

    # --------------------------------------------------------------- words and rows

    def sentence(self) -> str:
        """'The program pays back if it cut 12-month voluntary exits among mentees by at least X pp;
        the evidence puts the cut between A and B pp: pays back / does not / cannot tell yet.'"""
        what = self.cut.what if self.cut else "12-month exits"
        head = f"The program pays back if it cut {what} among mentees by at least {self.break_even:.1f} pp"
        if self.cut is None:
            return f"{head}; no design can measure the cut yet ({self.reason}): cannot tell yet."
        if not self.cut.can_decide:
            return (f"{head}; the only evidence, a comparison with similar colleagues who did not apply, carries "
                    "the volunteers' selection and cannot show it: cannot tell yet.")
        lo, hi = (f"{v:+.1f}".replace("-0.0", "+0.0") for v in (self.cut.ci_low, self.cut.ci_high))
        return f"{head}; the evidence puts the cut between {lo} and {hi} pp: {self.verdict}."

    def summary(self) -> str:
        lo, hi = self.roi_interval
        roi = (f"ROI {100 * rounded(self.roi, lo, hi):+.0f}% ({100 * rounded(lo, lo, hi):+.0f}% to "
               f"{100 * rounded(hi, lo, hi):+.0f}%)") if self.cut else "ROI unknown"
        return f"{self.sentence()} {roi}; naive ROI {100 * self.naive_roi:+.0f}%"

    @property
    def estimates(self) -> Estimates:
        """ROI (percent, over the cut's 95% interval and the multiplier range), net benefit
        (currency), the break-even cut (pp), the cut the money rests on (pp) and the probability it
        paid back under the skeptical prior (percent), each naive counterpart beside."""
        design = self.cut.design if self.cut else "descriptive"  # no evidence: figures of the costs alone
        evidence = self.cut.evidence if self.cut else ""
        source = (f"{self.cut.design} design, {'pooled over ' if self.cut.pooled else ''}{', '.join(self.cut.cohorts)}"
                  if self.cut else f"no evidence: {self.reason}")
        common = dict(cohort_id=self.cohort_id, role="mentee", design=design, evidence=evidence,
                      n_treated=self.participants)
        lo, hi = self.roi_interval
        nlo, nhi = self.net_interval
        rows = [
            est.make(estimand="program_cost", method="costs", estimate=self.cost, unit=self.currency,
                     note=f"cost lines plus mentor and mentee time, {self.currency}",
                     **{**common, "design": "descriptive", "evidence": ""}),
            est.make(estimand="roi", method="causal", estimate=100 * self.roi, ci=(100 * lo, 100 * hi), unit="percent",
                     headline=self.cut is not None, note=f"verdict: {self.verdict}; range over the 95% interval of the "
                     f"cut in {self.cut.what if self.cut else 'exits'} and the multiplier range; {source}", **common),
            est.make(estimand="net_benefit", method="causal", estimate=self.net, ci=(nlo, nhi), unit=self.currency,
                     headline=self.cut is not None, note=f"benefit minus cost, {self.currency}; {source}", **common),
            est.make(estimand="break_even_cut", method="causal", estimate=self.break_even, unit="pp",
                     ci=self.break_even_range, headline=True, note=f"cut in 12-month exits among mentees at which "
                     f"the benefit equals the cost ({self.cost:,.0f} {self.currency}); interval over the multiplier "
                     "range", **{**common, "design": "descriptive", "evidence": ""}),
            est.make(estimand="prob_pays_back", method="skeptical_prior", estimate=100 * self.prob_pays_back,
                     unit="percent", note=f"P(cut > break-even) under a normal prior centred at 0 with SD "
                     f"{self.prior_sd:g} pp; the prior alone gives {100 * self.prior_pays_back:.0f}%", **common),
        ]
        if self.cut is not None:
            rows.append(est.make(estimand="exit_cut", method="evidence", estimate=self.cut.estimate,
                                 std_error=self.cut.std_error, ci=(self.cut.ci_low, self.cut.ci_high), unit="pp",
                                 note=f"cut in {self.cut.what} among mentees; {source}", **common))
        naive = dict(cohort_id=self.cohort_id, role="mentee", design="naive", n_treated=self.participants,
                     note="the naive retention gap taken as caused by the program")
        rows += [est.make(estimand="exit_cut", method="naive", estimate=self.naive_cut, unit="pp",
                          **{**naive, "note": "the naive retention gap: participants' 12-month retention minus "
                             "everyone else's, pp"}),
                 est.make(estimand="roi", method="naive", estimate=100 * self.naive_roi, unit="percent", **naive),
                 est.make(estimand="net_benefit", method="naive", estimate=self.naive_net, unit=self.currency, **naive)]
        return Estimates(rows)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def plot(self, ax=None):
        """ROI against the cut in 12-month exits (pp): the line at the mid multiplier with the
        multiplier range as a band, the break-even marked, the evidence's 95% interval shaded and
        its estimate dotted, the naive cut marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.6))
        points = [0.0, 2 * self.break_even if np.isfinite(self.break_even) else 5.0, 5.0]
        if self.cut:
            points += [self.cut.ci_low, self.cut.ci_high]
        if np.isfinite(self.naive_cut):
            points.append(self.naive_cut)
        lo, hi = max(min(points) - 1, -100), min(max(points) + 1, 100)
        x = np.linspace(lo, hi, 200)
        ax.fill_between(x, 100 * self.roi_at(x, self.multiplier[0]), 100 * self.roi_at(x, self.multiplier[1]),
                        color="#999999", alpha=0.2, lw=0, label=f"cost of a departure {self.multiplier[0]:g}-"
                        f"{self.multiplier[1]:g} x salary")
        ax.plot(x, 100 * self.roi_at(x), color="black", lw=1.5, label=f"ROI at {self.mid_multiplier:g} x salary")
        ax.axhline(0, color="black", lw=0.6)
        if np.isfinite(self.break_even) and lo <= self.break_even <= hi:
            ax.axvline(self.break_even, color="#009E73", lw=1.2, label=f"break-even: {self.break_even:.1f} pp")
        if self.cut:
            ax.axvspan(self.cut.ci_low, self.cut.ci_high, color="#0072B2", alpha=0.15, lw=0,
                       label=f"evidence, 95% interval ({self.cut.ci_low:+.1f} to {self.cut.ci_high:+.1f} pp)")
            ax.axvline(self.cut.estimate, color="#0072B2", ls="--", lw=1, label=f"estimate: {self.cut.estimate:+.1f} pp")
        if np.isfinite(self.naive_cut) and lo <= self.naive_cut <= hi:
            ax.axvline(self.naive_cut, color="#D55E00", ls=":", lw=1.5, label=f"naive gap: {self.naive_cut:+.1f} pp")
        ax.set_xlim(lo, hi)
        ax.set_xlabel(f"cut in {self.cut.what if self.cut else '12-month exits'} among mentees (percentage points)")
        ax.set_ylabel("return on investment (%)")
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax.spines[["top", "right"]].set_visible(False)
        return ax


def _priced(studies: Sequence[Study]) -> tuple[float, int, float, float]:
    """(cost, mentees who took part, their mean salary, naive retention gap) of the studies' cohorts
    together. Taking part is having a match in the cohort (an applicant a lottery turned down
    avoids no departure); without a matches table, every enrolled mentee. NotEstimable without
    costs or salaries."""
    from . import retention

    currencies = {s.params.currency for s in studies}
    if len(currencies) > 1:
        raise NotEstimable(f"the cohorts' costs are in {len(currencies)} currencies ({', '.join(sorted(currencies))}); "
                           f"their money cannot be added up")
    datasets = {id(s.dataset): s.dataset for s in studies}.values()
    for ds in datasets:
        if not ds.has("program_costs"):
            raise NotEstimable(f"no program_costs table in {ds.source}: the program's cost is unknown")
        if not ds.has_values("employees", "annual_salary"):
            where = f" (in {ds.source})" if len(datasets) > 1 else ""
            raise NotEstimable(f"{ds.files.get('employees', 'employees.csv')}{where} has no annual_salary: the cost of "
                               f"a departure cannot be priced")
    salaries_of = {id(ds): ds.employees.set_index("employee_id")["annual_salary"] for ds in datasets}
    cost, people, salaries, gaps = 0.0, 0, [], []
    for study in studies:
        salary_of = salaries_of[id(study.dataset)]  # each company's own people
        took_part = populations.members(study, "mentee", "matched")  # the count every page prints
        cost += float(costs(study)["amount"].sum())
        people += len(took_part)
        salaries.append(took_part.map(salary_of).dropna().to_numpy(float))
        naive = retention.naive(study, "mentee")
        gaps.append((naive.difference, naive.participants))
    pay = np.concatenate(salaries)
    if not pay.size:
        raise NotEstimable("no mentee of the cohort has an annual salary: the cost of a departure cannot be priced")
    total = sum(n for _, n in gaps)
    naive_gap = sum(g * n for g, n in gaps) / total if total else math.nan
    return cost, people, float(pay.mean()), float(naive_gap)


def price(studies: Sequence[Study], evidence: Sequence[Study] | None = None, cohort_id: str | None = None) -> ROIResult:
    """The money of the studies' cohorts together, priced with the strongest evidence of the
    `evidence` studies (default: the same ones)."""
    studies = sorted(studies, key=lambda s: s.start)
    cost, participants, salary, naive_gap = _priced(studies)
    if cost <= 0:
        raise NotEstimable("the program's cost must be positive to compute a return on it")
    cut = exit_evidence(evidence or studies)
    reason = ""
    if cut is None:
        from . import retention

        choice = retention.analyze(studies[-1], "mentee").design
        reason = (choice.reason.removeprefix("No design can head this report: ").rstrip(".")
                  if choice is not None and choice.reason else "no design has a headline estimate of exits")
    p = studies[-1].params
    withheld = len(studies) == 1 and populations.shown(studies[0], "mentee", "matched") is None
    return ROIResult(cohort_id or studies[-1].cohort_id, cost, participants, salary, tuple(p.turnover_cost_multiplier),
                     p.currency, cut, naive_gap, p.prior_sd, reason, withheld)


def compute(study: Study) -> ROIResult:
    """The cohort's money priced with the strongest evidence the program has so far (this cohort
    and the earlier ones, pooled), computed once per study."""
    return study.result(("roi", "evidence"), lambda: price([study], study.so_far))


@dataclass(frozen=True)
class ROIAttempt:
    """The cohort's ROI, or None with the reason it cannot be computed (no costs, no salaries)."""

    result: ROIResult | None
    reason: str = ""

    @property
    def estimates(self) -> Estimates:
        return self.result.estimates if self.result is not None else Estimates()

    def summary(self) -> str:
        return self.result.summary() if self.result is not None else f"ROI not available: {self.reason}"


def attempt(study: Study) -> ROIAttempt:
    """compute(study), or the reason it is not estimable."""
    try:
        return ROIAttempt(compute(study))
    except NotEstimable as exc:
        return ROIAttempt(None, str(exc))


def program(studies: Sequence[Study]) -> ROIResult:
    """The whole program's money: every cohort's cost and mentees, priced with the pooled evidence
    of all of them (cohort_id "pooled")."""
    from .pooling import POOLED

    return price(studies, cohort_id=POOLED)


def sensitivity(result: ROIResult, multipliers=(0.5, 1.0, 1.5, 2.0)) -> pd.DataFrame:
    """ROI at the evidence's estimate and its 95% interval, and the break-even cut (pp), at fixed
    costs of a departure (multiples of salary)."""
    rows = []
    for m in multipliers:
        row = {"cost of a departure (x salary)": m, "break-even cut (pp)": result.cost / result.worth(m)}
        if result.cut is not None:
            row.update({"ROI at the estimate (%)": 100 * float(result.roi_at(result.cut.estimate, m)),
                        "ROI, low end (%)": 100 * float(result.roi_at(result.cut.ci_low, m)),
                        "ROI, high end (%)": 100 * float(result.roi_at(result.cut.ci_high, m))})
        row["naive ROI (%)"] = 100 * float(result.roi_at(result.naive_cut, m))
        rows.append(row)
    return pd.DataFrame(rows)
