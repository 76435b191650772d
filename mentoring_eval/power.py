"""What the data can and cannot tell: minimum detectable effects and sample sizes for two-group
comparisons, and what it would take to know (`what_it_takes`): the detectable effect of every
design that can answer, now and with a lottery in the next cohort."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from . import estimates as est
from .estimates import Estimates

if TYPE_CHECKING:
    from .study import Study


def _detectable(n1: float, n0: float, p0: float, alpha: float, power: float) -> float:
    """Smallest increase d over p0 that a two-sided test of two proportions detects with the given
    power, on the arcsine scale (Cohen's h, statsmodels NormalIndPower): h solved for the group
    sizes, then p0 + d = sin^2(asin(sqrt(p0)) + h / 2)."""
    h = NormalIndPower().solve_power(effect_size=None, nobs1=n1, alpha=alpha, power=power, ratio=n0 / n1,
                                     alternative="two-sided")
    angle = min(np.arcsin(np.sqrt(p0)) + h / 2, np.pi / 2)
    return float(np.sin(angle) ** 2 - p0)


def mde(n_treated: int, n_control: int, base_rate: float, alpha: float = 0.05, power: float = 0.8,
        participation_share: float = 1.0) -> float:
    """Minimum detectable increase in a proportion (percentage points) between two groups of the
    given sizes at a base rate (percent): two-sided test at `alpha` with the given power; divided by
    the participation share for an effect on participants estimated through the whole eligible
    group (the diluted design of the headline estimates)."""
    if n_treated <= 0 or n_control <= 0:
        raise ValueError("both groups need at least one person")
    if not 0 < participation_share <= 1:
        raise ValueError("participation_share must be in (0, 1]")
    return 100 * _detectable(n_treated, n_control, base_rate / 100, alpha, power) / participation_share


def sample_size(effect: float, base_rate: float, ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8,
                participation_share: float = 1.0) -> int:
    """Treated-group size needed to detect an increase of `effect` (pp) at `base_rate` (percent),
    with `ratio` comparison people per treated person (and the participation share, as in mde)."""
    if effect <= 0:
        raise ValueError("the effect to detect must be a positive number of percentage points")
    p0 = base_rate / 100
    p1 = min(p0 + effect / 100 * participation_share, 1.0)
    h = proportion_effectsize(p1, p0)
    n = NormalIndPower().solve_power(effect_size=h, nobs1=None, alpha=alpha, power=power, ratio=ratio,
                                     alternative="two-sided")
    return int(np.ceil(float(n) - 1e-3))  # the root finder's tolerance is well below a thousandth of a person


# ---------------------------------------------------------------- what it would take to know

MDE_ESTIMANDS = ("retention_12m", "voluntary_exit_12m", "promotion_12m")
ANSWERING_DESIGNS = ("lottery", "capacity", "rollout")  # designs whose interval can be trusted to answer
NEXT_SHARE = 0.5  # a next-cohort lottery offers half its applicants a place


def mde_from_se(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect of an estimate with standard error `se`, two-sided test at `alpha`
    with the given power: (z_{1-alpha/2} + z_power) x se (2.80 x se at the defaults)."""
    from scipy import stats

    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


@dataclass(frozen=True)
class Detectable:
    """What the evidence can see: the minimum detectable effect on participants (pp, 80% power, 5%
    two-sided) of each design that can answer, for this cohort alone, pooled with the earlier
    cohorts, and for a lottery among the next cohort's expected applicants pooled with the lottery
    evidence so far; with the break-even cut the money needs, when known."""

    cohort_id: str
    table: pd.DataFrame = field(repr=False)  # estimand, scope, design, mde, people, note, alone (next lottery on its own)
    expected_applicants: int
    take_up: float  # share of the offered who take part (0-1)
    break_even: float = float("nan")  # pp cut in 12-month exits the program needs to pay back
    lotteries_to_know: float = float("nan")  # next-size lotteries needed to detect the break-even

    def mde(self, estimand: str, scope: str, design: str | None = None) -> float:
        rows = self.table[(self.table["estimand"] == estimand) & (self.table["scope"] == scope)]
        if design is not None:
            rows = rows[rows["design"] == design]
        rows = rows.dropna(subset=["mde"])
        return float(rows["mde"].min()) if len(rows) else float("nan")

    @property
    def estimates(self) -> Estimates:
        rows = []
        for r in self.table.itertuples():
            rows.append(est.make(cohort_id=self.cohort_id, role="mentee", estimand=f"mde_{r.estimand}", method=r.scope,
                                 estimate=r.mde, design=r.design, unit="pp", n_treated=r.people, evidence="",
                                 note=f"80% power, 5% two-sided; {r.note}"))
        if np.isfinite(self.lotteries_to_know):
            rows.append(est.make(cohort_id=self.cohort_id, role="mentee", estimand="lotteries_to_know",
                                 method="next_lottery", estimate=self.lotteries_to_know, design="lottery",
                                 unit="cohorts", n_treated=self.expected_applicants, evidence="",
                                 note=f"next-size lotteries (pooled with the lottery so far) needed to detect the "
                                 f"break-even cut of {self.break_even:.2f} pp in 12-month voluntary exits"))
        return Estimates(rows)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        now = self.mde("voluntary_exit_12m", "pooled_so_far")
        nxt = self.mde("voluntary_exit_12m", "next_lottery")
        return (f"detectable cut in 12-month voluntary exits: {now:.1f} pp so far, {nxt:.1f} pp with a lottery among "
                f"~{self.expected_applicants:,} next applicants")


def what_it_takes(study: Study, break_even: float = float("nan")) -> Detectable:
    """The minimum detectable effects of every design that can answer, this cohort alone, pooled
    over it and the earlier cohorts, and for a lottery among the next cohort's expected applicants
    (the cohorts' application rate x this cohort's eligible mentees; take-up from past lotteries,
    else this cohort's share of applicants who took part), pooled with the lottery evidence so far."""
    from . import applicants, pooling, promotion, retention
    from .applicants import HEADLINE_METHODS

    so_far = study.so_far
    own = retention.analyze(study, "mentee").estimates + promotion.analyze(study, "mentee").estimates
    pooled = pooling.pooled(so_far).estimates if len(so_far) > 1 else own
    rows = []
    for estimand in MDE_ESTIMANDS:
        for design in ANSWERING_DESIGNS:
            for scope, found in (("this_cohort", own), ("pooled_so_far", pooled)):
                e = found.first(estimand=estimand, design=design, method=HEADLINE_METHODS[design])
                if e is None:
                    continue
                if "no headline:" in e.note:
                    note = "cannot answer: " + e.note.split("no headline: ")[-1].split(";")[0]
                    rows.append((estimand, scope, design, np.nan, e.n_treated, note, np.nan))
                else:
                    rows.append((estimand, scope, design, mde_from_se(e.std_error), e.n_treated,
                                 f"from the estimate's standard error ({e.std_error:.2f} pp)", np.nan))
    # the next cohort's lottery
    pools = [applicants.pool(s) for s in so_far]
    eligible = sum(s.cohort.participation_share("mentee").eligible for s in so_far)
    applied = sum(len(p.people) for p in pools)
    rate = applied / eligible if eligible else 0.0
    expected = int(round(rate * study.cohort.participation_share("mentee").eligible))
    take_up = _take_up(so_far, pools)
    people = pools[-1].people
    lottery_se = {}
    for estimand in MDE_ESTIMANDS:
        e = pooled.first(estimand=estimand, design="lottery", method="tot_iv")
        lottery_se[estimand] = e.std_error if e is not None else np.inf
        if expected < 4 or take_up <= 0 or people.empty:
            continue
        rate_now = float(people[estimand].mean())
        base = 100 - rate_now if estimand == "voluntary_exit_12m" else rate_now  # a cut in exits: a rise in staying
        base = min(max(base, 0.5), 99.5)
        half = expected * NEXT_SHARE
        alone = mde(int(half), int(expected - half), base, participation_share=take_up) if half >= 1 else np.inf
        se_next = alone / mde_from_se(1.0)
        se = 1 / np.sqrt(1 / se_next ** 2 + 1 / lottery_se[estimand] ** 2)
        with_what = "pooled with the lottery so far" if np.isfinite(lottery_se[estimand]) else "no lottery so far"
        rows.append((estimand, "next_lottery", "lottery", mde_from_se(se), expected,
                     f"~{expected} applicants ({100 * rate:.1f}% of the eligible applied so far), half offered, "
                     f"{100 * take_up:.0f}% take-up, base rate {rate_now:.1f}%; {with_what}; alone {alone:.1f} pp",
                     alone))
    table = pd.DataFrame(rows, columns=["estimand", "scope", "design", "mde", "people", "note", "alone"])
    needed = np.nan
    nxt = table[(table["estimand"] == "voluntary_exit_12m") & (table["scope"] == "next_lottery")]
    if np.isfinite(break_even) and break_even > 0 and len(nxt):
        alone = float(nxt["alone"].iloc[0])
        se_next, se_goal = alone / mde_from_se(1.0), break_even / mde_from_se(1.0)
        have = 1 / lottery_se["voluntary_exit_12m"] ** 2
        needed = max((1 / se_goal ** 2 - have) * se_next ** 2, 0.0)
    return Detectable(study.cohort_id, table, expected, take_up, break_even, needed)


def _take_up(studies, pools) -> float:
    """Share of the offered who take part: the past lotteries' offered minus not offered who took
    part (their first stage), else the share of this cohort's applicants who took part."""
    lotteries = [p.people for s, p in zip(studies, pools, strict=True) if s.params.design in ("lottery", "auto") and p.lottery]
    if lotteries:
        people = pd.concat(lotteries, ignore_index=True)
        offered = people["offered"].astype(bool)
        return float(np.clip(people.loc[offered, "took_part"].mean() - people.loc[~offered, "took_part"].mean(), 0.05, 1))
    last = pools[-1].people
    return float(np.clip(last["took_part"].mean(), 0.05, 1)) if len(last) else 0.0
