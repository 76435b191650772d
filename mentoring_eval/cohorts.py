"""Populations of one cohort: who was eligible at the start, who took part in which role, and who
forms the comparison group (eligible people not enrolled in any cohort near this one), with
coarsened exact matching on the params' matching variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd

from .data import CohortInfo, Dataset, member
from .errors import NotEstimable
from .matching import BalanceResult, balance_table, cem
from .panels import as_of_position, day_numbers, employed_on, period_index
from .params import CohortParams, Eligibility

Role = Literal["mentee", "mentor"]
ROLES: tuple[Role, ...] = ("mentee", "mentor")
TENURE_BANDS = (12, 24, 60)  # months: <1 year, 1-2, 2-5, 5+
ENGAGEMENT_BANDS = (3.0, 3.5, 4.0)


class Participation(NamedTuple):
    """Participants among the eligible at the start: share (0-1), participants, eligible."""

    share: float
    participants: int
    eligible: int


@dataclass(frozen=True)
class NaiveGap:
    """The platforms' comparison of a yes/no outcome: participants against everyone else employed
    at the start, rates in percent, difference and its two-proportion standard error in pp."""

    participants: int
    others: int
    rate_participants: float
    rate_others: float
    ratio: float
    difference: float
    std_error: float


@dataclass(frozen=True)
class Cohort:
    """One cohort's people at its start date. `people` has one row per employee employed at the
    start: attributes as of the start, eligibility per role, the role and status of participants
    (withdrawn kept, flagged), and whether the person can serve as a comparison."""

    params: CohortParams
    cohort_id: str
    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    start_period: int
    people: pd.DataFrame = field(repr=False)
    treated_departments: tuple[str, ...] = ()  # departments with anyone enrolled in a cohort starting by start + post

    def participants(self, role: Role) -> pd.DataFrame:
        _check_role(role)
        return self.people[self.people["role"] == role]

    def comparison(self, role: Role) -> pd.DataFrame:
        """The comparison pool for the params' `comparison`: eligible people not enrolled in any
        cohort within the window (never_treated, matched), or eligible people who enrolled in the
        same role in a cohort starting after the window and are not in this cohort
        (not_yet_treated)."""
        _check_role(role)
        people = self.people
        if self.params.comparison == "not_yet_treated":  # a returning participant is not their own comparison
            pool = people["later_" + role] & people["role"].isna()
        else:
            pool = people["comparison"]
        return people[people[f"{role}_eligible"] & pool]

    def participation_share(self, role: Role) -> Participation:
        """Participants among the eligible at the start."""
        eligible = self.people[f"{role}_eligible"]
        n_elig = int(eligible.sum())
        n_part = int((eligible & (self.people["role"] == role)).sum())
        return Participation(n_part / n_elig if n_elig else float("nan"), n_part, n_elig)

    def naive_gap(self, hit: np.ndarray, role: Role) -> NaiveGap:
        """The platforms' comparison of a yes/no outcome (aligned with `people`): participants in
        `role` against everyone else employed at the start."""
        part = (self.people["role"] == role).to_numpy()
        others = ~self.people["role"].isin(ROLES).to_numpy()
        if not part.any():
            raise NotEstimable(f"cohort {self.cohort_id} has no {role}s")
        p1, p0 = hit[part].mean(), hit[others].mean()
        se = np.sqrt(p1 * (1 - p1) / part.sum() + p0 * (1 - p0) / others.sum())
        return NaiveGap(int(part.sum()), int(others.sum()), 100 * p1, 100 * p0, p1 / p0 if p0 > 0 else float("inf"),
                        100 * (p1 - p0), 100 * se)

    def matched(self, role: Role, leave_out: tuple[str, ...] = ()) -> tuple[pd.DataFrame, BalanceResult]:
        """Participants and their comparison group with weights (column cem_weight): CEM on the
        params' matching variables when `comparison` is "matched", weight 1 otherwise; and the
        balance table before and after weighting (standardized mean differences). `leave_out` drops
        matching variables, e.g. the outcome's own pre-period band for a DiD on that outcome."""
        part = self.participants(role)
        comp = self.comparison(role)
        if part.empty:
            raise NotEstimable(f"cohort {self.cohort_id} has no {role}s")
        if comp.empty:
            raise NotEstimable(f"cohort {self.cohort_id}: no eligible {role} comparison group (everyone eligible took part)")
        both = pd.concat([part.assign(treated=1), comp.assign(treated=0)], ignore_index=True)
        variables = [v for v in self.params.matching_variables if v not in leave_out]
        if self.params.comparison == "matched":
            res = cem(both, "treated", {v: None for v in variables})
            both["cem_weight"] = res.data["cem_weight"].to_numpy()
            both["cem_stratum"] = res.data["stratum"].to_numpy()
        else:
            both["cem_weight"] = 1.0
        balance_vars = [c for c in ("job_level", "tenure_months", "last_rating", "last_engagement", "department")
                        if c in both and both[c].notna().all()]
        return both, balance_table(both, "treated", balance_vars, weights="cem_weight")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be 'mentee' or 'mentor', got {role!r}")


def _band(values: pd.Series, edges, labels_prefix: str) -> pd.Series:
    codes = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(dtype=float), side="right")
    labels = np.array([f"{labels_prefix}{i}" for i in range(len(edges) + 1)], dtype=object)
    return pd.Series(labels[codes], index=values.index, dtype="str").where(values.notna(), "unknown")


def eligible(people: pd.DataFrame, rule: Eligibility) -> pd.Series:
    """Who meets an eligibility rule (levels, departments, minimum tenure in months)."""
    ok = pd.Series(True, index=people.index)
    if rule.levels is not None:
        ok &= people["job_level"].isin(rule.levels).fillna(False).astype(bool)
    if rule.departments is not None:
        ok &= people["department"].isin(rule.departments)
    return ok & (people["tenure_months"] >= rule.min_tenure_months)


def build_cohort(ds: Dataset, params: CohortParams, info: CohortInfo, employed: pd.DataFrame | None = None) -> Cohort:
    """The cohort's populations at its start date, from the data and the cohort's params (a Study
    builds it once: `study.cohort`). `employed`: `employed_on(ds, info.start, params.period)` when
    already built (the study's snapshot of the start date, shared with the before/after designs)."""
    cohorts = ds.cohorts.set_index("cohort_id")
    start, end = info.start, info.end
    s = int(period_index(pd.Series([start]), params.period)[0])
    employed = employed_on(ds, start, params.period) if employed is None else employed
    people = employed.drop(
        columns=["period", "period_start", "exited", "exited_voluntary", "exited_involuntary", "promoted",
                 "grade_changed", "termination_date"], errors="ignore")
    people["tenure_band"] = _band(people["tenure_months"], TENURE_BANDS, "t")
    people["rating_band"] = people["last_rating"].round().astype("Float64").astype("str").where(people["last_rating"].notna(), "unknown")
    people["engagement_band"] = _band(people["last_engagement"], ENGAGEMENT_BANDS, "e")
    for col in ("gender", "ethnicity"):
        people[col] = ds.employee_column(people["employee_id"], col).fillna("unknown")
    for role in ROLES:
        people[f"{role}_eligible"] = eligible(people, getattr(params, f"{role}_eligibility")).to_numpy()

    enr = ds.enrollments
    mine = enr[enr["cohort_id"] == params.cohort_id].set_index("employee_id")
    people["role"] = people["employee_id"].map(mine["role"]).astype("str")
    people["status"] = people["employee_id"].map(mine["status"]).astype("str")
    people["withdrawn"] = (people["status"] == "withdrawn").to_numpy()
    # comparison: never enrolled in a cohort starting before the end of this one's post window
    starts = enr["cohort_id"].map(cohorts["start_date"])
    months = (starts - start).dt.days / 30.4375
    unit = 3 if params.period == "quarter" else 1
    # anyone enrolled in an earlier cohort, or in one starting before the post window ends, was treated
    treated_by_then = enr[(months < params.post_periods * unit).to_numpy()]
    people["comparison"] = ~member(people["employee_id"], treated_by_then["employee_id"])
    later = enr[(months >= params.post_periods * unit).to_numpy()]
    for role in ROLES:
        people["later_" + role] = member(people["employee_id"], later.loc[later["role"] == role, "employee_id"])
    # departments any cohort reached by the end of the post window (as of each enrollee's cohort start)
    by_then = enr[(months < params.post_periods * unit).to_numpy()]
    jobs = ds.job_history
    enrolled = ds.employee_positions("enrollments")[(months < params.post_periods * unit).to_numpy()]
    pos = as_of_position(enrolled, day_numbers(by_then["cohort_id"].map(cohorts["start_date"])),
                         ds.employee_positions("job_history"), day_numbers(jobs["effective_date"]))
    reached = set(jobs["department"].to_numpy(dtype=object)[pos[pos >= 0]])
    return Cohort(params, params.cohort_id, info.name, start, end, s, people, tuple(sorted(reached)))
