"""The workforce around a cohort: headcount, hires, exits and turnover over time, cohort sizes,
and the baseline before launch (turnover, promotion and mobility rates of the eligible). Rates
follow the SHRM definition: separations / average headcount, in percent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from .cohorts import eligible
from .data import Dataset
from .panels import (attributes_at, contains, employee_period_key, employment_periods, exit_reasons, period_index,
                     person_periods)

if TYPE_CHECKING:
    from .study import Study

PERIOD_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
STATUSES = ("applied", "matched", "active", "completed", "withdrawn")


def _freq(period: str) -> str:
    try:
        return PERIOD_FREQ[period]
    except KeyError:
        raise ValueError(f"period must be one of {', '.join(PERIOD_FREQ)}, got {period!r}") from None


def headcount_by_period(study: Study, period: Literal["month", "quarter", "year"] | None = None, start=None,
                        end=None) -> pd.DataFrame:
    """Headcount at the start and end of each period, hires, and voluntary and involuntary exits,
    with the period's turnover rate in percent (separations / average headcount).

    The default span runs from the first recorded exit (where the HRIS export's history starts)
    to the latest date in the employees table. The period defaults to the study's."""
    freq = _freq(period or study.params.period)
    emp = study.dataset.employees
    terminated = emp["termination_date"]
    first = pd.Timestamp(start) if start is not None else (terminated.min() if terminated.notna().any() else emp["hire_date"].min())
    last = pd.Timestamp(end) if end is not None else max(emp["hire_date"].max(), terminated.max() if terminated.notna().any() else emp["hire_date"].max())
    periods = pd.period_range(first, last, freq=freq)
    hire_p = emp["hire_date"].dt.to_period(freq)
    exit_p = terminated.dt.to_period(freq)
    reason = emp["termination_reason"]
    before = lambda p: p < periods[0]
    start_count = int((before(hire_p) & ~(exit_p.notna() & before(exit_p))).sum())
    hires = hire_p[~before(hire_p)].value_counts().reindex(periods, fill_value=0)
    vol = exit_p[(reason == "voluntary").fillna(False)].value_counts().reindex(periods, fill_value=0)
    inv = exit_p[(reason == "involuntary").fillna(False)].value_counts().reindex(periods, fill_value=0)
    exits = vol + inv
    end_count = start_count + (hires - exits).cumsum()
    start_counts = end_count.shift(1, fill_value=start_count)
    out = pd.DataFrame({
        "period": periods.astype(str),
        "period_start": periods.start_time,
        "headcount_start": start_counts.to_numpy(),
        "hires": hires.to_numpy(),
        "exits_voluntary": vol.to_numpy(),
        "exits_involuntary": inv.to_numpy(),
        "headcount_end": end_count.to_numpy(),
    })
    average = (out["headcount_start"] + out["headcount_end"]) / 2
    out["turnover_rate"] = 100 * (out["exits_voluntary"] + out["exits_involuntary"]) / average
    out["voluntary_turnover_rate"] = 100 * out["exits_voluntary"] / average
    return out


def cohort_sizes(ds: Dataset, cohort_id: str | None = None) -> pd.DataFrame:
    """Enrolled people per cohort and role, by status (applied, matched, active, completed,
    withdrawn): of every cohort of a data set, or of one."""
    enr = ds.enrollments
    if cohort_id is not None:
        enr = enr[enr["cohort_id"] == cohort_id]
    statuses = list(STATUSES)
    wide = (enr.groupby(["cohort_id", "role", "status"]).size().unstack("status")
            .reindex(columns=statuses).fillna(0).astype("int64"))
    wide["enrolled"] = wide[statuses].sum(axis=1)
    wide.columns.name = None
    return wide.reset_index()


BASELINE_BY = ("department", "location", "job_level")  # what the baseline can be broken down by
COUNTED = ("exited", "exited_voluntary", "exited_involuntary", "promoted_any", "grade_changed_any", "moved_any")


def baseline(study: Study, by: str | None = None, months: int = 12) -> pd.DataFrame:
    """The 12 months before the cohort starts, for everyone, the eligible mentees and mentors (and
    each level of `by` within them: department, location or job_level): average headcount,
    separations, annualized turnover (SHRM: separations / average headcount, percent per year),
    voluntary and involuntary turnover, promotion, internal-move and salary-grade-change rates
    (percent per year), mean engagement; with `by`, a column named for it holds each group's value."""
    if by is not None and by not in BASELINE_BY:
        raise ValueError(f"by={by!r}: the baseline can be broken down by {', '.join(BASELINE_BY)}")
    cells = study.kept(("baseline cells", months), lambda: _baseline_cells(study, months))
    groups = {"all employees": np.ones(len(cells), dtype=bool), "eligible mentees": cells["mentee"].to_numpy(bool),
              "eligible mentors": cells["mentor"].to_numpy(bool)}
    records = []
    for name, mask in groups.items():
        sub = cells[mask]
        parts = [(name, "", sub)] if by is None else [(name, str(k), g) for k, g in sub.groupby(by, observed=True)]
        for group, value, g in parts:
            heads = g.groupby("period")["people"].sum()
            heads = heads[heads > 0]
            avg = heads.mean() if len(heads) else 0.0
            scale = 100 * 12 / months / avg if avg else np.nan
            answered = g["engagement_n"].sum()
            records.append({
                "group": group, **({by: value} if by else {}), "average_headcount": avg,
                "separations": int(g["exited"].sum()), "turnover_rate": g["exited"].sum() * scale,
                "voluntary_turnover_rate": g["exited_voluntary"].sum() * scale,
                "involuntary_turnover_rate": g["exited_involuntary"].sum() * scale,
                "promotion_rate": g["promoted_any"].sum() * scale,
                "internal_move_rate": g["moved_any"].sum() * scale,
                "grade_change_rate": g["grade_changed_any"].sum() * scale,
                "mean_engagement": g["engagement_sum"].sum() / answered if answered else np.nan,
            })
    return pd.DataFrame(records)


def _baseline_cells(study: Study, months: int) -> pd.DataFrame:
    """Everyone's months in the `months` before the start, summed by eligibility (mentee, mentor),
    department, location, job level and month: people, exits of each kind, months holding a
    promotion, a salary-grade change or an internal move, and the sum and count of known engagement
    scores. Built once per study from the person-months (only the attributes counted here), which
    are then let go."""
    ds, start, params = study.dataset, study.start, study.params
    first = start - pd.DateOffset(months=months)
    emp = ds.employees.reset_index(drop=True)
    _, _, lo, hi, exit_p = employment_periods(emp, "month", first, start - pd.Timedelta(days=1))
    who, per = person_periods(np.maximum(hi - lo + 1, 0), lo)
    panel = attributes_at(ds, who, per, "month", categorical=True,  # the panel's rows, only what is counted here
                          columns=("job_level", "department", "location", "tenure_months", "last_engagement"))
    exited = exit_p[who] == per
    voluntary, involuntary = exit_reasons(ds)
    panel["exited"], panel["exited_voluntary"] = exited, exited & voluntary[who]
    panel["exited_involuntary"] = exited & involuntary[who]
    events = study.job_events
    rows = employee_period_key(who, per)
    flags = {}
    for kind in ("promoted", "grade_changed", "moved"):
        hits = events[events[kind] & (events["effective_date"] >= first) & (events["effective_date"] < start)]
        flags[kind + "_any"] = contains(rows, employee_period_key(hits["employee"].to_numpy(),
                                                                  period_index(hits["effective_date"], "month")))
    engagement = panel["last_engagement"].to_numpy(float)
    keys = {"mentee": eligible(panel, params.mentee_eligibility).to_numpy(bool),
            "mentor": eligible(panel, params.mentor_eligibility).to_numpy(bool),
            **{c: panel[c] for c in BASELINE_BY}, "period": pd.Series(per)}
    values = {"people": None, **{c: panel[c].to_numpy(bool) for c in COUNTED[:3]}, **flags,
              "engagement_sum": np.nan_to_num(engagement), "engagement_n": np.isfinite(engagement)}
    return _summed_cells(keys, values, integer=[c for c in values if c != "engagement_sum"])


def _summed_cells(keys: dict, values: dict, integer: list[str]) -> pd.DataFrame:
    """Rows summed by every combination of the `keys` columns that occurs (missing values a group
    of their own, after the others; groups in sorted order): what
    DataFrame.groupby(keys, dropna=False, observed=True, sort=True).sum() gives, from integer codes
    and bincount without building the frame of millions of rows. A value of None counts rows."""
    combined = np.zeros(len(next(iter(keys.values()))), dtype=np.int64)
    for column in keys.values():
        codes, levels = pd.factorize(pd.Series(column), sort=True)
        combined = combined * (len(levels) + 1) + np.where(codes < 0, len(levels), codes)  # missing: last
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    frame = pd.DataFrame({name: pd.Series(column).take(first).array for name, column in keys.items()})
    for name, value in values.items():
        summed = np.bincount(inverse, weights=None if value is None else np.asarray(value, float), minlength=first.size)
        frame[name] = summed.astype(np.int64) if name in integer else summed
    return frame


def rating_distribution(study: Study, months: int = 12) -> pd.DataFrame:
    """Share of each performance rating among reviews in the 12 months before the start (percent)."""
    reviews = study.dataset.require("performance_reviews", "the rating distribution")
    start = study.start
    window = reviews[(reviews["review_date"] >= start - pd.DateOffset(months=months)) & (reviews["review_date"] < start)]
    counts = window["rating"].round().value_counts().sort_index()
    return pd.DataFrame({"rating": counts.index.astype(int), "reviews": counts.to_numpy(),
                         "share": 100 * counts.to_numpy() / max(counts.sum(), 1)})
