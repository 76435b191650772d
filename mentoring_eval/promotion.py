"""Did mentoring move careers? The naive "promoted N times more often" figure, the population
design on promotion within 12 months (headline), and a participant-level difference-in-differences
on promotions per period against matched comparisons. Rates are in percentage points."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import estimates as est
from .cohorts import Cohort
from .data import Dataset
from .did import event_study, twfe
from .did.regression import DiDEstimate, EventStudy
from .effects import WaldEffect, itt_snapshot
from .matching import BalanceResult
from .panels import had_event, job_events


def naive(ds: Dataset, cohort: Cohort, role: str, months: int = 12, kind: str = "promoted") -> dict:
    """Share promoted (or with a salary-grade change, kind="grade_changed") within `months` of the
    start: participants vs everyone else employed at the start (percent), their ratio (the "5x"
    figure) and difference."""
    horizon = cohort.start + pd.DateOffset(months=months)
    people = cohort.people
    hit = people["employee_id"].isin(had_event(job_events(ds), kind, cohort.start, horizon)).to_numpy()
    return cohort.naive_gap(hit, role)


@dataclass(frozen=True)
class PromotionResult:
    """Everything the promotion notebook shows for one cohort and role."""

    cohort_id: str
    role: str
    naive: dict
    itt: DiDEstimate | None
    tot: WaldEffect | None
    matched_did: DiDEstimate | None
    event_study: EventStudy | None
    balance: BalanceResult | None
    notes: tuple[str, ...] = ()
    estimates: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.copy()

    def summary(self) -> str:
        return self.findings()

    def findings(self) -> str:
        who = f"{self.role}s"
        n = self.naive
        lines = []
        if self.tot is not None:
            direction = "more" if self.tot.estimate >= 0 else "less"
            lines.append(f"**Effect on {who}:** an estimated **{abs(self.tot.estimate):.1f} percentage points {direction} "
                         f"likely** to be promoted within 12 months (95% CI {self.tot.ci_low:+.1f} to {self.tot.ci_high:+.1f}).")
            if self.tot.ci_low <= 0 <= self.tot.ci_high:
                lines.append(f"The interval includes zero: this cohort is too small to tell. Only "
                             f"{100 * self.tot.share:.0f}% of eligible employees took part.")
        lines.append(f"**The naive comparison** says {n['rate_participants']:.0f}% of {who} were promoted against "
                     f"{n['rate_others']:.0f}% of everyone else ({n['ratio']:.1f} times as often, "
                     f"**{n['difference']:+.1f} points**). People who sign up were already on faster tracks, so the "
                     f"ratio mostly measures who volunteers.")
        if self.matched_did is not None:
            m = self.matched_did
            lines.append(f"Against matched comparisons, promotions per month changed by {m.estimate:+.2f} points "
                         f"(95% CI {m.ci_low:+.2f} to {m.ci_high:+.2f}) after the start, relative to the year before.")
        return "\n\n".join(lines)


def matched_panel(cohort: Cohort, role: str) -> tuple[pd.DataFrame, BalanceResult]:
    """Participants and CEM-matched comparisons over S-P .. S+H-1, kept only if employed through the
    whole pre-window (so the pre-period is not empty by construction); promoted in percent."""
    matched, balance = cohort.matched(role)
    matched = matched[matched["cem_weight"] > 0]
    p, s = cohort.params, cohort.start_period
    panel = cohort.panel
    panel = panel[panel["employee_id"].isin(matched["employee_id"])]
    first_seen = panel.groupby("employee_id")["period"].transform("min")
    panel = panel[first_seen == s - p.pre_periods].copy()
    info = matched.set_index("employee_id")
    panel["participant"] = panel["employee_id"].map(info["treated"]).astype(int)
    panel["cem_weight"] = panel["employee_id"].map(info["cem_weight"]).astype(float)
    panel["treated_now"] = (panel["participant"] == 1) & (panel["period"] >= s)
    panel["treated_now"] = panel["treated_now"].astype(int)
    panel["first_period"] = np.where(panel["participant"] == 1, s, 0)
    panel["promoted_pct"] = 100.0 * panel["promoted"]
    return panel.reset_index(drop=True), balance


def analyze(ds: Dataset, cohort: Cohort, role: str = "mentee", months: int = 12) -> PromotionResult:
    """Naive figure, population ITT and effect on participants for promotion within 12 months
    (headline), and the matched participant-level DiD and event study on promotions per period."""
    cid = cohort.cohort_id
    rows, notes = [], []
    nv = naive(ds, cohort, role, months)
    rows.append(est.row(cid, role, "promotion_12m", "naive", nv["difference"], nv["std_error"],
                        n_treated=nv["participants"], n_control=nv["others"],
                        note=f"participants vs everyone else; ratio {nv['ratio']:.2f}"))
    itt = tot = did = es = balance = None
    try:
        itt, tot = itt_snapshot(ds, cohort, role, "promoted", months)
        rows.append(est.row(cid, role, "promotion_12m", "itt_did", itt.estimate, itt.std_error, (itt.ci_low, itt.ci_high),
                            note="eligible vs comparison segment, snapshots at start and 12 months before"))
        rows.append(est.row(cid, role, "promotion_12m", "tot_wald", tot.estimate, tot.std_error, (tot.ci_low, tot.ci_high),
                            tot.n_participants, tot.n_eligible - tot.n_participants, headline=True,
                            note=f"ITT / participation share {tot.share:.3f}"))
        if "salary_grade" in ds.job_history:
            gn = naive(ds, cohort, role, months, "grade_changed")
            rows.append(est.row(cid, role, "salary_grade_12m", "naive", gn["difference"], gn["std_error"],
                                n_treated=gn["participants"], n_control=gn["others"],
                                note=f"participants vs everyone else; ratio {gn['ratio']:.2f}"))
            g_itt, g_tot = itt_snapshot(ds, cohort, role, "grade_changed", months)
            rows.append(est.row(cid, role, "salary_grade_12m", "itt_did", g_itt.estimate, g_itt.std_error,
                                (g_itt.ci_low, g_itt.ci_high), note="salary-grade change within 12 months"))
            rows.append(est.row(cid, role, "salary_grade_12m", "tot_wald", g_tot.estimate, g_tot.std_error,
                                (g_tot.ci_low, g_tot.ci_high), g_tot.n_participants, g_tot.n_eligible - g_tot.n_participants,
                                headline=True, note=f"ITT / participation share {g_tot.share:.3f}"))
    except ValueError as exc:
        notes.append(f"Population design not available: {exc}")
    try:
        panel, balance = matched_panel(cohort, role)
        did = twfe(panel, "promoted_pct", "employee_id", "period", "treated_now", weights="cem_weight")
        n_t = int(panel.loc[panel["participant"] == 1, "employee_id"].nunique())
        n_c = int(panel.loc[panel["participant"] == 0, "employee_id"].nunique())
        rows.append(est.row(cid, role, "promotion_rate", "did_matched", did.estimate, did.std_error, (did.ci_low, did.ci_high),
                            n_t, n_c, headline=True, note="promoted per period (pp), employee and period effects, CEM weights"))
        if "grade_changed" in panel:
            panel["grade_changed_pct"] = 100.0 * panel["grade_changed"]
            g = twfe(panel, "grade_changed_pct", "employee_id", "period", "treated_now", weights="cem_weight")
            rows.append(est.row(cid, role, "salary_grade_rate", "did_matched", g.estimate, g.std_error, (g.ci_low, g.ci_high),
                                n_t, n_c, headline=True, note="salary-grade change per period (pp), employee and period effects"))
        p = cohort.params
        es = event_study(panel, "promoted_pct", "employee_id", "period", "first_period",
                         window=(-p.pre_periods, p.post_periods - 1), weights="cem_weight")
    except ValueError as exc:
        notes.append(f"Matched difference-in-differences not available: {exc}")
    return PromotionResult(cid, role, nv, itt, tot, did, es, balance, tuple(notes), est.frame(rows))
