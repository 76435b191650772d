"""Program and workforce metrics computed from a Dataset: headcount, exits and turnover over
time, and cohort sizes. Rates follow the SHRM definition: separations / average headcount."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import Dataset
from .effects import data_end as effects_data_end

PERIOD_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
STATUSES = ("applied", "matched", "active", "completed", "withdrawn")


def _freq(period: str) -> str:
    try:
        return PERIOD_FREQ[period]
    except KeyError:
        raise ValueError(f"period must be one of {', '.join(PERIOD_FREQ)}, got {period!r}") from None


def headcount_by_period(ds: Dataset, period: str = "month", start=None, end=None) -> pd.DataFrame:
    """Headcount at the start and end of each period, hires, and voluntary and involuntary exits,
    with the period's turnover rate in percent (separations / average headcount).

    The default span runs from the first recorded exit (where the HRIS export's history starts)
    to the latest date in the employees table."""
    freq = _freq(period)
    emp = ds.employees
    terminated = emp["termination_date"] if "termination_date" in emp else pd.Series(pd.NaT, index=emp.index)
    first = pd.Timestamp(start) if start is not None else (terminated.min() if terminated.notna().any() else emp["hire_date"].min())
    last = pd.Timestamp(end) if end is not None else max(emp["hire_date"].max(), terminated.max() if terminated.notna().any() else emp["hire_date"].max())
    periods = pd.period_range(first, last, freq=freq)
    hire_p = emp["hire_date"].dt.to_period(freq)
    exit_p = terminated.dt.to_period(freq)
    reason = emp["termination_reason"] if "termination_reason" in emp else pd.Series(pd.NA, index=emp.index, dtype="str")
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
    """Enrolled people per cohort and role, by status (applied, matched, active, completed, withdrawn)."""
    enr = ds.enrollments
    if cohort_id is not None:
        enr = enr[enr["cohort_id"] == cohort_id]
    statuses = list(STATUSES)
    wide = (enr.groupby(["cohort_id", "role", "status"]).size().unstack("status")
            .reindex(columns=statuses).fillna(0).astype("int64"))
    wide["enrolled"] = wide[statuses].sum(axis=1)
    wide.columns.name = None
    return wide.reset_index()


def plot_headcount(headcount: pd.DataFrame, ax=None):
    """Headcount (line, left axis) and voluntary / involuntary exits per period (bars, right axis)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    x = headcount["period_start"]
    ax.plot(x, headcount["headcount_end"], color="#0072B2", lw=2, label="headcount (end of period)")
    ax.set_ylabel("employees")
    ax.set_ylim(0, headcount["headcount_end"].max() * 1.15)
    ax2 = ax.twinx()
    width = (x.iloc[1] - x.iloc[0]).days * 0.8 if len(x) > 1 else 20
    ax2.bar(x, headcount["exits_voluntary"], width=width, color="#E69F00", alpha=0.7, label="voluntary exits")
    ax2.bar(x, headcount["exits_involuntary"], width=width, bottom=headcount["exits_voluntary"], color="#999999",
            alpha=0.7, label="involuntary exits")
    ax2.set_ylabel("exits per period")
    ax2.set_ylim(0, (headcount["exits_voluntary"] + headcount["exits_involuntary"]).max() * 3)
    lines = ax.get_legend_handles_labels()
    bars = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + bars[0], lines[1] + bars[1], loc="lower center", bbox_to_anchor=(0.5, 1.0),
              frameon=False, ncols=3)
    ax.spines[["top"]].set_visible(False)
    return ax


# ---------------------------------------------------------------- shared helpers

def _wilson(k: np.ndarray | float, n: np.ndarray | float, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion k/n, in percent."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return 100 * (centre - half), 100 * (centre + half)


def _mean_ci(x: np.ndarray, z: float | None = None) -> tuple[float, float, float, float]:
    """Mean, standard error and t interval (95%) of a sample."""
    from scipy import stats

    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return (float(x.mean()) if x.size else np.nan), np.nan, np.nan, np.nan
    m, se = x.mean(), x.std(ddof=1) / np.sqrt(x.size)
    crit = stats.t(x.size - 1).ppf(0.975) if z is None else z
    return float(m), float(se), float(m - crit * se), float(m + crit * se)


def _cohort_row(ds: Dataset, params) -> pd.Series:
    cohorts = ds.cohorts.set_index("cohort_id")
    if params.cohort_id not in cohorts.index:
        raise ValueError(f"cohort {params.cohort_id!r} is not in the data's cohorts table")
    return cohorts.loc[params.cohort_id]


# ---------------------------------------------------------------- baseline

def baseline(ds: Dataset, params, by: str | None = None, months: int = 12) -> pd.DataFrame:
    """The 12 months before the cohort starts, for everyone, the eligible mentees and mentors (and
    each level of `by` within them): average headcount, separations, annualized turnover (SHRM:
    separations / average headcount, percent per year), voluntary and involuntary turnover,
    promotion, internal-move and salary-grade-change rates (percent per year), mean engagement."""
    from .cohorts import eligible
    from .panels import at_risk, job_events, period_index

    start = pd.Timestamp(_cohort_row(ds, params)["start_date"])
    first = start - pd.DateOffset(months=months)
    panel = at_risk(ds, "month", start=first, end=start - pd.Timedelta(days=1))
    events = job_events(ds)
    groups = {"all employees": np.ones(len(panel), dtype=bool),
              "eligible mentees": eligible(panel, params.mentee_eligibility).to_numpy(),
              "eligible mentors": eligible(panel, params.mentor_eligibility).to_numpy()}
    for kind in ("promoted", "grade_changed", "moved"):
        panel[kind + "_any"] = False
        hits = events[events[kind] & (events["effective_date"] >= first) & (events["effective_date"] < start)]
        key = pd.MultiIndex.from_arrays([hits["employee_id"], period_index(hits["effective_date"], "month")])
        rows = pd.MultiIndex.from_arrays([panel["employee_id"], panel["period"]])
        panel[kind + "_any"] = rows.isin(key)
    records = []
    for name, mask in groups.items():
        sub = panel[mask]
        parts = [(name, "", sub)] if by is None else [(name, str(k), g) for k, g in sub.groupby(by, observed=True)]
        for group, level, g in parts:
            heads = g.groupby("period").size()
            avg = heads.mean() if len(heads) else 0.0
            scale = 100 * 12 / months / avg if avg else np.nan
            records.append({
                "group": group, "segment": by or "", "level": level, "average_headcount": avg,
                "separations": int(g["exited"].sum()), "turnover_rate": g["exited"].sum() * scale,
                "voluntary_turnover_rate": g["exited_voluntary"].sum() * scale,
                "involuntary_turnover_rate": g["exited_involuntary"].sum() * scale,
                "promotion_rate": g["promoted_any"].sum() * scale,
                "internal_move_rate": g["moved_any"].sum() * scale,
                "grade_change_rate": g["grade_changed_any"].sum() * scale,
                "mean_engagement": g["last_engagement"].mean(),
            })
    return pd.DataFrame(records)


def rating_distribution(ds: Dataset, params, months: int = 12) -> pd.DataFrame:
    """Share of each performance rating among reviews in the 12 months before the start (percent),
    for everyone and for the eligible mentees (as of the review)."""
    reviews = ds.require("performance_reviews", "the rating distribution")
    start = pd.Timestamp(_cohort_row(ds, params)["start_date"])
    window = reviews[(reviews["review_date"] >= start - pd.DateOffset(months=months)) & (reviews["review_date"] < start)]
    counts = window["rating"].round().value_counts().sort_index()
    return pd.DataFrame({"rating": counts.index.astype(int), "reviews": counts.to_numpy(),
                         "share": 100 * counts.to_numpy() / max(counts.sum(), 1)})


# ---------------------------------------------------------------- participation

def funnel(ds: Dataset, params) -> pd.DataFrame:
    """Eligible -> applied -> matched -> active -> completed, per role: counts, percent of the
    previous stage and of the eligible (Wilson intervals)."""
    from .cohorts import build

    cohort = build(ds, params)
    enr = ds.enrollments[ds.enrollments["cohort_id"] == params.cohort_id]
    matched_ids = set()
    active_ids = set()
    if ds.has("matches"):
        m = ds.matches[ds.matches["cohort_id"] == params.cohort_id]
        matched_ids = set(m["mentee_id"]) | set(m["mentor_id"])
        if ds.has("meetings"):
            met = m[m["match_id"].isin(ds.meetings["match_id"])]
            active_ids = set(met["mentee_id"]) | set(met["mentor_id"])
    records = []
    for role in ("mentee", "mentor"):
        e = enr[enr["role"] == role]
        n_eligible = int(cohort.people[f"{role}_eligible"].sum())
        stages = [("eligible", n_eligible), ("applied", len(e)),
                  ("matched", int(e["employee_id"].isin(matched_ids).sum() if matched_ids else
                                  e["status"].isin(["matched", "active", "completed"]).sum())),
                  ("active", int(e["employee_id"].isin(active_ids).sum() if active_ids else
                                 e["status"].isin(["active", "completed"]).sum())),
                  ("completed", int((e["status"] == "completed").sum()))]
        previous = None
        for stage, count in stages:
            lo, hi = _wilson(count, n_eligible)
            records.append({"role": role, "stage": stage, "count": count,
                            "pct_of_previous": 100 * count / previous if previous else np.nan,
                            "pct_of_eligible": 100 * count / n_eligible if n_eligible else np.nan,
                            "ci_low": float(lo), "ci_high": float(hi)})
            previous = count
        records.append({"role": role, "stage": "withdrawn", "count": int((e["status"] == "withdrawn").sum()),
                        "pct_of_previous": np.nan,
                        "pct_of_eligible": 100 * (e["status"] == "withdrawn").sum() / n_eligible if n_eligible else np.nan,
                        "ci_low": np.nan, "ci_high": np.nan})
    return pd.DataFrame(records)


def matching_and_meetings(ds: Dataset, params) -> pd.DataFrame:
    """Per role: days from signup to match (median, quartiles), active match rate (matches with a
    meeting), meetings per month of the match and consistency (share of months with a meeting)."""
    m = ds.require("matches", "time to match").query("cohort_id == @params.cohort_id")
    enr = ds.enrollments[ds.enrollments["cohort_id"] == params.cohort_id].set_index(["employee_id", "role"])
    end = pd.Timestamp(_cohort_row(ds, params)["end_date"])
    meetings = ds.meetings[ds.meetings["match_id"].isin(m["match_id"])] if ds.has("meetings") else None
    stop = m["ended_date"].fillna(end).clip(upper=end) if "ended_date" in m else pd.Series(end, index=m.index)
    months = np.maximum((stop - m["matched_date"]).dt.days / 30.4375, 1.0)
    if meetings is not None:
        per_match = meetings.groupby("match_id").size().reindex(m["match_id"], fill_value=0).to_numpy()
        month_no = ((meetings["meeting_date"] - meetings["match_id"].map(m.set_index("match_id")["matched_date"])).dt.days // 30.4375)
        months_with = meetings.assign(k=month_no).drop_duplicates(["match_id", "k"]).groupby("match_id").size()
        months_with = months_with.reindex(m["match_id"], fill_value=0).to_numpy()
    else:
        per_match = months_with = np.zeros(len(m))
    records = []
    for role, id_col in (("mentee", "mentee_id"), ("mentor", "mentor_id")):
        keys = pd.MultiIndex.from_arrays([m[id_col], np.repeat(role, len(m))])
        signup = enr["signup_date"].reindex(keys).to_numpy()
        wait = (m["matched_date"].to_numpy() - signup) / np.timedelta64(1, "D")
        first_wait = pd.Series(wait).groupby(m[id_col].to_numpy()).min()  # a mentor's first match
        records.append({"role": role, "matches": int(len(m)),
                        "days_to_match_median": float(np.nanmedian(first_wait)) if len(first_wait) else np.nan,
                        "days_to_match_q1": float(np.nanpercentile(first_wait, 25)) if len(first_wait) else np.nan,
                        "days_to_match_q3": float(np.nanpercentile(first_wait, 75)) if len(first_wait) else np.nan,
                        "active_match_rate": 100 * float((per_match > 0).mean()) if len(m) else np.nan,
                        "meetings_per_month": float((per_match / months).mean()) if len(m) else np.nan,
                        "months_with_a_meeting": 100 * float(np.minimum(months_with / np.ceil(months), 1).mean()) if len(m) else np.nan})
    return pd.DataFrame(records)


def continuity(ds: Dataset, params) -> pd.DataFrame:
    """Mentors of this cohort who mentored in an earlier cohort or return in a later one, and this
    cohort's mentees who later became mentors."""
    enr = ds.enrollments.merge(ds.cohorts[["cohort_id", "start_date"]], on="cohort_id")
    start = pd.Timestamp(_cohort_row(ds, params)["start_date"])
    mine = enr[enr["cohort_id"] == params.cohort_id]
    mentors = set(mine.loc[mine["role"] == "mentor", "employee_id"])
    mentees = set(mine.loc[mine["role"] == "mentee", "employee_id"])
    earlier = enr[enr["start_date"] < start]
    later = enr[enr["start_date"] > start]
    return pd.DataFrame([
        {"measure": "mentors who mentored in an earlier cohort", "count": len(mentors & set(earlier.loc[earlier["role"] == "mentor", "employee_id"])), "of": len(mentors)},
        {"measure": "mentors who return in a later cohort", "count": len(mentors & set(later.loc[later["role"] == "mentor", "employee_id"])), "of": len(mentors)},
        {"measure": "mentees who later became mentors", "count": len(mentees & set(later.loc[later["role"] == "mentor", "employee_id"])), "of": len(mentees)},
    ]).assign(share=lambda t: 100 * t["count"] / t["of"].where(t["of"] > 0))


def representation(ds: Dataset, params, by: str = "department", role: str = "mentee") -> pd.DataFrame:
    """Each segment's share of the participants against its share of the eligible population at
    the start (percent, Wilson interval on the participants' share) and their ratio (1 = parity)."""
    from .cohorts import build

    people = build(ds, params).people
    if by not in people:
        raise ValueError(f"segment {by!r} is not available; use one of department, location, job_level, gender, ethnicity")
    elig = people[people[f"{role}_eligible"]]
    part = people[people["role"] == role]
    levels = sorted(set(elig[by].astype("str")) | set(part[by].astype("str")))
    e = elig[by].astype("str").value_counts().reindex(levels, fill_value=0)
    p = part[by].astype("str").value_counts().reindex(levels, fill_value=0)
    lo, hi = _wilson(p.to_numpy(), max(len(part), 1))
    out = pd.DataFrame({"segment": by, "level": levels, "eligible": e.to_numpy(), "participants": p.to_numpy(),
                        "share_of_eligible": 100 * e.to_numpy() / max(len(elig), 1),
                        "share_of_participants": 100 * p.to_numpy() / max(len(part), 1), "ci_low": lo, "ci_high": hi})
    out["representation_ratio"] = out["share_of_participants"] / out["share_of_eligible"].where(out["share_of_eligible"] > 0)
    return out


# ---------------------------------------------------------------- goals

SMART_FLAGS = ("smart_specific", "smart_measurable", "smart_achievable", "smart_relevant", "smart_time_bound")


def goals(ds: Dataset, params, by: str = "owner_role") -> pd.DataFrame:
    """Goals by level (program / mentor / mentee) or `by`: count, SMART completeness (all five flags,
    or a smart_score of 5), share due by the data's end that were achieved by their target date,
    share short-horizon, and alignment (linked to a program goal through parent_goal_id); percent."""
    g = ds.require("goals", "goal metrics").query("cohort_id == @params.cohort_id").copy()
    if g.empty:
        raise ValueError(f"no goals recorded for cohort {params.cohort_id}")
    flags = [f for f in SMART_FLAGS if f in g]
    if flags:
        g["smart"] = g[flags].fillna(False).astype(bool).all(axis=1)
    elif "smart_score" in g:
        g["smart"] = g["smart_score"] >= 5
    else:
        g["smart"] = np.nan
    data_end = effects_data_end(ds)
    due = g["target_date"] <= data_end
    g["due"] = due
    g["achieved_on_time"] = (g["status"] == "achieved") & g["achieved_date"].notna() & (g["achieved_date"] <= g["target_date"])
    program_goals = set(g.loc[g["owner_role"] == "program", "goal_id"])
    g["aligned"] = g["parent_goal_id"].isin(program_goals) if "parent_goal_id" in g else False
    out = g.groupby(by, observed=True).agg(goals=("goal_id", "size"), smart=("smart", "mean"), due=("due", "sum"),
                                           short=("horizon", lambda h: (h == "short").mean()), aligned=("aligned", "mean"))
    achieved = g[g["due"]].groupby(by, observed=True)["achieved_on_time"].agg(["sum", "size"])
    out["achieved_by_target"] = 100 * achieved["sum"] / achieved["size"]
    out[["smart", "short", "aligned"]] *= 100
    return out.rename(columns={"smart": "smart_complete_pct", "short": "short_horizon_pct", "aligned": "aligned_pct",
                               "achieved_by_target": "achieved_by_target_pct"}).reset_index()


def goals_per_participant(ds: Dataset, params) -> pd.DataFrame:
    """How many goals each participant set, by role: the distribution, and how many fall outside
    the recommended 2-3."""
    g = ds.require("goals", "goal metrics").query("cohort_id == @params.cohort_id and owner_role != 'program'")
    enr = ds.enrollments.query("cohort_id == @params.cohort_id")
    records = []
    for role in ("mentee", "mentor"):
        people = enr.loc[enr["role"] == role, "employee_id"]
        counts = g[g["owner_role"] == role].groupby("owner_id").size().reindex(people, fill_value=0)
        for k, n in counts.value_counts().sort_index().items():
            records.append({"role": role, "goals": int(k), "participants": int(n), "outside_2_3": not 2 <= k <= 3})
    return pd.DataFrame(records)


# ---------------------------------------------------------------- skills and satisfaction

def _segment_of(ds: Dataset, params, ids: pd.Series, by: str) -> pd.Series:
    """Each person's segment (department, location, job_level, gender, ethnicity...) at the cohort's start."""
    from .cohorts import build

    people = build(ds, params).people.set_index("employee_id")
    if by not in people:
        raise ValueError(f"segment {by!r} is not available; use one of department, location, job_level, gender, ethnicity")
    return ids.map(people[by].astype("str")).fillna("unknown")


def skills(ds: Dataset, params, instrument: str = "skills", by: str | None = None) -> pd.DataFrame:
    """Paired change in the mean item score from the baseline to the end wave, per participant role
    and view (self or manager), and per segment of the participant if `by` is given: mean change
    (points) with a t interval, and the standardized effect size (mean change / SD of changes)."""
    s = ds.require("surveys", "skills change").query("cohort_id == @params.cohort_id and instrument == @instrument")
    enr = ds.enrollments.query("cohort_id == @params.cohort_id").set_index("employee_id")["role"]
    s = s.assign(subject_role=s["subject_id"].map(enr), view=np.where(s["respondent_role"] == "manager", "manager", "self"),
                 segment=_segment_of(ds, params, s["subject_id"], by) if by else "")
    means = s.groupby(["subject_role", "view", "segment", "subject_id", "wave"], observed=True)["score"].mean().unstack("wave")
    records = []
    for (role, view, segment), g in means.groupby(level=["subject_role", "view", "segment"], observed=True):
        if not {"baseline", "end"} <= set(g.columns):
            continue
        change = (g["end"] - g["baseline"]).dropna().to_numpy()
        m, se, lo, hi = _mean_ci(change)
        sd = change.std(ddof=1) if change.size > 1 else np.nan
        records.append({"role": role, "view": view, **({by: segment} if by else {}), "pairs": int(change.size),
                        "baseline_mean": float(g["baseline"].mean()), "end_mean": float(g["end"].mean()), "change": m,
                        "std_error": se, "ci_low": lo, "ci_high": hi,
                        "effect_size": m / sd if sd and sd > 0 else np.nan})
    return pd.DataFrame(records)


def nps(scores: np.ndarray) -> tuple[float, float, float, float]:
    """Net promoter score (percent of 9-10 minus percent of 0-6) with its standard error and 95%
    interval from the multinomial variance."""
    x = np.asarray(scores, float)
    n = x.size
    pro, det = np.mean(x >= 9), np.mean(x <= 6)
    value = 100 * (pro - det)
    se = 100 * np.sqrt((pro + det - (pro - det) ** 2) / n) if n else np.nan
    return float(value), float(se), float(value - 1.959964 * se), float(value + 1.959964 * se)


def satisfaction(ds: Dataset, params, by: str | None = None) -> pd.DataFrame:
    """Per respondent role (mentee, mentor), and per segment of the respondent if `by` is given, at
    the end wave: mean satisfaction (1-5) with a t interval, NPS with its interval, and the share
    who would take part again (Wilson interval)."""
    s = ds.require("surveys", "satisfaction").query("cohort_id == @params.cohort_id and wave == 'end'")
    s = s.assign(segment=_segment_of(ds, params, s["respondent_id"], by) if by else "")
    records = []
    for (role, segment), r in s.groupby(["respondent_role", "segment"], observed=True):
        if role not in ("mentee", "mentor"):
            continue
        sat = r.loc[r["instrument"] == "satisfaction", "score"].to_numpy()
        rec = r.loc[r["instrument"] == "nps", "score"].to_numpy()
        again = r.loc[r["instrument"] == "participate_again", "score"].to_numpy()
        m, se, lo, hi = _mean_ci(sat)
        v, vse, vlo, vhi = nps(rec) if rec.size else (np.nan,) * 4
        alo, ahi = _wilson(again.sum(), again.size) if again.size else (np.nan, np.nan)
        records.append({"role": role, **({by: segment} if by else {}), "respondents": int(max(sat.size, rec.size)),
                        "satisfaction_mean": m, "satisfaction_ci_low": lo, "satisfaction_ci_high": hi, "nps": v,
                        "nps_std_error": vse, "nps_ci_low": vlo, "nps_ci_high": vhi,
                        "participate_again_pct": 100 * again.mean() if again.size else np.nan,
                        "participate_again_ci_low": float(alo), "participate_again_ci_high": float(ahi)})
    return pd.DataFrame(records)


def score_distribution(ds: Dataset, params, instrument: str = "nps") -> pd.DataFrame:
    """Count of each score of an instrument at the end wave, per respondent role."""
    s = ds.require("surveys", instrument).query("cohort_id == @params.cohort_id and wave == 'end' and instrument == @instrument")
    return s.groupby(["respondent_role", "score"]).size().rename("answers").reset_index()


# ---------------------------------------------------------------- performance and early warning

def performance(ds: Dataset, params, role: str = "mentee"):
    """Rating change of participants against matched comparisons: the last review in the year before
    the start against the first review at least 6 months after it, difference-in-differences with
    CEM weights and SEs clustered by employee (rating points). The matching leaves out the rating
    band: matching on the pre-period outcome would pair volunteers with people whose last rating was
    unusually high for them, and their regression to the mean would pass for an effect."""
    from .cohorts import build
    from .did import did_2x2

    reviews = ds.require("performance_reviews", "the rating change")
    cohort = build(ds, params)
    both, _ = cohort.matched(role, leave_out=("rating_band",))
    both = both[both["cem_weight"] > 0]
    start = cohort.start
    r = reviews[reviews["employee_id"].isin(both["employee_id"])]
    pre = r[(r["review_date"] < start) & (r["review_date"] >= start - pd.DateOffset(months=12))]
    pre = pre.sort_values("review_date").groupby("employee_id").last()
    post = r[r["review_date"] >= start + pd.DateOffset(months=6)].sort_values("review_date").groupby("employee_id").first()
    ids = pre.index.intersection(post.index)
    info = both.set_index("employee_id").loc[ids]
    rows = pd.concat([
        pd.DataFrame({"employee_id": ids, "rating": pre.loc[ids, "rating"].to_numpy(), "post": 0}),
        pd.DataFrame({"employee_id": ids, "rating": post.loc[ids, "rating"].to_numpy(), "post": 1}),
    ], ignore_index=True)
    rows["treated"] = rows["employee_id"].map(info["treated"]).astype(int)
    rows["weight"] = rows["employee_id"].map(info["cem_weight"]).astype(float)
    return did_2x2(rows, "rating", "treated", "post", weights="weight", cov_type="cluster", cluster="employee_id"), rows


def early_warning(ds: Dataset, params, weeks: int = 6, low_satisfaction: float = 2) -> pd.DataFrame:
    """Matches at risk at the program's midpoint: no meeting in the `weeks` before it, or a mid-survey
    satisfaction at or below `low_satisfaction` from either side. One row per match (analysts);
    stakeholders see the counts (early_warning_counts)."""
    row = _cohort_row(ds, params)
    mid = pd.Timestamp(row["start_date"]) + (pd.Timestamp(row["end_date"]) - pd.Timestamp(row["start_date"])) / 2
    m = ds.require("matches", "early warning").query("cohort_id == @params.cohort_id")
    live = m[(m["matched_date"] <= mid) & (m["ended_date"].isna() | (m["ended_date"] >= mid))] if "ended_date" in m else m
    last = pd.Series(pd.NaT, index=live["match_id"], dtype="datetime64[ns]")
    if ds.has("meetings"):
        met = ds.meetings[ds.meetings["match_id"].isin(live["match_id"]) & (ds.meetings["meeting_date"] <= mid)]
        last = met.groupby("match_id")["meeting_date"].max().reindex(live["match_id"])
    quiet = last.isna().to_numpy() | ((mid - last).dt.days.to_numpy() > 7 * weeks)
    low = np.zeros(len(live), dtype=bool)
    if ds.has("surveys"):
        s = ds.surveys.query("cohort_id == @params.cohort_id and wave == 'mid' and instrument == 'satisfaction'")
        unhappy = set(s.loc[s["score"] <= low_satisfaction, "respondent_id"])
        low = (live["mentee_id"].isin(unhappy) | live["mentor_id"].isin(unhappy)).to_numpy()
    out = live[["match_id", "mentor_id", "mentee_id"]].assign(
        last_meeting=last.to_numpy(), no_recent_meeting=quiet, low_mid_satisfaction=low, at_risk=quiet | low)
    return out.reset_index(drop=True)


def early_warning_counts(warnings: pd.DataFrame) -> pd.DataFrame:
    """The early-warning flags as counts (what stakeholders see)."""
    return pd.DataFrame([{"matches checked": len(warnings), "no meeting recently": int(warnings["no_recent_meeting"].sum()),
                          "low mid-program satisfaction": int(warnings["low_mid_satisfaction"].sum()),
                          "at risk (either)": int(warnings["at_risk"].sum())}])


def program_estimates(ds: Dataset, params) -> pd.DataFrame:
    """The effect-like figures of program health, as estimates-table rows (percent or points):
    skills_change (self view, paired pre/post), performance_rating (matched DiD), nps, signup_rate,
    match_rate and goal_attainment, for mentees and mentors."""
    from . import estimates as est

    cid = params.cohort_id
    rows = []
    f = funnel(ds, params).set_index(["role", "stage"])
    for role in ("mentee", "mentor"):
        eligible_n, applied, matched = (int(f.loc[(role, s), "count"]) for s in ("eligible", "applied", "matched"))
        if eligible_n:
            lo, hi = _wilson(applied, eligible_n)
            rows.append(est.row(cid, role, "signup_rate", "funnel", 100 * applied / eligible_n, None, (float(lo), float(hi)),
                                applied, eligible_n - applied, headline=True, note="enrolled / eligible at the start (percent)"))
        if applied:
            lo, hi = _wilson(matched, applied)
            rows.append(est.row(cid, role, "match_rate", "funnel", 100 * matched / applied, None, (float(lo), float(hi)),
                                matched, applied - matched, headline=True, note="matched / enrolled (percent)"))
    if ds.has("goals"):
        g = ds.goals.query("cohort_id == @cid")
        due = g[(g["target_date"] <= effects_data_end(ds)) & g["owner_role"].isin(["mentee", "mentor"])]
        on_time = (due["status"] == "achieved") & due["achieved_date"].notna() & (due["achieved_date"] <= due["target_date"])
        for role in ("mentee", "mentor"):
            k, n = int(on_time[due["owner_role"] == role].sum()), int((due["owner_role"] == role).sum())
            if n:
                lo, hi = _wilson(k, n)
                rows.append(est.row(cid, role, "goal_attainment", "goals", 100 * k / n, None, (float(lo), float(hi)), n, None,
                                    headline=True, note="goals achieved by their target date, of those due (percent)"))
    if ds.has("surveys"):
        for r in skills(ds, params).itertuples():
            rows.append(est.row(cid, r.role, "skills_change", "paired_prepost" if r.view == "self" else "paired_prepost_manager",
                                r.change, r.std_error, (r.ci_low, r.ci_high), r.pairs, None, headline=r.view == "self",
                                note=f"{r.view} view, end minus baseline (points, 1-5 scale); effect size {r.effect_size:.2f}"))
        for r in satisfaction(ds, params).itertuples():
            if np.isfinite(r.nps):
                rows.append(est.row(cid, r.role, "nps", "survey", r.nps, r.nps_std_error, (r.nps_ci_low, r.nps_ci_high),
                                    r.respondents, None, headline=True, note="% 9-10 minus % 0-6 at the end wave"))
    if ds.has("performance_reviews"):
        for role in ("mentee", "mentor"):
            try:
                d, data = performance(ds, params, role)
            except ValueError:
                continue
            n_t = int(data.loc[data["treated"] == 1, "employee_id"].nunique())
            rows.append(est.row(cid, role, "performance_rating", "did_matched", d.estimate, d.std_error, (d.ci_low, d.ci_high),
                                n_t, int(data["employee_id"].nunique()) - n_t, headline=True,
                                note="last review before vs first review 6+ months after the start, CEM weights (points)"))
    return est.frame(rows)


def plot_funnel(funnel_table: pd.DataFrame, ax=None):
    """Participation funnel per role: percent of the eligible at each stage."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    stages = ["eligible", "applied", "matched", "active", "completed"]
    t = funnel_table[funnel_table["stage"].isin(stages)]
    width = 0.38
    x = np.arange(len(stages))
    for i, (role, colour) in enumerate((("mentee", "#0072B2"), ("mentor", "#E69F00"))):
        r = t[t["role"] == role].set_index("stage").reindex(stages)
        ax.bar(x + (i - 0.5) * width, r["pct_of_eligible"], width, color=colour, label=f"{role}s")
    ax.set_xticks(x, stages)
    ax.set_ylabel("% of the eligible")
    ax.set_yscale("log")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_scores(distribution: pd.DataFrame, ax=None, xlabel: str = "score (0-10)"):
    """Distribution of survey scores per respondent role (percent of answers)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    for i, (role, colour) in enumerate((("mentee", "#0072B2"), ("mentor", "#E69F00"))):
        d = distribution[distribution["respondent_role"] == role]
        if d.empty:
            continue
        share = 100 * d["answers"] / d["answers"].sum()
        ax.bar(d["score"] + (i - 0.5) * 0.4, share, 0.4, color=colour, label=f"{role}s")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("% of answers")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
