"""The program's SMART goals (from the params) against where the measures stand now.

A goal is of one of two kinds. **level**: a descriptive rate of the participants (e.g. mentees'
12-month retention), shown as such and never as evidence of impact. **effect**: the program's
causal effect (pp), scored against the honest estimate (the strongest evidence so far, pooled
over this cohort and the earlier ones) and its 95% interval.

Rule, stated in every scorecard. Once the deadline has passed a goal is **met** or **missed**:
a level goal by its value, an effect goal by its interval (met when the whole interval reaches the
target, missed when none of it does, **cannot tell** otherwise). Before the deadline a goal
should have covered the share of the way from its baseline to its target that the time since the
cohort's start has elapsed: **on track** when the value (the interval's far end, for an effect)
has reached that level, **at risk** when only its 95% interval reaches it, and **off track** when
even the interval falls short. A goal without a baseline, target or deadline is flagged **not
SMART**, and one whose metric the data cannot measure **not measured**.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import pooling, program_health, promotion, retention
from .errors import NotEstimable
from .intervals import wilson

if TYPE_CHECKING:
    from .study import Study

MEASURES = {
    "retention_12m": "participants (mentees) still employed 12 months after the start, %",
    "promotion_12m": "mentees promoted within 12 months of the start, %",
    "nps": "mentees' net promoter score at the end",
    "signup_rate": "eligible mentees who signed up, %",
    "match_rate": "enrolled mentees who were matched, %",
    "goal_attainment": "mentees' goals achieved by their target date, %",
    "skills_change": "mentees' self-rated skills change, points",
}
STATUS_ORDER = ("met", "missed", "cannot tell", "on track", "at risk", "off track", "not measured")


EFFECTS = {"retention_12m": "effect on mentees' 12-month retention, pp",
           "promotion_12m": "effect on mentees' promotion within 12 months, pp",
           "voluntary_exit_12m": "effect on mentees' 12-month voluntary exits, pp"}


def status(value: float, ci_low: float, ci_high: float, baseline: float, target: float, elapsed: float,
           direction: str = "increase", kind: str = "level") -> tuple[str, float]:
    """(status, expected value now) for one goal by the rule above; elapsed is the share of the
    time from the cohort's start to the deadline gone by (1 or more: the deadline has passed)."""
    expected = baseline + (target - baseline) * min(max(elapsed, 0.0), 1.0)
    sign = 1 if direction == "increase" else -1
    near, far = (ci_low, ci_high) if sign > 0 else (ci_high, ci_low)
    if elapsed >= 1:
        if kind == "effect":
            if sign * (near - target) >= 0:
                return "met", expected
            return ("missed", expected) if sign * (far - target) < 0 else ("cannot tell", expected)
        return ("met" if sign * (value - target) >= 0 else "missed"), expected
    if kind == "effect":
        value = near  # an effect is on track only when its whole interval has reached the level
    if sign * (value - expected) >= 0:
        return "on track", expected
    reach = ci_high if sign > 0 else ci_low
    if sign * (reach - expected) >= 0:
        return "at risk", expected
    return "off track", expected


def current_effects(study: Study) -> dict[str, tuple[float, float, float]]:
    """The honest estimate and 95% interval of each effect a goal can name: the strongest evidence
    of this cohort and the earlier ones (pooling.strongest), pp."""
    values = {}
    for name in EFFECTS:
        found = pooling.strongest(study.so_far, (name,))
        if found is not None:
            e = found[0]
            values[name] = (e.estimate, e.ci_low, e.ci_high)
    return values


def current_values(study: Study) -> dict[str, tuple[float, float, float]]:
    """Current value and 95% interval of each measurable goal metric for the cohort's mentees: the
    participants' own 12-month retention and promotion (Wilson intervals) and program health's
    headline figures."""
    values: dict[str, tuple[float, float, float]] = {}
    for name, module in (("retention_12m", retention), ("promotion_12m", promotion)):
        try:
            n = module.naive(study, "mentee")
        except NotEstimable:
            continue
        lo, hi = wilson(n.rate_participants / 100 * n.participants, n.participants)
        values[name] = (n.rate_participants, float(lo), float(hi))
    health = program_health.analyze(study).estimates.where(role="mentee", headline=True)
    for name in ("nps", "signup_rate", "match_rate", "goal_attainment", "skills_change"):
        e = health.first(estimand=name)
        if e is not None:
            values[name] = (e.estimate, e.ci_low, e.ci_high)
    return values


@dataclass(frozen=True)
class Scorecard:
    """One row per program goal: metric, baseline, target, deadline, current value and interval,
    expected value now, status."""

    table: pd.DataFrame = field(repr=False)
    as_of: pd.Timestamp = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        counts = self.table["status"].value_counts()
        return ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (as of {self.as_of:%d %b %Y})"


def build(study: Study) -> Scorecard:
    """Score each SMART goal in the params against the data (see the module's rule)."""
    params = study.params
    as_of = study.end
    start = study.start
    levels = current_values(study) if any(g.kind == "level" for g in params.goals) else {}
    effects = current_effects(study) if any(g.kind == "effect" for g in params.goals) else {}
    rows = []
    for goal in params.goals:
        values = effects if goal.kind == "effect" else levels
        known = EFFECTS if goal.kind == "effect" else MEASURES
        row = {"metric": goal.metric, "kind": goal.kind, "description": goal.description or known.get(goal.metric, ""),
               "baseline": goal.baseline, "target": goal.target,
               "deadline": pd.Timestamp(goal.deadline) if goal.deadline else pd.NaT, "direction": goal.direction,
               "value": np.nan, "ci_low": np.nan, "ci_high": np.nan, "expected_now": np.nan}
        if goal.kind == "effect" and goal.baseline is None:  # an effect starts from none
            goal = goal.model_copy(update={"baseline": 0.0})
            row["baseline"] = 0.0
        missing = [k for k in ("baseline", "target", "deadline") if getattr(goal, k) is None]
        if missing:  # not scored, but its figure is shown (the same one the rest of the page prints)
            row["status"] = "not SMART (no " + ", ".join(missing) + ")"
            if goal.metric in values:
                row.update(zip(("value", "ci_low", "ci_high"), values[goal.metric], strict=True))
        elif goal.metric not in values:
            row["status"] = "not measured"
        else:
            v, lo, hi = values[goal.metric]
            span = (pd.Timestamp(goal.deadline) - start).days
            elapsed = 1.0 if span <= 0 else (as_of - start).days / span
            row["status"], row["expected_now"] = status(v, lo, hi, goal.baseline, goal.target, elapsed, goal.direction,
                                                        goal.kind)
            row.update(value=v, ci_low=lo, ci_high=hi)
        rows.append(row)
    return Scorecard(pd.DataFrame(rows, columns=["metric", "kind", "description", "baseline", "target", "deadline", "direction",
                                                 "value", "ci_low", "ci_high", "expected_now", "status"]), as_of)
