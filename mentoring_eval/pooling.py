"""Effects pooled across cohorts: one answer from several cohorts too small to answer alone.

For each design and outcome, the pooled effect is the participant-weighted average of the
cohorts' effects (weights: mentees who took part in each cohort's analysis). For the applicant
designs (lottery, capacity) every cohort's estimate carries per-person influence values, so the
pooled variance is clustered by employee: someone in two cohorts' analyses counts once, with
both contributions. The rollout's cohort estimates share comparison departments and carry no
per-person values, so their pooled standard error is the weighted sum of the cohorts' (the
variance if they were perfectly correlated): an upper bound, never an understatement.
Observational comparisons are not pooled: averaging estimates that share a bias narrows the
interval around the wrong number.

Pooled rows have cohort_id "pooled"; the strongest design's effect on participants is the
headline of each outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from . import estimates as est
from .applicants import HEADLINE_METHODS, OUTCOMES, DesignResult
from .errors import NotEstimable
from .estimates import Estimates

if TYPE_CHECKING:
    from .study import Study

POOLED = "pooled"
GRADES = ("randomized", "quasi-experimental", "observational")  # strongest first
ROLLOUT_ESTIMANDS = ("retention_12m", "promotion_12m")


@dataclass(frozen=True)
class Pooled:
    """The pooled estimates and the cohort estimates that went into them (for the forest plot)."""

    estimates: Estimates = field(repr=False)
    cohorts: Estimates = field(repr=False)  # each cohort's row behind a pooled row

    def summary(self) -> str:
        return "\n".join(e.summary() for e in self.estimates)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def headline(self, estimand: str) -> est.Estimate | None:
        return self.estimates.headline(estimand, "mentee")


def pool_applicant_effects(results: Sequence[DesignResult], estimand: str, method: str) -> tuple[float, float, int]:
    """Participant-weighted average of the cohorts' effects with a variance clustered by employee:
    (estimate, standard error, participants)."""
    parts = [(r.effects[(estimand, method)], r.n_participants) for r in results if (estimand, method) in r.effects]
    parts = [(e, n) for e, n in parts if n > 0]
    if not parts:
        raise NotEstimable(f"no cohort has a {method} estimate of {estimand}")
    total = sum(n for _, n in parts)
    estimate = sum(e.estimate * n for e, n in parts) / total
    ids = np.concatenate([e.ids.astype(str) for e, _ in parts])
    contributions = np.concatenate([e.influence * n / total for e, n in parts])
    per_person = pd.Series(contributions).groupby(ids).sum().to_numpy()
    return float(estimate), float(np.sqrt(np.sum(per_person ** 2))), int(total)


def pool_bounded(rows: Sequence[est.Estimate]) -> tuple[float, float, int]:
    """Participant-weighted average of cohort estimates whose correlation is unknown, with the
    weighted sum of their standard errors (an upper bound on the pooled standard error)."""
    rows = [r for r in rows if r.n_treated and np.isfinite(r.std_error)]
    if not rows:
        raise NotEstimable("no cohort estimate to pool")
    total = sum(r.n_treated for r in rows)
    estimate = sum(r.estimate * r.n_treated for r in rows) / total
    return float(estimate), float(sum(r.std_error * r.n_treated for r in rows) / total), int(total)


def _weakest(grades) -> str:
    present = [g for g in grades if g in GRADES]
    return max(present, key=GRADES.index) if present else ""


def pooled(studies: Sequence[Study]) -> Pooled:
    """Every design's effects pooled over the studies' cohorts (mentees), with a headline per outcome."""
    from . import promotion, retention

    applicant: dict[str, list[DesignResult]] = {}
    rollout_rows: list[est.Estimate] = []
    for study in sorted(studies, key=lambda s: s.start):
        ret, pro = retention.analyze(study, "mentee"), promotion.analyze(study, "mentee")
        if ret.applicants is not None:
            applicant.setdefault(ret.applicants.design, []).append(ret.applicants)
        rollout_rows += [e for e in (*ret.estimates, *pro.estimates)
                         if e.design == "rollout" and e.method == "tot_wald" and e.estimand in ROLLOUT_ESTIMANDS]
    rows, behind = pooled_applicant_rows([r for results in applicant.values() for r in results])
    for estimand in ROLLOUT_ESTIMANDS:
        used = [e for e in rollout_rows if e.estimand == estimand]
        if used:
            value, se, n = pool_bounded(used)
            rows.append(_pooled_row("rollout", estimand, "tot_wald", value, se, n, _weakest(e.evidence for e in used),
                                    [e.cohort_id for e in used], "participant-weighted average; SE the weighted sum "
                                    "of the cohorts' (they share comparison departments)"))
            behind += used
    return Pooled(Estimates(_headlines(rows)), Estimates(behind))


def _pooled_row(design, estimand, method, value, se, n, evidence, cohorts, note) -> est.Estimate:
    z = stats.norm.ppf(0.975)
    return est.make(cohort_id=POOLED, role="mentee", estimand=estimand, method=method, estimate=value, std_error=se,
                    ci=(value - z * se, value + z * se), n_treated=n, design=design, evidence=evidence,
                    unit=OUTCOMES[estimand][0], note=f"{note}; cohorts: {', '.join(cohorts)}")


def pooled_applicant_rows(results: Sequence[DesignResult]) -> tuple[list[est.Estimate], list[est.Estimate]]:
    """The lottery and capacity designs' effects pooled over the cohorts' results, per design,
    outcome and method (pooled rows, without headlines), and the cohort rows behind them."""
    rows, behind = [], []
    for design in ("lottery", "capacity"):
        results_of = [r for r in results if r.design == design]
        for estimand in OUTCOMES:
            for method in (("itt_offer", "tot_iv") if design == "lottery" else ("tot_dr",)):
                used = [r for r in results_of if (estimand, method) in r.effects]
                if not used:
                    continue
                value, se, n = pool_applicant_effects(used, estimand, method)
                rows.append(_pooled_row(design, estimand, method, value, se, n, _weakest(r.evidence for r in used),
                                        [r.cohort_id for r in used],
                                        "participant-weighted average, SE clustered by employee"))
                behind += [e for r in used for e in r.estimates.where(estimand=estimand, method=method)]
    return rows, behind


def _headlines(rows: list[est.Estimate]) -> list[est.Estimate]:
    """The strongest design's effect on participants heads each outcome."""
    from dataclasses import replace

    out = list(rows)
    for estimand in OUTCOMES:
        for design in est.DESIGNS:
            pick = next((i for i, e in enumerate(out) if e.estimand == estimand and e.design == design
                         and e.method == HEADLINE_METHODS[design]), None)
            if pick is not None:
                out[pick] = replace(out[pick], headline=True)
                break
    return out
