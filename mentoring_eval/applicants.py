"""Designs that compare applicants with applicants: the strongest evidence a program can have.

Everyone who applied to the cohort as a mentee and was employed at its start (time zero) is in
the population, so nobody's outcome is conditioned on having stayed long enough to take part
(no survivorship trap). People who took part in an earlier cohort are left out of both arms.

- **lottery**: places were offered at random among applicants (`enrollments.offered`), possibly
  within strata (params `assignment_strata`). The effect of the offer (`itt_offer`) is a
  regression-adjusted difference between offered and not offered; the effect on participants
  (`tot_iv`) instruments participation with the offer.
- **capacity**: more applicants than mentor places, places given by observable rules (department,
  job level). The effect on participants (`tot_dr`) compares matched with unmatched applicants,
  doubly robust on department, level and pre-period covariates, where their propensities overlap.

Outcomes over the 12 months from the start: retention_12m and voluntary_exit_12m (pp, all exits
and voluntary exits), promotion_12m (pp), performance_rating (points, first review 6 to 18
months after the start, among those reviewed)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from . import bounds
from . import estimates as est
from .cohorts import Role
from .data import member, positions_in
from .errors import NotEstimable
from .estimates import Estimates
from .experiments import DesignEffect, doubly_robust, instrumented, propensity, regression_adjusted
from .labels import covariate
from .matching import BalanceResult, balance_table
from .panels import dated_records, day_numbers, employee_day_key, had_event, key_employee

if TYPE_CHECKING:
    from .study import Study

ApplicantDesign = Literal["lottery", "capacity"]
MIN_ARM = 30  # fewer people in an arm and the large-sample intervals these designs use are not to be trusted
OUTCOMES = {  # estimand: (unit, what it counts)
    "retention_12m": ("pp", "still employed 12 months after the start (all exits)"),
    "voluntary_exit_12m": ("pp", "left voluntarily within 12 months of the start"),
    "promotion_12m": ("pp", "promoted within 12 months of the start"),
    "performance_rating": ("points (1-5 scale)", "rating at the first review 6 to 18 months after the start"),
}
COVARIATES = ("job_level", "tenure_months", "last_rating", "last_engagement", "promoted_before")
# pre-period measures of the outcomes, on which the arms must start out alike (evidence grade)
BASELINE = ("tenure_months", "promoted_before", "last_rating")
TRIM = 0.90  # propensity above which a participant has no comparable non-participant (capacity design)
ATTRITION_OVERALL, ATTRITION_DIFFERENTIAL = 20.0, 5.0  # %, pp: the limits for a randomized grade


@dataclass(frozen=True)
class ApplicantPool:
    """The cohort's mentee applicants at the start: one row per person with offered (True/False,
    or missing when no lottery was recorded), took_part (has a match in the cohort), pre-period
    covariates, strata and the four outcomes; plus who was left out and why."""

    cohort_id: str
    people: pd.DataFrame = field(repr=False)
    left_before_start: pd.DataFrame = field(repr=False)  # employee_id, offered: enrolled but gone by the start
    earlier_participants: int  # took part in an earlier cohort: in neither arm
    followed_up: bool  # the data reach 12 months past the start

    @property
    def lottery(self) -> bool:
        """Offers were recorded for every applicant, and both arms are large enough."""
        o = self.people["offered"]
        return bool(len(o) and o.notna().all() and min(int(o.sum()), int((~o.astype(bool)).sum())) >= MIN_ARM)

    @property
    def capacity(self) -> bool:
        """Both matched and unmatched applicants, enough of each."""
        d = self.people["took_part"]
        return bool(min(int(d.sum()), int((~d).sum())) >= MIN_ARM)


def pool(study: Study) -> ApplicantPool:
    """The mentee applicants of the study's cohort employed at its start, with everything the
    applicant designs need (computed once per study)."""
    return study.result(("applicant_pool",), lambda: _pool(study))


def _pool(study: Study) -> ApplicantPool:
    ds, cohort = study.dataset, study.cohort
    cid, start = study.cohort_id, study.start
    enr = ds.enrollments
    mine = enr[(enr["cohort_id"] == cid) & (enr["role"] == "mentee")]
    people = cohort.people[cohort.people["role"] == "mentee"].copy()
    present = member(mine["employee_id"], people["employee_id"])
    left = pd.DataFrame({"employee_id": mine.loc[~present, "employee_id"].to_numpy(),
                         "offered": mine.loc[~present, "offered"].to_numpy()})
    starts = ds.cohorts.set_index("cohort_id")["start_date"]
    if ds.has("matches"):
        m = ds.matches
        earlier_cohorts = starts.index[starts < start]
        earlier = set(m.loc[m["cohort_id"].isin(earlier_cohorts), "mentee_id"]) | \
            set(m.loc[m["cohort_id"].isin(earlier_cohorts), "mentor_id"])
        matched = set(m.loc[m["cohort_id"] == cid, "mentee_id"])
    else:
        earlier, matched = set(), set()
    is_earlier = member(people["employee_id"], earlier)
    people = people[~is_earlier].reset_index(drop=True)
    people["offered"] = people["employee_id"].map(mine.set_index("employee_id")["offered"]).astype("boolean")
    people["took_part"] = member(people["employee_id"], matched)

    horizon = start + pd.DateOffset(months=12)
    at = positions_in(people["employee_id"], ds.employees["employee_id"])  # everyone in the pool is an employee
    gone = ds.employees["termination_date"].iloc[at].reset_index(drop=True)
    why = ds.employees["termination_reason"].iloc[at].reset_index(drop=True)
    left_by = gone.notna() & (gone < horizon)
    people["retention_12m"] = 100.0 * (~left_by).to_numpy()
    people["voluntary_exit_12m"] = 100.0 * (left_by & (why == "voluntary")).to_numpy(dtype=bool)
    events = study.job_events
    people["promotion_12m"] = 100.0 * member(people["employee_id"],
                                             had_event(events, "promoted", start - pd.Timedelta(days=1), horizon))
    people["promoted_before"] = member(people["employee_id"],
                                       had_event(events, "promoted", start - pd.DateOffset(months=12), start)).astype(float)
    people["performance_rating"] = _first_rating_after(ds, people["employee_id"], start + pd.DateOffset(months=6),
                                                       start + pd.DateOffset(months=18))
    for c in ("job_level", "tenure_months", "last_rating", "last_engagement"):
        values = pd.to_numeric(people[c]).astype(float)
        people[c] = values.fillna(values.mean() if values.notna().any() else 0.0)
    return ApplicantPool(cid, people, left, int(is_earlier.sum()), bool(study.end >= horizon))


def _first_rating_after(ds, ids: pd.Series, when: pd.Timestamp, until: pd.Timestamp) -> np.ndarray:
    """Each person's rating at their first review in [when, until); missing without one."""
    if not ds.has("performance_reviews"):
        return np.full(len(ids), np.nan)
    records = dated_records(ds, "performance_reviews", "review_date")  # by employee and day, sorted once
    if not records.key.size:
        return np.full(len(ids), np.nan)
    who = positions_in(ids, ds.employees["employee_id"])
    first_day, end_day = day_numbers(pd.Series([when, until]))
    start = employee_day_key(who, np.full(who.size, first_day))
    pos = np.minimum(np.searchsorted(records.key, start, side="left"), records.key.size - 1)
    found = (who >= 0) & (key_employee(records.key[pos]) == who) & (records.key[pos] >= start) \
        & (records.key[pos] < start + (end_day - first_day))
    rating = ds.column("performance_reviews", "rating").to_numpy(dtype=float, na_value=np.nan)
    return np.where(found, rating[records.order[pos]], np.nan)


# ---------------------------------------------------------------- the result


@dataclass(frozen=True)
class Check:
    """One item of the evidence checklist: what was checked, what was found, and whether it passed."""

    check: str
    finding: str
    passed: bool | None  # None: shown for information, not a condition of the grade


@dataclass(frozen=True)
class DesignResult:
    """An applicant design's effects on the four outcomes, its checks and its evidence grade."""

    cohort_id: str
    role: Role
    design: ApplicantDesign
    evidence: str  # randomized / quasi-experimental / observational
    grade_reason: str  # one sentence: why the grade is what it is
    checklist: tuple[Check, ...]
    effects: dict = field(repr=False)  # (estimand, method) -> DesignEffect
    balance: BalanceResult | None = field(repr=False)
    arms: pd.DataFrame = field(repr=False)  # arm, applicants, left before start, took part (counts, %)
    overlap: pd.DataFrame | None = field(repr=False)  # capacity: propensity quantiles by arm
    notes: tuple[str, ...] = ()
    estimates: Estimates = field(default_factory=Estimates, repr=False)
    n_participants: int = 0  # applicants in the analysis who took part (the weight when cohorts are pooled)

    def summary(self) -> str:
        lines = [f"{self.cohort_id} {self.role}s: {self.design} design, evidence {self.evidence}. {self.grade_reason}"]
        lines += [e.summary() for e in self.estimates]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def checklist_frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.__dict__ for c in self.checklist], columns=["check", "finding", "passed"])


def available(study: Study, role: Role = "mentee") -> ApplicantDesign | None:
    """The applicant design that can estimate this cohort's effects (lottery before capacity), or None."""
    if role != "mentee":
        return None
    try:
        return analyze(study, role).design
    except NotEstimable:
        return None


def analyze(study: Study, role: Role = "mentee") -> DesignResult:
    """The applicant design the data support, on every outcome, with its checks and evidence
    grade. Raises NotEstimable (saying why) when there is none. Computed once per study."""
    return study.result(("applicant_design", role), lambda: _analyze(study, role))


def _analyze(study: Study, role: Role) -> DesignResult:
    if role != "mentee":
        raise NotEstimable("mentors' places are not assigned by lottery or by capacity in the data")
    p = pool(study)
    if not p.followed_up:
        raise NotEstimable(f"the data end {study.end:%Y-%m-%d}, before 12 months of follow-up")
    if p.lottery:
        return _lottery(study, p)
    if p.capacity:
        return _capacity(study, p)
    d, o = p.people["took_part"], p.people["offered"]
    if o.notna().any() and not o.notna().all():
        raise NotEstimable(f"offers are recorded for {int(o.notna().sum())} of {len(o)} applicants; a lottery needs all")
    raise NotEstimable(f"too few applicants in an arm: {int(d.sum())} took part, {int((~d).sum())} did not "
                       f"(at least {MIN_ARM} each are needed)")


def _strata(study: Study, people: pd.DataFrame) -> np.ndarray | None:
    cols = list(study.params.assignment_strata)
    if not cols:
        return None
    return people[cols].astype("str").agg("|".join, axis=1).to_numpy()


def _row(study: Study, design: str, evidence: str, estimand: str, eff: DesignEffect, note: str,
         observed: float = float("nan"), group: str = "participants") -> est.Estimate:
    """An estimates row; an effect on a rate is kept within what `group`'s observed rate (percent)
    allows, or within +/-100 pp when that group's rate is not observed (a lottery's compliers)."""
    row = est.make(cohort_id=study.cohort_id, role="mentee", estimand=estimand, method=eff.method,
                   estimate=eff.estimate, std_error=eff.std_error, ci=(eff.ci_low, eff.ci_high),
                   n_treated=eff.n_treated, n_control=eff.n_control, design=design, evidence=evidence,
                   unit=OUTCOMES[estimand][0], note=note)
    if OUTCOMES[estimand][0] != "pp":
        return row
    if np.isfinite(observed):
        return bounds.bounded(row, observed, group)
    return replace(row, estimate=float(np.clip(row.estimate, -100, 100)), ci_low=max(row.ci_low, -100.0),
                   ci_high=min(row.ci_high, 100.0))


def _earlier(p: ApplicantPool) -> list[str]:
    if not p.earlier_participants:
        return []
    return [f"{p.earlier_participants} applicants who took part in an earlier cohort are in neither arm"]


def _lottery(study: Study, p: ApplicantPool) -> DesignResult:
    people = p.people
    effects, rows, notes = {}, [], _earlier(p)
    strata = _strata(study, people)
    if strata is not None:  # a stratum where everyone, or no one, was offered a place says nothing about the offer
        share = pd.Series(people["offered"].astype(bool).to_numpy()).groupby(strata).transform("mean").to_numpy()
        varies = (share > 0) & (share < 1)
        if not varies.all():
            notes.append(f"{int((~varies).sum())} applicants in strata where everyone or no one was offered a place "
                         "were left out")
            people, strata = people[varies].reset_index(drop=True), strata[varies]
    z = people["offered"].astype(bool).to_numpy()
    d = people["took_part"].to_numpy()
    arms = _arms(p, by="offered")
    small = study.params.min_cell_size
    checks = [*_attrition_checks(arms, small), *_compliance_checks(z, d, small)]
    balance = balance_table(people.assign(offered=z.astype(int)), "offered", list(COVARIATES))
    equivalence = _equivalence_check(balance, adjusted=True)
    # a randomized draw leaves only chance differences, which the estimate adjusts for: information, and
    # the test that matters only if attrition has broken the randomization
    intact = all(c.passed for c in checks if c.check.endswith("attrition"))
    checks.append(Check("balance of the arms", equivalence.finding, None if intact else equivalence.passed))
    evidence, reason = _grade_lottery(checks)
    for estimand in OUTCOMES:
        keep = people[estimand].notna().to_numpy()
        sub = people[keep]
        if len(sub) < 2 * MIN_ARM:
            notes.append(f"{estimand}: only {len(sub)} applicants have the outcome")
            continue
        y, x = sub[estimand].to_numpy(float), sub[list(COVARIATES)].to_numpy(float)
        s = None if strata is None else strata[keep]
        ids = sub["employee_id"].to_numpy()
        try:
            itt = regression_adjusted(y, z[keep], x, s, ids)
            effects[(estimand, "itt_offer")] = itt
            rows.append(_row(study, "lottery", evidence, estimand, itt,
                             "effect of the offer among applicants; strata and pre-period covariates adjusted (Lin), HC2 SE",
                             float(y[z[keep]].mean()), "offered applicants"))
            tot = instrumented(y, d[keep], z[keep], x, s, ids)
            effects[(estimand, "tot_iv")] = tot
            rows.append(_row(study, "lottery", evidence, estimand, tot,
                             "effect on those who take part when offered: offer as instrument (2SLS), robust SE"))
        except NotEstimable as exc:
            notes.append(f"{estimand}: {exc}")
    return DesignResult(study.cohort_id, "mentee", "lottery", evidence, reason, tuple(checks), effects, balance, arms,
                        None, tuple(notes), Estimates(rows), int(d.sum()))


def _capacity(study: Study, p: ApplicantPool) -> DesignResult:
    people = p.people
    d_all = people["took_part"].to_numpy()
    inside = _common_support(people, np.ones(len(people), dtype=bool))
    ps = np.ones(len(people))
    ps[inside] = propensity(d_all[inside], _capacity_covariates(people[inside]))
    inside = _common_support(people, inside & (ps <= TRIM))
    overlap = pd.DataFrame({"arm": np.where(d_all, "took part", "did not"), "propensity": ps}).groupby("arm")[
        "propensity"].describe(percentiles=[0.05, 0.5, 0.95])[["count", "min", "5%", "50%", "95%", "max"]]
    notes = _earlier(p)
    trimmed = int((~inside).sum())
    if trimmed:
        notes.append(f"{trimmed} applicants in a department or level where everyone or no one got a place, or with "
                     f"a propensity above {TRIM:.2f} (no comparable unmatched applicant), were left out")
    weights = np.where(d_all, 1.0, ps / np.maximum(1 - ps, 1e-12)) * inside
    balance = balance_table(people.assign(took_part=d_all.astype(int), _w=weights), "took_part", list(COVARIATES),
                            weights="_w")
    checks = [*_attrition_checks(_arms(p, by="took_part"), study.params.min_cell_size),
              Check("overlap", f"{trimmed} of {len(ps)} applicants outside the common support",
                    trimmed <= 0.1 * len(ps)),
              _equivalence_check(balance, adjusted=True)]
    evidence, reason = _grade_capacity(checks)
    effects, rows = {}, []
    for estimand in OUTCOMES:
        keep = people[estimand].notna().to_numpy() & inside
        if min(int((d_all & keep).sum()), int((~d_all & keep).sum())) < MIN_ARM:
            notes.append(f"{estimand}: too few applicants with the outcome in an arm")
            continue
        try:
            eff = doubly_robust(people.loc[keep, estimand].to_numpy(float), d_all[keep],
                                _capacity_covariates(people[keep]), people.loc[keep, "employee_id"].to_numpy())
        except NotEstimable as exc:
            notes.append(f"{estimand}: {exc}")
            continue
        effects[(estimand, "tot_dr")] = eff
        rows.append(_row(study, "capacity", evidence, estimand, eff,
                         "matched vs unmatched applicants, doubly robust on department, level and pre-period covariates",
                         float(people.loc[keep & d_all, estimand].mean())))
    return DesignResult(study.cohort_id, "mentee", "capacity", evidence, reason, tuple(checks), effects, balance,
                        _arms(p, by="took_part"), overlap, tuple(notes), Estimates(rows), int(d_all.sum()))


def _common_support(people: pd.DataFrame, inside: np.ndarray) -> np.ndarray:
    """Those of `inside` in a department and a level where some applicants got a place and some did
    not (elsewhere nobody is comparable); raises NotEstimable when too few of either remain."""
    d = people["took_part"].to_numpy()
    for _ in range(5):  # dropping people from one department can empty a level, and back
        before = inside.copy()
        for column in ("department", "job_level"):
            key = people[column].astype("str").to_numpy()
            share = pd.Series(d[inside]).groupby(key[inside]).mean()
            ok = share[(share > 0) & (share < 1)].index
            inside &= np.isin(key, ok)
        if (inside == before).all():
            break
    if min(int((d & inside).sum()), int((~d & inside).sum())) < MIN_ARM:
        raise NotEstimable(f"too few matched and unmatched applicants share a department and level "
                           f"(at least {MIN_ARM} of each are needed)")
    return inside


def _capacity_covariates(people: pd.DataFrame) -> np.ndarray:
    """The matching rules' variables (department and job level as indicators) and the pre-period covariates."""
    dept = pd.get_dummies(people["department"].astype("str"), drop_first=True, dtype=float)
    level = pd.get_dummies(people["job_level"].round().astype(int), prefix="level", drop_first=True, dtype=float)
    rest = people[["tenure_months", "last_rating", "last_engagement", "promoted_before"]].astype(float)
    return pd.concat([dept, level, rest], axis=1).to_numpy(float)


# ---------------------------------------------------------------- checks and the grade


def _arms(p: ApplicantPool, by: str) -> pd.DataFrame:
    """Applicants per arm: enrolled, left before the start, in the analysis, took part."""
    people = p.people
    label = {"offered": ("offered a place", "not offered"), "took_part": ("took part", "did not take part")}[by]
    rows = []
    for flag, name in ((True, label[0]), (False, label[1])):
        here = people[people[by].astype(bool) == flag]
        gone = int((p.left_before_start["offered"].astype("boolean") == flag).sum()) if by == "offered" else \
            (len(p.left_before_start) if flag is False else 0)
        enrolled = len(here) + gone
        rows.append({"arm": name, "applicants": enrolled, "left_before_start": gone,
                     "left_before_start_pct": 100.0 * gone / enrolled if enrolled else np.nan,
                     "analysed": len(here), "took_part": int(here["took_part"].sum()),
                     "took_part_pct": 100.0 * here["took_part"].mean() if len(here) else np.nan})
    return pd.DataFrame(rows)


def _share(k: int, n: int, small: int) -> str:
    """'12.5%' of a group, or 'fewer than 5' people when the count is a small cell (never shown)."""
    if 0 < k < small:
        return f"fewer than {small}"
    return f"{100.0 * k / n:.1f}%" if n else "none"


def _attrition_checks(arms: pd.DataFrame, small: int) -> list[Check]:
    total, gone = int(arms["applicants"].sum()), int(arms["left_before_start"].sum())
    overall = 100.0 * gone / total if total else 0.0
    differential = float(abs(arms["left_before_start_pct"].iloc[0] - arms["left_before_start_pct"].iloc[1]))
    lost_by_arm = [int(v) for v in arms["left_before_start"]]
    shown = "" if any(0 < v < small for v in lost_by_arm) else f"{differential:.1f} pp "
    return [Check("overall attrition", f"{_share(gone, total, small)} of applicants left before the start "
                  f"(limit {ATTRITION_OVERALL:.0f}%)", overall <= ATTRITION_OVERALL),
            Check("differential attrition", f"{shown or 'a small difference '}between the arms "
                  f"(limit {ATTRITION_DIFFERENTIAL:.0f} pp)", differential <= ATTRITION_DIFFERENTIAL)]


def _compliance_checks(z: np.ndarray, d: np.ndarray, small: int) -> list[Check]:
    took, crossed = int(d[z].sum()), int(d[~z].sum())
    n1, n0 = int(z.sum()), int((~z).sum())
    if 0 < crossed < small or 0 < n1 - took < small:  # exact shares would give the small count away
        took_text = f"about {5 * round(20 * took / n1)}%" if n1 else "none"
        crossed_text = f"about {5 * round(20 * crossed / n0)}%" if n0 else "none"
        took_text = _share(took, n1, small) if 0 < took < small else took_text
        crossed_text = _share(crossed, n0, small) if 0 < crossed < small else crossed_text
    else:
        took_text, crossed_text = _share(took, n1, small), _share(crossed, n0, small)
    return [Check("compliance", f"{took_text} of those offered took part; {crossed_text} of those not offered got "
                  "in anyway", d[z].mean() - d[~z].mean() >= 0.2)]


def _equivalence_check(balance: BalanceResult, adjusted: bool) -> Check:
    """Baseline equivalence on pre-period measures of the outcomes (What Works Clearinghouse):
    |SMD| <= 0.05 fine, 0.05-0.25 only with statistical adjustment, above 0.25 fails. Measured on
    the comparison the estimate makes: after the propensity weights where there are weights
    (capacity, whose places went by observed rules), as drawn otherwise (lottery)."""
    t = balance.table
    t = t[t["covariate"].isin(BASELINE)]
    column = "smd_after" if "smd_after" in t else "smd_before"
    worst = float(t[column].abs().max()) if len(t) else 0.0
    name = t.loc[t[column].abs().idxmax(), "covariate"] if len(t) else "-"
    ok = worst <= 0.05 or (worst <= 0.25 and adjusted)
    weighted = " after weighting" if column == "smd_after" else ""
    return Check("baseline equivalence", f"largest standardized difference{weighted} {worst:.2f} ({covariate(name)}); "
                 "within 0.05 is equivalent, up to 0.25 with adjustment", ok)


def _grade_lottery(checks: list[Check]) -> tuple[str, str]:
    by = {c.check: c for c in checks}
    if by["overall attrition"].passed and by["differential attrition"].passed:
        return "randomized", ("Randomized: places were offered by lottery among applicants, and few left before "
                              f"the start ({by['overall attrition'].finding.split(' (')[0]}; "
                              f"{by['differential attrition'].finding.split(' (')[0]}); chance differences "
                              "between the arms before the start are adjusted for.")
    if by["balance of the arms"].passed:
        return "quasi-experimental", ("Quasi-experimental: places were offered by lottery, but too many applicants "
                                      "left before the start for a randomized grade; the arms still start out alike.")
    return "observational", ("Observational: too many applicants left before the start, and the arms that remain "
                             "differ before the program.")


def _grade_capacity(checks: list[Check]) -> tuple[str, str]:
    by = {c.check: c for c in checks}
    if by["baseline equivalence"].passed:
        return "quasi-experimental", ("Quasi-experimental: places went by department and level to some applicants "
                                      "and not others, and matched and unmatched applicants started out alike "
                                      f"after adjustment ({by['baseline equivalence'].finding.split(';')[0]}).")
    return "observational", ("Observational: matched and unmatched applicants differed before the program by more "
                             "than adjustment can be trusted to remove "
                             f"({by['baseline equivalence'].finding.split(';')[0]}).")


# ---------------------------------------------------------------- which design heads the report

HEADLINE_METHODS = {"lottery": "tot_iv", "capacity": "tot_dr", "rollout": "tot_wald", "observational": "km_matched"}
ROLLOUT_REASON = ("Quasi-experimental: departments were reached in turn, and the eligible people of the departments "
                  "reached are compared with those of departments not yet reached, before and after the start.")
OBSERVATIONAL_REASON = ("Observational: participants are compared with matched colleagues who did not apply; people "
                        "who apply differ in ways no data set records, so this can show an effect that is not there.")


@dataclass(frozen=True)
class DesignChoice:
    """The design that heads a cohort's report: the strongest the data support, or the one the
    params name when the data support it; with its evidence grade, and a line on why."""

    design: str | None  # lottery / capacity / rollout / observational; None when none can answer
    evidence: str
    reason: str  # why this design heads the report
    grade_reason: str  # why the grade is what it is
    available: tuple[str, ...] = ()

    def summary(self) -> str:
        return f"{self.reason} {self.grade_reason}".strip()


def choose(study: Study, role: Role, applicant: DesignResult | None, rollout: bool, observational: bool,
           pretrend_pvalue: float | None = None, rollout_blocked: str = "") -> DesignChoice:
    """The headline design among those that produced estimates (strongest first: lottery,
    capacity, rollout, observational), honouring params `design` when it is among them.
    `rollout_blocked` says why a rollout that ran cannot head the report (too few departments):
    then, unless an applicant design or the params' explicit choice answers, nothing heads it; a
    comparison with matched non-participants does not stand in for a rollout that cannot tell."""
    if rollout_blocked and applicant is None and study.params.design != "observational":
        return DesignChoice(None, "", f"No design can head this report: {rollout_blocked}.", "",
                            ("rollout",) + (("observational",) if observational else ()))
    graded = {}
    if applicant is not None:
        graded[applicant.design] = (applicant.evidence, applicant.grade_reason)
    if rollout and not rollout_blocked:
        if pretrend_pvalue is not None and pretrend_pvalue < 0.05:
            graded["rollout"] = ("observational", "Observational: departments were reached in turn, but the eligible "
                                 "and comparison segments were already drifting apart before the start "
                                 f"(pre-period test p = {pretrend_pvalue:.2f}).")
        else:
            graded["rollout"] = ("quasi-experimental", ROLLOUT_REASON)
    if observational:
        graded["observational"] = ("observational", OBSERVATIONAL_REASON)
    order = [d for d in est.DESIGNS if d in graded]
    ran = tuple(d for d in est.DESIGNS if d in graded or (d == "rollout" and rollout))
    wanted = study.params.design
    if not order:
        return DesignChoice(None, "", "No design could estimate this cohort's effect on its " + role + "s.", "")
    if wanted != "auto" and wanted in graded:
        pick, reason = wanted, f"The {wanted} design heads this report because the params ask for it."
    else:
        pick = order[0]
        reason = (f"The {pick} design heads this report: it is the strongest the data support"
                  + (f" ({', '.join(ran)} available)." if len(ran) > 1 else "."))
        if rollout_blocked:
            reason += f" The department rollout cannot head it: {rollout_blocked}."
        if wanted != "auto":
            reason = f"The params ask for the {wanted} design, which the data do not support. " + reason
    return DesignChoice(pick, graded[pick][0], reason, graded[pick][1], ran)


def with_headlines(rows: list[est.Estimate], choice: DesignChoice, estimands: tuple[str, ...]) -> list[est.Estimate]:
    """The rows with, for each estimand the chosen design estimated, its effect on participants as
    the only headline (carrying the design's grade); estimands it did not estimate keep theirs."""
    from dataclasses import replace

    if choice.design is None:
        return rows
    out = list(rows)
    method = HEADLINE_METHODS[choice.design]
    for estimand in estimands:
        pick = next((i for i, e in enumerate(out) if e.estimand == estimand and e.design == choice.design
                     and e.method == method), None)
        if pick is None:
            continue
        out = [replace(e, headline=(i == pick), evidence=choice.evidence if i == pick else e.evidence)
               if e.estimand == estimand else e for i, e in enumerate(out)]
    return out
