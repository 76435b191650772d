"""How the program ran: the participation funnel, representation, matching and meetings,
continuity of mentors, goals, skills change, satisfaction and NPS, performance ratings against
matched colleagues, and the mid-program early warning. Percentages are percent; intervals 95%."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from . import applicants, populations
from . import estimates as est
from .cohorts import Role
from .did import did_2x2
from .did.regression import DiDEstimate
from .errors import NotEstimable
from .estimates import Estimates
from .intervals import mean_interval, wilson

if TYPE_CHECKING:
    from .study import Study


def funnel(study: Study) -> pd.DataFrame:
    """Eligible -> enrolled -> matched -> active -> completed, per role (the counts of
    `populations`, the same every page prints): counts, percent of the previous stage and of the
    eligible (Wilson intervals); withdrawn last. `withheld` marks the counts this audience may not
    read (`populations.published`), which no chart or rate may give back."""
    found = populations.counts(study).set_index("role")
    public = populations.published(study).set_index("role")
    records = []
    for role in populations.ROLES:
        n_eligible = int(found.loc[role, "eligible"])
        previous = None
        for stage in populations.POPULATIONS:
            count = int(found.loc[role, stage])
            lo, hi = wilson(count, n_eligible) if stage != "withdrawn" else (np.nan, np.nan)
            records.append({"role": role, "stage": stage, "count": count,
                            "pct_of_previous": 100 * count / previous if previous and stage != "withdrawn" else np.nan,
                            "pct_of_eligible": 100 * count / n_eligible if n_eligible else np.nan,
                            "ci_low": float(lo), "ci_high": float(hi),
                            "withheld": bool(pd.isna(public.loc[role, stage]))})
            previous = count
    return pd.DataFrame(records)


def matching_and_meetings(study: Study) -> pd.DataFrame:
    """Per role: days from signup to match (median, quartiles), active match rate (matches with a
    meeting), meetings per month of the match and consistency (share of months with a meeting)."""
    ds, params = study.dataset, study.params
    m = ds.require("matches", "time to match").query("cohort_id == @params.cohort_id")
    enr = ds.enrollments[ds.enrollments["cohort_id"] == params.cohort_id].set_index(["employee_id", "role"])
    end = study.info.end
    meetings = ds.meetings[ds.meetings["match_id"].isin(m["match_id"])] if ds.has("meetings") else None
    stop = m["ended_date"].fillna(end).clip(upper=end)
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


def continuity(study: Study) -> pd.DataFrame:
    """Mentors of this cohort who mentored in an earlier cohort or return in a later one, and this
    cohort's mentees who later became mentors."""
    ds, params = study.dataset, study.params
    enr = ds.enrollments.merge(ds.cohorts[["cohort_id", "start_date"]], on="cohort_id")
    start = study.start
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


def representation(study: Study, by: str = "department", role: Role = "mentee") -> pd.DataFrame:
    """Each segment's share of the participants against its share of the eligible population at
    the start (percent, Wilson interval on the participants' share), their ratio (1 = parity), and
    the p-value of parity with its Benjamini-Hochberg q-value across the segments."""
    people = study.cohort.people
    if by not in people:
        raise ValueError(f"segment {by!r} is not available; use one of department, location, job_level, gender, ethnicity")
    elig = people[people[f"{role}_eligible"]]
    part = people[people["role"] == role]
    levels = sorted(set(elig[by].astype("str")) | set(part[by].astype("str")))
    e = elig[by].astype("str").value_counts().reindex(levels, fill_value=0)
    p = part[by].astype("str").value_counts().reindex(levels, fill_value=0)
    lo, hi = wilson(p.to_numpy(), max(len(part), 1))
    out = pd.DataFrame({by: levels, "eligible": e.to_numpy(), "participants": p.to_numpy(),
                        "share_of_eligible": 100 * e.to_numpy() / max(len(elig), 1),
                        "share_of_participants": 100 * p.to_numpy() / max(len(part), 1), "ci_low": lo, "ci_high": hi})
    out["representation_ratio"] = out["share_of_participants"] / out["share_of_eligible"].where(out["share_of_eligible"] > 0)
    # is the segment's share of participants different from its share of the eligible? exact binomial
    # test per segment, Benjamini-Hochberg across the segments (a table of many segments has chance gaps)
    n = len(part)
    out["p_value"] = [stats.binomtest(int(k), n, share / 100).pvalue if n and 0 < share < 100 else np.nan
                      for k, share in zip(out["participants"], out["share_of_eligible"], strict=True)]
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(float))
    return out


# ---------------------------------------------------------------- goals

SMART_FLAGS = ("smart_specific", "smart_measurable", "smart_achievable", "smart_relevant", "smart_time_bound")


def goals(study: Study, by: str = "owner_role") -> pd.DataFrame:
    """Goals by level (program / mentor / mentee) or `by`: count, SMART completeness (all five flags,
    or a smart_score of 5), share due by the data's end that were achieved by their target date,
    share short-horizon, and alignment (linked to a program goal through parent_goal_id); percent."""
    ds, params = study.dataset, study.params
    g = ds.require("goals", "goal metrics").query("cohort_id == @params.cohort_id").copy()
    if g.empty:
        raise NotEstimable(f"no goals recorded for cohort {params.cohort_id}")
    flags = [f for f in SMART_FLAGS if ds.has_values("goals", f)]
    if flags:
        g["smart"] = g[flags].fillna(False).astype(bool).all(axis=1)
    elif ds.has_values("goals", "smart_score"):
        g["smart"] = g["smart_score"] >= 5
    else:
        g["smart"] = np.nan
    due = g["target_date"] <= ds.end
    g["due"] = due
    g["achieved_on_time"] = (g["status"] == "achieved") & g["achieved_date"].notna() & (g["achieved_date"] <= g["target_date"])
    program_goals = set(g.loc[g["owner_role"] == "program", "goal_id"])
    g["aligned"] = g["parent_goal_id"].isin(program_goals)
    out = g.groupby(by, observed=True).agg(goals=("goal_id", "size"), smart=("smart", "mean"), due=("due", "sum"),
                                           short=("horizon", lambda h: (h == "short").mean()), aligned=("aligned", "mean"))
    achieved = g[g["due"]].groupby(by, observed=True)["achieved_on_time"].agg(["sum", "size"])
    out["achieved_by_target"] = 100 * achieved["sum"] / achieved["size"]
    out[["smart", "short", "aligned"]] *= 100
    return out.rename(columns={"smart": "smart_complete_pct", "short": "short_horizon_pct", "aligned": "aligned_pct",
                               "achieved_by_target": "achieved_by_target_pct"}).reset_index()


def goals_per_participant(study: Study) -> pd.DataFrame:
    """How many goals each participant set, by role: the distribution, and how many fall outside
    the recommended 2-3."""
    ds, params = study.dataset, study.params
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

def _segment_of(study: Study, ids: pd.Series, by: str) -> pd.Series:
    """Each person's segment (department, location, job_level, gender, ethnicity...) at the cohort's start."""
    people = study.cohort.people.set_index("employee_id")
    if by not in people:
        raise ValueError(f"segment {by!r} is not available; use one of department, location, job_level, gender, ethnicity")
    return ids.map(people[by].astype("str")).fillna("unknown")


def skills(study: Study, instrument: str = "skills", by: str | None = None) -> pd.DataFrame:
    """Paired change in the mean item score from the baseline to the end wave, per participant role
    and view (self or manager), and per segment of the participant if `by` is given: mean change
    (points) with a t interval, the standardized effect size (mean change / SD of changes) and the
    p-value of no change; by segment, also Benjamini-Hochberg q-values across the segments, since
    with many segments some look different by chance alone."""
    ds, params = study.dataset, study.params
    s = ds.require("surveys", "skills change").query("cohort_id == @params.cohort_id and instrument == @instrument")
    enr = ds.enrollments.query("cohort_id == @params.cohort_id").set_index("employee_id")["role"]
    s = s.assign(subject_role=s["subject_id"].map(enr), view=np.where(s["respondent_role"] == "manager", "manager", "self"),
                 segment=_segment_of(study, s["subject_id"], by) if by else "")
    means = s.groupby(["subject_role", "view", "segment", "subject_id", "wave"], observed=True)["score"].mean().unstack("wave")
    records = []
    for (role, view, segment), g in means.groupby(level=["subject_role", "view", "segment"], observed=True):
        if not {"baseline", "end"} <= set(g.columns):
            continue
        change = (g["end"] - g["baseline"]).dropna().to_numpy()
        m, se, lo, hi = mean_interval(change)
        sd = change.std(ddof=1) if change.size > 1 else np.nan
        records.append({"role": role, "view": view, **({by: segment} if by else {}), "pairs": int(change.size),
                        "baseline_mean": float(g["baseline"].mean()), "end_mean": float(g["end"].mean()), "change": m,
                        "std_error": se, "ci_low": lo, "ci_high": hi,
                        "effect_size": m / sd if sd and sd > 0 else np.nan,
                        "p_value": float(2 * stats.t(change.size - 1).sf(abs(m / se))) if se and se > 0 else np.nan})
    out = pd.DataFrame(records)
    if by and len(out):
        out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy(float))
    return out


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values, statsmodels) for a table of segment tests:
    a segment is a finding at false-discovery rate 5% when q <= 0.05. Missing p-values stay missing."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, float)
    q = np.full(p.size, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


def nps(scores: np.ndarray) -> tuple[float, float, float, float]:
    """Net promoter score (percent of 9-10 minus percent of 0-6) with its standard error and 95%
    interval from the multinomial variance."""
    x = np.asarray(scores, float)
    n = x.size
    pro, det = np.mean(x >= 9), np.mean(x <= 6)
    value = 100 * (pro - det)
    se = 100 * np.sqrt((pro + det - (pro - det) ** 2) / n) if n else np.nan
    z = stats.norm.ppf(0.975)
    return float(value), float(se), float(value - z * se), float(value + z * se)


def satisfaction(study: Study, by: str | None = None) -> pd.DataFrame:
    """Per respondent role (mentee, mentor), and per segment of the respondent if `by` is given, at
    the end wave: mean satisfaction (1-5) with a t interval, NPS with its interval, and the share
    who would take part again (Wilson interval)."""
    params = study.params
    s = study.dataset.require("surveys", "satisfaction").query("cohort_id == @params.cohort_id and wave == 'end'")
    s = s.assign(segment=_segment_of(study, s["respondent_id"], by) if by else "")
    records = []
    for (role, segment), r in s.groupby(["respondent_role", "segment"], observed=True):
        if role not in ("mentee", "mentor"):
            continue
        sat = r.loc[r["instrument"] == "satisfaction", "score"].to_numpy()
        rec = r.loc[r["instrument"] == "nps", "score"].to_numpy()
        again = r.loc[r["instrument"] == "participate_again", "score"].to_numpy()
        m, se, lo, hi = mean_interval(sat)
        v, vse, vlo, vhi = nps(rec) if rec.size else (np.nan,) * 4
        alo, ahi = wilson(again.sum(), again.size) if again.size else (np.nan, np.nan)
        records.append({"role": role, **({by: segment} if by else {}), "respondents": int(max(sat.size, rec.size)),
                        "satisfaction_mean": m, "satisfaction_ci_low": lo, "satisfaction_ci_high": hi, "nps": v,
                        "nps_std_error": vse, "nps_ci_low": vlo, "nps_ci_high": vhi,
                        "participate_again_pct": 100 * again.mean() if again.size else np.nan,
                        "participate_again_ci_low": float(alo), "participate_again_ci_high": float(ahi)})
    return pd.DataFrame(records)


def score_distribution(study: Study, instrument: str = "nps") -> pd.DataFrame:
    """Count of each score of an instrument at the end wave, per respondent role."""
    ds, params = study.dataset, study.params
    s = ds.require("surveys", f"the distribution of {instrument} scores").query(
        "cohort_id == @params.cohort_id and wave == 'end' and instrument == @instrument")
    return s.groupby(["respondent_role", "score"]).size().rename("answers").reset_index()


# ---------------------------------------------------------------- performance and early warning

def performance(study: Study, role: Role = "mentee") -> tuple[DiDEstimate, pd.DataFrame]:
    """Rating change of participants against matched comparisons: the last review in the year before
    the start against the first review at least 6 months after it, difference-in-differences with
    CEM weights and SEs clustered by employee (rating points). The matching leaves out the rating
    band: matching on the pre-period outcome would pair volunteers with people whose last rating was
    unusually high for them, and their regression to the mean would pass for an effect."""
    reviews = study.dataset.require("performance_reviews", "the rating change")
    cohort = study.cohort
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


def early_warning(study: Study, weeks: int = 6, low_satisfaction: float = 2) -> pd.DataFrame:
    """Matches at risk at the program's midpoint: no meeting in the `weeks` before it, or a mid-survey
    satisfaction at or below `low_satisfaction` from either side. One row per match (analysts);
    stakeholders see the counts (early_warning_counts)."""
    ds, params = study.dataset, study.params
    mid = study.start + (study.info.end - study.start) / 2
    m = ds.require("matches", "early warning").query("cohort_id == @params.cohort_id")
    live = m[(m["matched_date"] <= mid) & (m["ended_date"].isna() | (m["ended_date"] >= mid))]
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


@dataclass(frozen=True)
class ProgramHealth:
    """The effect-like figures of program health for mentees and mentors: signup_rate and
    match_rate (funnel), goal_attainment, skills_change (paired pre/post, self and manager view),
    nps and performance_rating (matched DiD); percent or points."""

    cohort_id: str
    estimates: Estimates = field(default_factory=Estimates, repr=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.estimates.to_frame()

    def summary(self) -> str:
        return "\n".join(e.summary() for e in self.estimates)


def analyze(study: Study) -> ProgramHealth:
    """Program health's estimates (computed once per study)."""
    return study.result(("program_health",), lambda: _analyze(study))


def _analyze(study: Study) -> ProgramHealth:
    ds = study.dataset
    cid = study.cohort_id
    rows, notes = [], []

    def row(role: str, estimand: str, method: str, value: float, design: str, unit: str, **kw) -> est.Estimate:
        return est.make(cohort_id=cid, role=role, estimand=estimand, method=method, estimate=value, design=design,
                        unit=unit, **kw)

    f = funnel(study).set_index(["role", "stage"])
    for role in ("mentee", "mentor"):
        eligible_n, applied, matched = (int(f.loc[(role, s), "count"]) for s in ("eligible", "enrolled", "matched"))
        if eligible_n:
            lo, hi = wilson(applied, eligible_n)
            rows.append(row(role, "signup_rate", "funnel", 100 * applied / eligible_n, "descriptive", "percent",
                            ci=(float(lo), float(hi)), n_treated=applied, n_control=eligible_n - applied, headline=True,
                            note="enrolled / eligible at the start (percent)"))
        if applied:
            lo, hi = wilson(matched, applied)
            rows.append(row(role, "match_rate", "funnel", 100 * matched / applied, "descriptive", "percent",
                            ci=(float(lo), float(hi)), n_treated=matched, n_control=applied - matched, headline=True,
                            note="matched / enrolled (percent)"))
    if ds.has("goals"):
        g = ds.goals.query("cohort_id == @cid")
        due = g[(g["target_date"] <= ds.end) & g["owner_role"].isin(["mentee", "mentor"])]
        on_time = (due["status"] == "achieved") & due["achieved_date"].notna() & (due["achieved_date"] <= due["target_date"])
        for role in ("mentee", "mentor"):
            k, n = int(on_time[due["owner_role"] == role].sum()), int((due["owner_role"] == role).sum())
            if n:
                lo, hi = wilson(k, n)
                rows.append(row(role, "goal_attainment", "goals", 100 * k / n, "descriptive", "percent",
                                ci=(float(lo), float(hi)), n_treated=n, headline=True,
                                note="goals achieved by their target date, of those due (percent)"))
    if ds.has("surveys"):
        for r in skills(study).itertuples():
            rows.append(row(r.role, "skills_change", "paired_prepost" if r.view == "self" else "paired_prepost_manager",
                            r.change, "descriptive", "points (1-5 scale)", std_error=r.std_error, ci=(r.ci_low, r.ci_high),
                            n_treated=r.pairs, headline=r.view == "self",
                            note=f"{r.view} view, end minus baseline (points, 1-5 scale); effect size {r.effect_size:.2f}"))
        for r in satisfaction(study).itertuples():
            if np.isfinite(r.nps):
                rows.append(row(r.role, "nps", "survey", r.nps, "descriptive", "NPS points (-100 to 100)",
                                std_error=r.nps_std_error, ci=(r.nps_ci_low, r.nps_ci_high), n_treated=r.respondents,
                                headline=True, note="% 9-10 minus % 0-6 at the end wave"))
    if ds.has("performance_reviews"):
        for role in ("mentee", "mentor"):
            try:
                d, data = performance(study, role)
            except NotEstimable as exc:
                notes.append(f"Performance rating ({role}s) not available: {exc}")
                continue
            n_t = int(data.loc[data["treated"] == 1, "employee_id"].nunique())
            rows.append(row(role, "performance_rating", "did_matched", d.estimate, "observational", "rating points (1-5)",
                            std_error=d.std_error, ci=(d.ci_low, d.ci_high), n_treated=n_t,
                            n_control=int(data["employee_id"].nunique()) - n_t,
                            headline=applicants.available(study, role) is None,  # else the applicant design leads
                            note="last review before vs first review 6+ months after the start, CEM weights (points)"))
    return ProgramHealth(cid, Estimates(rows), tuple(notes))
