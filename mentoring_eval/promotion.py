"""Did mentoring move careers? The naive "promoted N times more often" figure, the population
design on promotion within 12 months (headline), and a participant-level difference-in-differences
on promotions per period against matched comparisons. Rates are in percentage points."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from . import applicants
from . import estimates as est
from .applicants import DesignChoice, DesignResult
from .cohorts import NaiveGap, Role
from .data import member, positions_in
from .did import event_study, twfe
from .did.regression import DiDEstimate, EventStudy
from .effects import SNAPSHOTS, Placebo, WaldEffect, design_estimates, itt_snapshot, naive_estimate, placebo
from .errors import NotEstimable
from .estimates import Estimates
from .matching import BalanceResult
from .panels import career_periods, had_event, period_start

if TYPE_CHECKING:
    from .study import Study


def naive(study: Study, role: Role, months: int = 12, kind: Literal["promoted", "grade_changed"] = "promoted") -> NaiveGap:
    """Share promoted (or with a salary-grade change, kind="grade_changed") within `months` of the
    start: participants vs everyone else employed at the start (percent), their ratio (the "5x"
    figure) and difference."""
    cohort = study.cohort
    horizon = cohort.start + pd.DateOffset(months=months)
    hit = member(cohort.people["employee_id"], had_event(study.job_events, kind, cohort.start, horizon))
    return cohort.naive_gap(hit, role)


@dataclass(frozen=True)
class PromotionResult:
    """Everything the promotion notebook shows for one cohort and role."""

    cohort_id: str
    role: Role
    naive: NaiveGap
    itt: DiDEstimate | None
    tot: WaldEffect | None
    matched_did: DiDEstimate | None
    event_study: EventStudy | None
    balance: BalanceResult | None
    notes: tuple[str, ...] = ()
    estimates: Estimates = field(default_factory=Estimates, repr=False)
    applicants: DesignResult | None = None  # the lottery or capacity design, when the data support one
    design: DesignChoice | None = None  # the design that heads the report, with its evidence grade
    placebo: Placebo | None = None  # the rollout with a fake start a year early

    @property
    def headline(self) -> est.Estimate | None:
        """The headline effect on participants' promotion within 12 months, from the strongest design that ran."""
        return self.estimates.headline("promotion_12m", self.role)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def summary(self) -> str:
        return "\n".join(e.summary() for e in self.estimates)


def matched_panel(study: Study, role: Role) -> tuple[pd.DataFrame, BalanceResult]:
    """Participants and CEM-matched comparisons over S-P .. S+H-1, kept only if employed through the
    whole pre-window (so the pre-period is not empty by construction); promoted in percent. One row
    per person-period with what the designs use, in small integers (tens of millions of rows at a
    large employer): employee (position in the employees table), period, promoted, grade_changed,
    participant, cem_weight, treated_now, first_period (S, or 0 for comparisons), promoted_pct."""
    cohort = study.cohort
    matched, balance = cohort.matched(role)
    matched = matched[matched["cem_weight"] > 0]
    p, s = cohort.params, cohort.start_period
    # the designs use events and periods only; people by their position in the employees table
    where = positions_in(matched["employee_id"], study.dataset.employees["employee_id"])
    first, last = period_start(np.array(study.window[:2]), p.period)
    who, per, promoted, regraded = career_periods(study.dataset, where, p.period, pd.Timestamp(first),
                                                  pd.Timestamp(last))
    # the rows run person by person, periods ascending: each person's first row is their first period
    first_row = np.maximum.accumulate(np.where(np.r_[True, who[1:] != who[:-1]], np.arange(who.size), 0))
    keep = per[first_row] == s - p.pre_periods
    del first_row
    who, per, promoted, regraded = who[keep].astype(np.int32), per[keep].astype(np.int32), promoted[keep], regraded[keep]
    treated, weight = np.zeros(len(study.dataset.employees), np.int8), np.zeros(len(study.dataset.employees))
    treated[where] = matched["treated"].to_numpy(np.int8)
    weight[where] = matched["cem_weight"].to_numpy(float)
    participant = treated[who]
    slim = pd.DataFrame({"employee": who, "period": per, "promoted": promoted, "grade_changed": regraded,
                         "participant": participant, "cem_weight": weight[who],
                         "treated_now": (participant == 1) & (per >= s),
                         "first_period": np.where(participant == 1, s, 0).astype(np.int32)})
    slim["treated_now"] = slim["treated_now"].astype(np.int8)
    slim["promoted_pct"] = 100.0 * slim["promoted"]
    return slim, balance


def analyze(study: Study, role: Role = "mentee", months: int = 12) -> PromotionResult:
    """Naive figure, population ITT and effect on participants for promotion within 12 months
    (headline), and the matched participant-level DiD and event study on promotions per period.
    Computed once per study."""
    return study.result(("promotion", role, months), lambda: _analyze(study, role, months))


def _analyze(study: Study, role: Role, months: int) -> PromotionResult:
    cid = study.cohort_id
    per_period = f"pp per {study.params.period}"

    def row(estimand: str, method: str, value: float, design: str, unit: str = "pp", **kw) -> est.Estimate:
        return est.make(cohort_id=cid, role=role, estimand=estimand, method=method, estimate=value, design=design,
                        unit=unit, **kw)

    rows, notes = [], []
    nv = naive(study, role, months)
    rows.append(naive_estimate(cid, role, "promotion_12m", nv, f"participants vs everyone else; ratio {nv.ratio:.2f}"))
    itt = tot = did = es = balance = None
    grades = study.dataset.has_values("job_history", "salary_grade")
    try:
        itt, tot = itt_snapshot(study, role, "promoted", months)
        rows += design_estimates(cid, role, "promotion_12m", itt, tot, SNAPSHOTS, f"ITT / participation share {tot.share:.3f}")
        if grades:
            gn = naive(study, role, months, "grade_changed")
            rows.append(naive_estimate(cid, role, "salary_grade_12m", gn,
                                       f"participants vs everyone else; ratio {gn.ratio:.2f}"))
            g_itt, g_tot = itt_snapshot(study, role, "grade_changed", months)
            rows += design_estimates(cid, role, "salary_grade_12m", g_itt, g_tot, "salary-grade change within 12 months",
                                     f"ITT / participation share {g_tot.share:.3f}")
    except NotEstimable as exc:
        notes.append(f"Population design not available: {exc}")
    fake = None
    if itt is not None:
        try:
            fake = placebo(study, role, "promoted", months=months)
            rows.append(fake.estimate(cid, role, "promotion_12m"))
        except NotEstimable as exc:
            notes.append(f"Placebo not available: {exc}")
    try:
        panel, balance = matched_panel(study, role)
        did = twfe(panel, "promoted_pct", "employee", "period", "treated_now", weights="cem_weight")
        n_t = int(panel.loc[panel["participant"] == 1, "employee"].nunique())
        n_c = int(panel.loc[panel["participant"] == 0, "employee"].nunique())
        rows.append(row("promotion_rate", "did_matched", did.estimate, "observational", per_period,
                        std_error=did.std_error, ci=(did.ci_low, did.ci_high), n_treated=n_t, n_control=n_c,
                        note="promoted per period (pp), employee and period effects, CEM weights; not validated "
                        "against planted truth, so never a headline"))
        if grades:
            panel["grade_changed_pct"] = 100.0 * panel["grade_changed"]
            g = twfe(panel, "grade_changed_pct", "employee", "period", "treated_now", weights="cem_weight")
            rows.append(row("salary_grade_rate", "did_matched", g.estimate, "observational", per_period,
                            std_error=g.std_error, ci=(g.ci_low, g.ci_high), n_treated=n_t, n_control=n_c,
                            note="salary-grade change per period (pp), employee and period effects; not validated, "
                            "so never a headline"))
        p = study.params
        es = event_study(panel, "promoted_pct", "employee", "period", "first_period",
                         window=(-p.pre_periods, p.post_periods - 1), weights="cem_weight")
    except NotEstimable as exc:
        notes.append(f"Matched difference-in-differences not available: {exc}")
    applicant = None
    if applicants.available(study, role) is not None:
        applicant = applicants.analyze(study, role)
        rows += list(applicant.estimates.where(estimand=("promotion_12m", "performance_rating")))
    blocked = tot.assignment.reason() if tot is not None and tot.assignment is not None else ""
    choice = applicants.choose(study, role, applicant, tot is not None, did is not None,
                               rollout_blocked=blocked)
    rows = applicants.with_headlines(rows, choice, ("promotion_12m", "performance_rating"))
    return PromotionResult(cid, role, nv, itt, tot, did, es, balance, tuple(notes), Estimates(rows), applicant, choice,
                           fake)
