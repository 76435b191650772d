"""Population designs that sidestep self-selection and the survivorship trap.

Everyone eligible for the cohort (the "eligible segment") is compared with the same kind of
employees in departments the program had not reached (the "comparison segment"), before and
after the start: an intention-to-treat difference-in-differences. Because the segments are
defined by department, level and tenure, not by who chose to sign up, the comparison is not
fooled by who volunteers; and because people are counted while at risk in every period (or in
snapshots taken before and after the start), the pre-period is real. The effect on participants
is the ITT divided by the participation share (Wald / DiD-IV).

The segments are departments, so the uncertainty is counted in departments (`assignment`): the
interval is the wild cluster bootstrap's at the assigned unit, and with fewer than three treated or
three comparison units the design draws no headline. Every effect is kept within what the group's
observed rate makes possible (`bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from . import bounds
from . import estimates as est
from .assignment import Assignment, assigned_did, cluster_labels
from .cohorts import NaiveGap, Role, eligible
from .data import Dataset, member
from .did import att_gt
from .did.inference import cluster_factor, sandwich, solve_wls
from .did.regression import DiDEstimate, EventStudy
from .errors import NotEstimable
from .estimates import Estimates
from .panels import (attributes_at, coded_spells, covered, employment_periods, exit_reasons, had_event, period_index,
                     period_start, place_codes, segment_counts, spell_at)
from .params import Eligibility

if TYPE_CHECKING:
    from .study import Study

SnapshotOutcome = Literal["stayed", "promoted", "grade_changed"]
SNAPSHOTS = "eligible vs comparison segment, snapshots at start and 12 months before"


@dataclass(frozen=True)
class WaldEffect:
    """Effect on participants = ITT / participation share. With an `assignment`, the interval is
    the ITT's wild cluster bootstrap interval over the share (the share is known to within a
    point; the departments are the uncertainty); without, a delta-method interval. Kept within
    what participants' observed rate (`observed`, percent) makes possible."""

    itt: DiDEstimate
    share: float
    n_participants: int
    n_eligible: int
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    assignment: Assignment | None = None
    observed: float = float("nan")

    @property
    def supports_headline(self) -> bool:
        """False when too few units were assigned for the design to head a report."""
        return self.assignment is None or self.assignment.supports_headline

    def summary(self) -> str:
        return (f"ITT {self.itt.estimate:.3g} (SE {self.itt.std_error:.3g}) / participation share {self.share:.3f} "
                f"= {self.estimate:.3g} (SE {self.std_error:.3g}; 95% CI {self.ci_low:.3g} to {self.ci_high:.3g})")


def wald(itt: DiDEstimate, n_participants: int, n_eligible: int, alpha: float = 0.05,
         assignment: Assignment | None = None, observed: float = float("nan")) -> WaldEffect:
    """ITT / share. Without an assignment: Var ~ Var(ITT)/s^2 + ITT^2 Var(s)/s^4, the share
    binomial. With one: the ITT's interval (already at the assigned unit) over s. Then bounded by
    participants' observed rate when given."""
    if n_participants == 0 or n_eligible == 0:
        raise NotEstimable("no participants among the eligible: the effect on participants is not defined")
    s = n_participants / n_eligible
    est = itt.estimate / s
    if assignment is not None:
        se, lo, hi = itt.std_error / s, itt.ci_low / s, itt.ci_high / s
    else:
        var_s = s * (1 - s) / n_eligible
        se = float(np.sqrt(itt.std_error**2 / s**2 + itt.estimate**2 * var_s / s**4))
        z = stats.norm.ppf(1 - alpha / 2)
        lo, hi = est - z * se, est + z * se
    if np.isfinite(observed):
        est, lo, hi = bounds.intersect(est, lo, hi, observed)
    return WaldEffect(itt, s, n_participants, n_eligible, est, float(se), float(lo), float(hi), assignment, observed)


def assigned_itt(rows: pd.DataFrame, outcome: str, study: Study) -> tuple[DiDEstimate, Assignment]:
    """The ITT difference-in-differences of `outcome` with inference at the params' assignment unit,
    bounded by the eligible segment's observed rate after the start."""
    a = assigned_did(rows, outcome, study.params.assignment_unit, seed=study.params.seed)
    b = a.bootstrap
    after = ((rows["treated"] == 1) & (rows["post"] == 1)).to_numpy()
    w = _weights(rows)
    value, (lo, hi) = b.estimate, a.interval
    if after.any():
        value, lo, hi = bounds.intersect(value, lo, hi, float(np.average(rows[outcome].to_numpy(float)[after],
                                                                          weights=w[after])))
    itt = DiDEstimate("2x2 DiD", value, b.std_error, float(lo), float(hi), b.pvalue, int(w.sum()), sum(a.clusters),
                      f"wild cluster bootstrap by {a.unit_name}", b.alpha)
    return itt, a


def naive_estimate(cohort_id: str, role: Role, estimand: str, gap: NaiveGap, note: str) -> est.Estimate:
    """The naive comparison (a cohorts.NaiveGap) as an estimate: participants vs everyone else, pp."""
    return est.make(cohort_id=cohort_id, role=role, estimand=estimand, method="naive", estimate=gap.difference,
                    std_error=gap.std_error, n_treated=gap.participants, n_control=gap.others, note=note,
                    design="naive", unit="pp")


def design_estimates(cohort_id: str, role: Role, estimand: str, itt: DiDEstimate, tot: WaldEffect, itt_note: str,
                     tot_note: str, unit: str = "pp") -> list[est.Estimate]:
    """The population design's two rows: the ITT of the eligible segment and the effect on
    participants (headline), with the participants and the eligible non-participants counted."""
    def row(method: str, value: float, se: float, ci: tuple[float, float], **kw) -> est.Estimate:
        return est.make(cohort_id=cohort_id, role=role, estimand=estimand, method=method, estimate=value, std_error=se,
                        ci=ci, design="rollout", unit=unit, **kw)

    a = tot.assignment
    if a is not None:
        itt_note = f"{itt_note}; {a.note()}"
        tot_note = f"{tot_note}; {a.note()}" + (f"; no headline: {a.reason()}" if not a.supports_headline else "")
    if np.isfinite(tot.observed):
        implied = bounds.counterfactual(tot.estimate, tot.observed)
        tot_note += (f"; participants' observed rate {tot.observed:.1f}%, implied without mentoring {implied:.1f}% "
                     f"({bounds.counterfactual(tot.ci_high, tot.observed):.1f}% to "
                     f"{bounds.counterfactual(tot.ci_low, tot.observed):.1f}%)")
    return [row("itt_did", itt.estimate, itt.std_error, (itt.ci_low, itt.ci_high), note=itt_note),
            row("tot_wald", tot.estimate, tot.std_error, (tot.ci_low, tot.ci_high), n_treated=tot.n_participants,
                n_control=tot.n_eligible - tot.n_participants, headline=tot.supports_headline, note=tot_note)]


def segments(people: pd.DataFrame, rule: Eligibility, treated_departments: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    """(eligible segment, comparison segment): the rule as written; and the rule's levels and tenure
    in departments no cohort had reached."""
    inside = eligible(people, rule)
    if rule.departments is None:
        return inside, pd.Series(False, index=people.index)
    outside_rule = Eligibility(levels=rule.levels, departments=None, min_tenure_months=rule.min_tenure_months)
    outside = eligible(people, outside_rule) & ~people["department"].isin(treated_departments)
    return inside, outside


def snapshot_did(study: Study, role: Role, outcome: SnapshotOutcome, months: int = 12,
                 start: pd.Timestamp | None = None) -> pd.DataFrame:
    """Person-snapshot rows for a before/after comparison of a 12-month outcome: everyone employed
    on the cohort's start date (post) or `months` earlier (pre), in the eligible or comparison
    segment, with `stayed` (still employed `months` later), `promoted` (a level rise within
    `months`) and `grade_changed` (a salary-grade change within `months`), in percent (0 or 100)
    so that differences are percentage points. `start` replaces the cohort's start (a placebo)."""
    if outcome not in ("stayed", "promoted", "grade_changed"):
        raise ValueError(f"outcome must be 'stayed', 'promoted' or 'grade_changed', got {outcome!r}")
    start = study.cohort.start if start is None else pd.Timestamp(start)
    return study.kept(("snapshot rows", role, months, start), lambda: _snapshot_rows(study, role, months, start))


def _snapshot_rows(study: Study, role: Role, months: int, start: pd.Timestamp) -> pd.DataFrame:
    """`snapshot_did`'s rows with every outcome, built once per role, follow-up and start."""
    cohort, ds = study.cohort, study.dataset
    rule = getattr(cohort.params, f"{role}_eligibility")
    end = ds.end
    if start + pd.DateOffset(months=months) > end + pd.Timedelta(days=1):
        raise NotEstimable(f"cohort {cohort.cohort_id}: the data end on {end:%Y-%m-%d}, before {months} months of "
                           "follow-up; the 12-month outcomes cannot be measured yet")
    events = study.job_events
    participants = set(cohort.participants(role)["employee_id"])
    frames = []
    for post, when in ((1, start), (0, start - pd.DateOffset(months=months))):
        snap = study.employed_on(when)
        gone = snap["termination_date"]
        horizon = when + pd.DateOffset(months=months)
        inside, outside = segments(snap, rule, cohort.treated_departments)
        keep = (inside | outside).to_numpy()
        frames.append(pd.DataFrame({
            "employee_id": snap["employee_id"].array[keep],  # Arrow strings taken, not a Python object per id
            "department": snap["department"].array[keep],
            "location": snap["location"].array[keep],
            "participant": member(snap["employee_id"], participants)[keep] & (post == 1),
            "treated": inside.to_numpy()[keep].astype(int),
            "post": post,
            "stayed": 100.0 * (gone.isna() | (gone >= horizon)).to_numpy()[keep],
            "promoted": 100.0 * member(snap["employee_id"], had_event(events, "promoted", when, horizon))[keep],
            "grade_changed": 100.0 * member(snap["employee_id"], had_event(events, "grade_changed", when, horizon))[keep],
        }))
    return pd.concat(frames, ignore_index=True)


def itt_snapshot(study: Study, role: Role, outcome: SnapshotOutcome, months: int = 12) -> tuple[DiDEstimate, WaldEffect]:
    """ITT DiD on a 12-month outcome (pp) and the effect on participants (Wald)."""
    rows = snapshot_did(study, role, outcome, months)
    _require_segments(rows, study.cohort_id, role)
    itt, assignment = assigned_itt(rows, outcome, study)
    share = study.cohort.participation_share(role)
    mine = rows.loc[rows["participant"] & (rows["treated"] == 1), outcome]
    observed = float(mine.mean()) if len(mine) else float("nan")
    return itt, wald(itt, share.participants, share.eligible, assignment=assignment, observed=observed)


@dataclass(frozen=True)
class Placebo:
    """The rollout's difference-in-differences with a fake start `shift` months before the real one
    (pp): the program had not begun, so an honest design finds about zero."""

    outcome: str
    start: pd.Timestamp
    itt: DiDEstimate
    assignment: Assignment
    shift: int = 12

    def estimate(self, cohort_id: str, role: Role, estimand: str) -> est.Estimate:
        """The placebo as an estimates row (`placebo_itt`, never a headline)."""
        return est.make(cohort_id=cohort_id, role=role, estimand=estimand, method="placebo_itt",
                        estimate=self.itt.estimate, std_error=self.itt.std_error, ci=(self.itt.ci_low, self.itt.ci_high),
                        design="rollout", unit="pp",
                        note=f"the rollout's ITT with a fake start on {self.start:%Y-%m-%d}, {self.shift} months early: "
                             f"about 0 when the design is sound; {self.assignment.note()}")

    def sentence(self) -> str:
        verdict = ("no sign of a difference before the program began" if self.itt.ci_low <= 0 <= self.itt.ci_high else
                   "a difference already before the program began: read the rollout's estimate with caution")
        return (f"Placebo: pretending the cohort started on {self.start:%Y-%m-%d}, {self.shift} months early, the same comparison "
                f"gives {self.itt.estimate:+.1f} points ({self.itt.ci_low:+.1f} to {self.itt.ci_high:+.1f}): {verdict}.")


def placebo(study: Study, role: Role, outcome: SnapshotOutcome = "stayed", shift: int = 12,
            months: int = 12) -> Placebo:
    """The same eligible-vs-comparison difference-in-differences with the start moved `shift`
    months earlier, counted in the assigned units. NotEstimable when the data do not reach back to
    the fake start's own pre-period (exits are recorded from the first termination date on)."""
    fake = study.cohort.start - pd.DateOffset(months=shift)
    ds = study.dataset
    # exits are recorded from the first termination date on; in data read from a date on, from that date
    first_exit = ds.begins if ds.since is not None else ds.employees["termination_date"].min()
    earliest = fake - pd.DateOffset(months=months)
    if pd.isna(first_exit) or earliest < first_exit:
        raise NotEstimable(f"a placebo start on {fake:%Y-%m-%d} needs exits recorded from {earliest:%Y-%m-%d}; "
                           f"the data's first exit is on {first_exit:%Y-%m-%d}")
    rows = snapshot_did(study, role, outcome, months, start=fake)
    _require_segments(rows, study.cohort_id, role)
    itt, assignment = assigned_itt(rows, outcome, study)
    return Placebo(outcome, fake, itt, assignment, shift)


def _require_segments(rows: pd.DataFrame, cohort_id: str, role: Role) -> None:
    if not (rows["treated"] == 0).any():
        raise NotEstimable(f"cohort {cohort_id}: no comparison segment for {role}s (every department was "
                         "reached by a cohort, or the eligibility rule names no departments)")


def exit_panel(study: Study, role: Role) -> pd.DataFrame:
    """The eligible and comparison segments' people at risk in each period S-P .. S+H-1 and the
    share of them who left voluntarily, as cells: one row per department, location, arm
    (`treated`), `participant` and period, with `weight` (people at risk: the rows' frequency
    weights) and `exit_pct` (percent of them leaving in the period). Each person's segment (and
    department and location) is fixed at the cohort start (or at the period nearest it for those
    who left before or joined after), so promotions and moves the program may have caused do not
    move people between arms. Computed from each person's first and last period and their
    attributes at one reference period, never a row per person per period; regressions on these
    cells weighted by `weight` equal those on the person-period rows."""
    cohort, ds, p = study.cohort, study.dataset, study.params
    s = cohort.start_period
    first, last = period_start(np.array(study.window[:2]), p.period)
    emp = ds.employees.reset_index(drop=True)
    p0, p1, lo, hi, exit_p = employment_periods(emp, p.period, pd.Timestamp(first), pd.Timestamp(last))
    present = np.flatnonzero(lo <= hi)
    # each person's reference period: the start, else the last before it, else the first after it
    reference = attributes_at(ds, present, np.clip(s, lo[present], hi[present]), p.period, p.salary_grade_order)
    rule = getattr(cohort.params, f"{role}_eligibility")
    inside, outside = segments(reference, rule, cohort.treated_departments)
    keep = (inside | outside).to_numpy()
    who = present[keep]
    participants = member(emp["employee_id"], cohort.participants(role)["employee_id"])
    people = pd.DataFrame({"department": reference["department"].to_numpy()[keep],
                           "location": reference["location"].to_numpy()[keep],
                           "treated": inside.to_numpy()[keep].astype(int), "participant": participants[who]})
    groups = people.groupby(list(people.columns), sort=True)
    cell, keys = groups.ngroup().to_numpy(), groups.size().index.to_frame(index=False)
    width = p1 - p0 + 1
    at_risk_count = covered(cell, len(keys), lo[who] - p0, hi[who] - p0, width)
    voluntary = exit_reasons(ds)[0][who] & (exit_p[who] == hi[who])
    exits = np.bincount(cell[voluntary] * width + (hi[who][voluntary] - p0),
                        minlength=len(keys) * width).reshape(len(keys), width)
    c, k = np.nonzero(at_risk_count > 0)
    rows = keys.iloc[c].reset_index(drop=True)
    rows["period"] = k + p0
    rows["weight"] = at_risk_count[c, k].astype(float)
    rows["exit_pct"] = 100.0 * exits[c, k] / rows["weight"].to_numpy()
    rows["post"] = (rows["period"] >= s).astype(int)
    rows["rel_time"] = rows["period"] - s
    rows["participant"] = rows["participant"].astype(bool)
    return rows


def _weights(rows: pd.DataFrame) -> np.ndarray:
    """The rows' frequency weights: people per row (`weight`, for cells), else one each."""
    return rows["weight"].to_numpy(float) if "weight" in rows else np.ones(len(rows))


def itt_exit_rate(study: Study, role: Role) -> tuple[DiDEstimate, WaldEffect, pd.DataFrame]:
    """ITT DiD on the monthly voluntary-exit rate (pp per period) and the effect on participants,
    the share counted in person-periods of the eligible segment after the start."""
    rows = exit_panel(study, role)
    _require_segments(rows, study.cohort_id, role)
    itt, assignment = assigned_itt(rows, "exit_pct", study)
    after = rows[(rows["treated"] == 1) & (rows["post"] == 1)]
    w = _weights(after)
    mine = after["participant"].to_numpy(bool)
    observed = float(np.average(after["exit_pct"].to_numpy(float)[mine], weights=w[mine])) if mine.any() else float("nan")
    return itt, wald(itt, int(w[mine].sum()), int(w.sum()), assignment=assignment, observed=observed), rows


def population_event_study(rows: pd.DataFrame, outcome: str = "exit_pct", reference: int = -1,
                           alpha: float = 0.05, unit: tuple[str, ...] = ("department",), width: int = 1) -> EventStudy:
    """Segment x relative-period effects with period and segment effects, clustered by the assigned
    unit (department by default): the event study of the population design (a joint test of the
    leads checks parallel trends when the clusters can support it). `width` > 1 pools the periods
    into blocks of that many (block -1 = the `width` periods before the start is the reference)."""
    rel = np.floor_divide(rows["rel_time"].to_numpy(), width)
    periods = sorted(set(rel) - {reference})
    treated = rows["treated"].to_numpy(float)
    period_codes = pd.factorize(rows["period"], sort=True)[0]
    n_periods = period_codes.max() + 1
    cols = [np.ones(len(rows)), treated]
    cols += [(period_codes == k).astype(float) for k in range(1, n_periods)]
    cols += [treated * (rel == r) for r in periods]
    x = np.column_stack(cols)
    names = ["const", "segment"] + [f"period_{k}" for k in range(1, n_periods)] + [f"rel_{r}" for r in periods]
    y = rows[outcome].to_numpy(float)
    w = _weights(rows)
    beta, bread = solve_wls(x, y, w, names)
    resid = y - x @ beta
    clusters = pd.factorize(cluster_labels(rows, unit))[0]
    g = clusters.max() + 1
    n, k = int(round(w.sum())), x.shape[1]
    vcov = sandwich(x, resid, w, bread, clusters) * cluster_factor(g, n, k)
    idx = np.arange(len(names) - len(periods), len(names))
    b, v = beta[idx], vcov[np.ix_(idx, idx)]
    se = np.sqrt(np.maximum(np.diag(v), 0.0))
    crit = stats.t(g - 1).ppf(1 - alpha / 2)
    table = pd.DataFrame({"rel_time": periods, "estimate": b, "std_error": se, "ci_low": b - crit * se,
                          "ci_high": b + crit * se})
    return EventStudy(table, v, reference, n, int(g), alpha)


@dataclass(frozen=True)
class TrendSensitivity:
    """Rambachan & Roth (2023) bounds for the rollout's average post-start effect (pp per period):
    how far the groups' trends may depart from parallel before the interval includes zero.
    `width`: months pooled per event-study block (the finest the clusters can support)."""

    width: int
    estimate: float
    smoothness: pd.DataFrame  # m, ci_low, ci_high
    relative_magnitudes: pd.DataFrame  # m (Mbar), ci_low, ci_high

    def sentence(self) -> str:
        from .did.honest import breakdown

        rm = self.relative_magnitudes
        parallel = rm[rm["m"] == 0].iloc[0]
        if parallel["ci_low"] <= 0 <= parallel["ci_high"]:
            return ("Sensitivity to trends: even with trends exactly parallel after the start, the average change "
                    f"includes zero ({parallel['ci_low']:+.2f} to {parallel['ci_high']:+.2f}), so there is no "
                    "conclusion for a departure from parallel trends to overturn.")
        mbar, m = breakdown(rm), breakdown(self.smoothness)
        return (f"Sensitivity to trends: the average change stays away from zero unless the post-start trends "
                f"differed by more than {mbar:g} times the largest month-to-month change seen before the start "
                f"(relative magnitudes), or the trend's slope could bend by more than {m:.3g} points per period "
                "(smoothness).")


def trend_sensitivity(rows: pd.DataFrame, unit: tuple[str, ...], outcome: str = "exit_pct",
                      mbar: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)) -> TrendSensitivity:
    """R&R bounds on the rollout event study's average post-start effect, on the finest blocks of
    months (1, 2, 3, 4 or 6) whose covariance the assigned units can estimate at full rank: a
    covariance of rank below its size claims some contrasts are known exactly, which few clusters
    cannot support. NotEstimable when none can."""
    from .did.honest import honest_did

    n_clusters = cluster_labels(rows, unit).nunique()
    for width in (1, 2, 3, 4, 6):
        blocks = np.unique(np.floor_divide(rows["rel_time"].to_numpy(), width)).size - 1  # the reference is left out
        if blocks > n_clusters - 1:  # a clustered covariance has rank at most G - 1 here: no need to fit
            continue
        es = population_event_study(rows, outcome, unit=unit, width=width)
        t, v = es.table, es.vcov
        pre, post = (t["rel_time"] < -1).to_numpy(), (t["rel_time"] >= 0).to_numpy()
        if pre.sum() >= 2 and post.sum() >= 1 and np.linalg.matrix_rank(v) == v.shape[0]:
            order = np.r_[np.flatnonzero(pre), np.flatnonzero(post)]
            b, sigma = t["estimate"].to_numpy()[order], v[np.ix_(order, order)]
            n_pre, n_post = int(pre.sum()), int(post.sum())
            se_first = float(np.sqrt(sigma[n_pre, n_pre]))
            smooth = honest_did(b, sigma, n_pre, n_post, "smoothness", tuple(np.linspace(0, se_first, 5)))
            rm = honest_did(b, sigma, n_pre, n_post, "relative_magnitudes", mbar)
            return TrendSensitivity(width, float(b[n_pre:].mean()), smooth, rm)
    raise NotEstimable(f"the bounds on departures from parallel trends need an event-study covariance the "
                       f"{' x '.join(unit)} clusters can estimate ({n_clusters} clusters cannot support even "
                       "six-month blocks)")


def rollout_panel(ds: Dataset, period: str = "month", by: tuple[str, ...] = ("department", "location"),
                  outcome: str = "exited_voluntary") -> pd.DataFrame:
    """Unit x period rates for the staggered rollout: units are combinations of `by` (as of each
    period), the rate is `outcome` per 100 employees at risk in the period (percentage points), and
    first_period is the start of the first cohort that enrolled anyone from the unit (0 = never)."""
    counts = segment_counts(ds, period, by, (outcome,))  # from spells: no row per person per period
    rates = counts.assign(unit=_unit_labels(counts, by)).rename(columns={outcome: "events"})
    rates = rates[["unit", *by, "period", "at_risk", "events"]].sort_values(["unit", *by, "period"], ignore_index=True)
    rates["events"] = rates["events"].astype(float)
    rates["rate"] = 100 * rates["events"] / rates["at_risk"]
    # the unit of every enrollee as of their cohort's start (enrollees employed then)
    enr, cohorts = ds.enrollments, ds.cohorts.set_index("cohort_id")
    start_period = period_index(enr["cohort_id"].map(cohorts["start_date"]), period)
    found = coded_spells(ds, period)
    row = spell_at(found, ds.employee_positions("enrollments"), start_period)
    held = found.iloc[row[row >= 0]]
    departments = place_codes(ds)["department"].to_numpy(dtype=object)
    at_start = pd.DataFrame({"department": departments[held["department"].to_numpy()],
                             "location": ds.employees["location"].to_numpy(dtype=object)[held["employee"].to_numpy()]})
    reached = pd.DataFrame({"unit": _unit_labels(at_start.astype(str), by), "period": start_period[row >= 0]})
    first = reached.groupby("unit")["period"].min()
    rates["first_period"] = rates["unit"].map(first).fillna(0).astype(int)
    rates["weight"] = rates.groupby("unit")["at_risk"].transform("mean")
    return rates


def _unit_labels(frame: pd.DataFrame, by: tuple[str, ...]) -> np.ndarray:
    """'Sales / Berlin': a unit's name from its `by` values."""
    parts = [frame[c].astype(str).to_numpy(dtype=object) for c in by]
    out = parts[0]
    for part in parts[1:]:
        out = out + " / " + part
    return out


RolloutOutcome = Literal["exited_voluntary", "exited", "promoted", "grade_changed"]


@dataclass(frozen=True)
class Rollout:
    """Callaway & Sant'Anna across the staggered rollout of all cohorts, on the units' rates (pp
    per period), with this cohort's rows for the estimates table."""

    result: object = field(repr=False)  # did.ATTgtResult; None when the data cannot support it
    panel: pd.DataFrame = field(repr=False)  # the balanced unit x period rates it was fitted on
    estimates: Estimates = field(default_factory=Estimates, repr=False)
    period: str = "month"  # the time unit of the rates
    reason: str = ""  # why there is no estimate, when there is none

    def aggregate(self, kind: Literal["simple", "group", "dynamic", "calendar"] = "simple"):
        if self.result is None:
            raise NotEstimable(self.reason)
        return self.result.aggregate(kind)

    def summary(self) -> str:
        return self.aggregate("simple").summary()

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()


ROLLOUT_ESTIMANDS = {"exited_voluntary": "exit_rate", "promoted": "promotion_rate"}


def staggered(study: Study, outcome: RolloutOutcome = "exited_voluntary",
              by: tuple[str, ...] = ("department", "location")) -> Rollout:
    """Callaway & Sant'Anna across the staggered rollout of all cohorts: the change in the unit's rate
    (pp per period) once a cohort first reached it, against units not yet or never reached; with
    the overall ATT and this cohort's group ATT as estimates (computed once per study)."""
    def compute() -> Rollout:
        unit = tuple(study.params.assignment_unit)
        result, balanced = fit_staggered(study.dataset, study.params.period, by, outcome,
                                         cluster=unit if set(unit) <= set(by) else by)
        estimand = ROLLOUT_ESTIMANDS.get(outcome, outcome)
        return Rollout(result, balanced, rollout_estimates(result, study, estimand), study.params.period)

    return study.result(("rollout", outcome, by), compute)


def staggered_if_estimable(study: Study, outcome: RolloutOutcome = "exited_voluntary",
                           by: tuple[str, ...] = ("department", "location")) -> Rollout:
    """`staggered`, or when the data cannot support it (e.g. a cohort's window of the history, not
    all of it) a Rollout with no estimate that says why, for a page to show instead of failing."""
    try:
        return staggered(study, outcome, by)
    except NotEstimable as exc:
        return Rollout(None, pd.DataFrame(), Estimates(), study.params.period, reason=str(exc))


def fit_staggered(ds: Dataset, period: str = "month", by: tuple[str, ...] = ("department", "location"),
                  outcome: RolloutOutcome = "exited_voluntary", seed: int | None = None,
                  cluster: tuple[str, ...] = ("department",)):
    """(att_gt result, the balanced unit x period panel) of the staggered rollout in a data set,
    its standard errors clustered by `cluster` (the assigned unit; columns among `by`)."""
    if not set(cluster) <= set(by):
        raise ValueError(f"cluster {cluster} must be among the unit's columns {by}")
    if ds.since is not None:
        raise NotEstimable(f"the data were read from {ds.since:%Y-%m-%d} on (since=...); the staggered rollout "
                           "across every cohort needs the whole history: set history: all in the params, or "
                           "open the study without since")
    rates = rollout_panel(ds, period, by, outcome)
    rates["cluster"] = cluster_labels(rates, tuple(cluster))
    counts = rates.groupby("unit")["period"].size()
    full = counts.index[counts == counts.max()]
    balanced = rates[rates["unit"].isin(full)]
    never = balanced.loc[balanced["first_period"] == 0, "unit"].nunique()
    control = "never_treated" if never >= 2 else "not_yet_treated"
    return att_gt(balanced, "rate", "unit", "period", "first_period", control_group=control, weights="weight", seed=seed,
                  cluster="cluster"), balanced


def rollout_estimates(result, study: Study, estimand: str) -> Estimates:
    """Estimates from the staggered analysis: the overall ATT across cohorts and this cohort's own
    group ATT (population scale, pp per period)."""
    unit = f"pp per {study.params.period}"
    simple = result.aggregate("simple")
    rows = [est.make(cohort_id=study.cohort_id, role="population", estimand=estimand, method="cs_att",
                     estimate=simple.overall_att, std_error=simple.overall_se, ci=(simple.ci_low, simple.ci_high),
                     note="all cohorts' rollout, units = department x location, clustered by the assigned unit",
                     design="rollout", unit=unit)]
    group = result.aggregate("group").table
    mine = group[group["group"] == study.cohort.start_period]
    if len(mine):
        g = mine.iloc[0]
        rows.append(est.make(cohort_id=study.cohort_id, role="population", estimand=estimand, method="cs_att_group",
                             estimate=g["att"], std_error=g["std_error"], ci=(g["ci_low"], g["ci_high"]),
                             note="units first reached by this cohort", design="rollout", unit=unit))
    return Estimates(rows)
