"""The reader's names and number formats: every column, estimand, method and category a report
table shows has a name in words with its unit, and every number a format by kind (people as whole
numbers, rates and percentage points to one decimal, money with thousands separators, never
"-0.0"). Stakeholder tables go through `readable`; analysts also see the technical names."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

# kind -> decimals; "count" values are whole people (or rows), "pp" is signed.
DECIMALS = {"count": 0, "pct": 1, "pp": 1, "rate": 1, "score": 2, "ratio": 2, "money": 0, "days": 0, "p": 3,
            "level": 1, "rating": 0}

# column -> (reader's name with its unit, kind)
COLUMNS: dict[str, tuple[str, str]] = {
    # data overview
    "table": ("table", "text"), "rows": ("rows", "count"), "columns": ("columns", "count"),
    "first_date": ("first date", "date"), "last_date": ("last date", "date"),
    "check": ("check", "text"), "rows_affected": ("rows affected", "count"), "consequence": ("what it means", "text"),
    "examples": ("for example", "text"),
    "period": ("period", "text"), "headcount_start": ("headcount at the start", "count"), "hires": ("hires", "count"),
    "exits_voluntary": ("voluntary exits", "count"), "exits_involuntary": ("involuntary exits", "count"),
    "headcount_end": ("headcount at the end", "count"),
    # baseline
    "group": ("group", "text"), "average_headcount": ("average headcount", "count"),
    "separations": ("people who left", "count"),
    "turnover_rate": ("turnover (% per year)", "pct"),
    "voluntary_turnover_rate": ("voluntary turnover (% per year)", "pct"),
    "involuntary_turnover_rate": ("involuntary turnover (% per year)", "pct"),
    "promotion_rate": ("promoted (% per year)", "pct"), "internal_move_rate": ("moved department (% per year)", "pct"),
    "grade_change_rate": ("salary-grade change (% per year)", "pct"),
    "mean_engagement": ("mean engagement (1-5)", "score"),
    "rating": ("rating (1-5)", "rating"), "reviews": ("reviews", "count"), "share": ("share (%)", "pct"),
    # populations and the funnel
    "role": ("role", "text"), "stage": ("stage", "text"), "population": ("group of people", "text"),
    "count": ("people", "count"), "of": ("out of", "count"),
    "eligible": ("eligible", "count"), "enrolled": ("enrolled", "count"), "applied": ("applied", "count"),
    "matched": ("matched", "count"), "active": ("active", "count"), "completed": ("completed", "count"),
    "withdrawn": ("withdrawn", "count"),
    "pct_of_previous": ("% of the stage before", "pct"), "pct_of_eligible": ("% of the eligible", "pct"),
    # representation
    "participants": ("participants", "count"), "share_of_eligible": ("share of the eligible (%)", "pct"),
    "share_of_participants": ("share of participants (%)", "pct"),
    "representation_ratio": ("ratio to parity (1 = parity)", "ratio"),
    "p_value": ("p-value", "p"), "q_value": ("q-value (adjusted for the number of groups)", "p"),
    # matching, meetings, goals
    "matches": ("matches", "count"), "days_to_match_median": ("days to a match (median)", "days"),
    "days_to_match_q1": ("days to a match (quickest quarter)", "days"),
    "days_to_match_q3": ("days to a match (slowest quarter)", "days"),
    "active_match_rate": ("matches with a meeting (%)", "pct"), "meetings_per_month": ("meetings per month", "rate"),
    "months_with_a_meeting": ("months with a meeting (%)", "pct"),
    "owner_role": ("whose goals", "text"), "goals": ("goals", "count"), "due": ("due by now", "count"),
    "smart_complete_pct": ("fully specified (%)", "pct"), "short_horizon_pct": ("short-term (%)", "pct"),
    "aligned_pct": ("tied to a program goal (%)", "pct"),
    "achieved_by_target_pct": ("achieved by the target date (%)", "pct"),
    "outside_2_3": ("outside the recommended 2-3", "bool"),
    # skills and satisfaction
    "view": ("whose view", "text"), "pairs": ("people who answered both", "count"),
    "baseline_mean": ("at the start (mean, 1-5)", "score"), "end_mean": ("at the end (mean, 1-5)", "score"),
    "change": ("change (points)", "score"), "effect_size": ("change in standard deviations", "score"),
    "respondents": ("people who answered", "count"), "satisfaction_mean": ("satisfaction (mean, 1-5)", "score"),
    "nps": ("net promoter score", "level"), "participate_again_pct": ("would take part again (%)", "pct"),
    # programs pooled
    "program": ("program", "text"), "cohorts": ("cohorts", "count"), "effect_pp": ("effect (pp)", "pp"),
    # estimates
    "estimand": ("measure", "text"), "method": ("method", "text"), "design": ("design", "text"),
    "evidence": ("evidence", "text"), "estimate": ("estimate", "level"), "measure": ("measure", "text"),
    "n_treated": ("participants", "count"), "n_control": ("comparison", "count"),
    # scorecard
    "metric": ("measure", "text"), "kind": ("kind of goal", "text"), "description": ("goal", "text"),
    "baseline": ("baseline", "level"), "target": ("target", "level"), "deadline": ("deadline", "date"),
    "direction": ("direction", "text"), "value": ("now", "level"), "expected_now": ("on track at", "level"),
    "status": ("status", "text"), "department": ("department", "text"), "gender": ("gender", "text"),
    "location": ("location", "text"), "job_level": ("job level", "text"), "ethnicity": ("ethnicity", "text"),
    # applicants' arms and overlap
    "arm": ("group", "text"), "applicants": ("applicants", "count"), "analysed": ("analysed", "count"),
    "people": ("people", "count"), "lowest": ("lowest", "ratio"), "median": ("median", "ratio"),
    "highest": ("highest", "ratio"), "5%": ("5th percentile", "ratio"), "95%": ("95th percentile", "ratio"),
    "25%": ("25th percentile", "ratio"), "75%": ("75th percentile", "ratio"), "mean": ("mean", "ratio"),
}

# columns the stakeholder pages leave out (the interval already says how sure the figure is)
ANALYST_ONLY = {"std_error", "nps_std_error", "segment", "headline", "file"}

# estimand -> its name in words
ESTIMANDS = {
    "retention_12m": "still employed 12 months after the start (pp)",
    "voluntary_exit_12m": "left voluntarily within 12 months (pp)",
    "exit_12m": "left for any reason within 12 months (pp)",
    "exit_rate": "voluntary exits per period (pp)",
    "exit_hazard_ratio": "rate of leaving, relative (1 = the same)",
    "promotion_12m": "promoted within 12 months (pp)",
    "salary_grade_12m": "salary-grade change within 12 months (pp)",
    "skills_change": "self-rated skills, start to end (points, 1-5)",
    "performance_rating": "performance rating (points, 1-5)",
    "nps": "net promoter score", "signup_rate": "eligible people who signed up (%)",
    "match_rate": "signed up and matched (%)", "goal_attainment": "goals achieved by the target date (%)",
    "satisfaction": "satisfaction (mean, 1-5)", "roi": "return on investment (%)",
    "program_cost": "program cost", "net_benefit": "net benefit", "break_even_cut": "cut in exits that pays back (pp)",
    "prob_pays_back": "chance it paid back (%)", "exit_cut": "cut in 12-month exits (pp)",
}

# category values -> words (methods, stages, roles, tables, checks, scopes, kinds)
CATEGORIES = {
    "naive": "naive: participants vs everyone else",
    "itt_did": "whole eligible group vs comparison departments",
    "tot_wald": "effect on participants (department comparison)",
    "km_matched": "matched: still employed",
    "aj_matched": "matched: left voluntarily",
    "placebo_itt": "check: the same comparison a year before the start",
    "cox_matched": "matched: relative rate of leaving",
    "did_matched": "matched: change against matched colleagues",
    "cs_att": "staggered rollout: departments reached against those not yet reached",
    "itt_offer": "effect of being offered a place (lottery)",
    "tot_iv": "effect on participants (lottery)",
    "tot_dr": "effect on participants (matched vs unmatched applicants)",
    "paired_prepost": "before and after, self view",
    "paired_prepost_manager": "before and after, manager's view",
    "funnel": "participation counts", "mentor_time": "mentor time", "survey": "survey",
    "goals": "goal records", "roi_median_pct": "return at the estimate",
    "this_cohort": "this cohort", "pooled_so_far": "pooled so far", "next_lottery": "next cohort's lottery",
    "job_history": "job history", "performance_reviews": "performance reviews",
    "engagement_surveys": "engagement surveys",
    "program_costs": "program costs", "mentee": "mentees", "mentor": "mentors", "program": "the program's own",
    "self": "self", "manager": "manager",
    "level": "level", "effect": "effect", "job_level": "job level", "department": "department",
    "randomized": "randomized", "quasi_experimental": "quasi-experimental", "observational": "observational",
    "descriptive": "descriptive",
}
DESIGNS = {"lottery": "lottery", "capacity": "matched vs unmatched applicants", "rollout": "department rollout",
           "waitlist": "waitlist", "observational": "matched colleagues", "naive": "platform comparison",
           "descriptive": "description", "": ""}

# matching and balance covariates -> words
COVARIATES = {"job_level": "job level", "tenure_months": "tenure (months)", "last_rating": "last performance rating",
              "last_engagement": "last engagement score", "promoted_before": "promoted in the year before",
              "department": "department", "location": "location", "gender": "gender", "ethnicity": "ethnicity",
              "salary_grade": "salary grade", "annual_salary": "annual salary", "tenure_band": "tenure band",
              "rating_band": "rating band", "engagement_band": "engagement band"}

_IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def words(value) -> str:
    """A category, method, estimand or table name in words (a snake_case name never reaches a reader)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    if text in ESTIMANDS:
        return ESTIMANDS[text]
    if text in CATEGORIES:
        return CATEGORIES[text]
    if _IDENTIFIER.fullmatch(text):
        return text.replace("_", " ")
    return text


def covariate(name: str) -> str:
    """A matching covariate or balance term in words ('department: Engineering' for
    'department=Engineering')."""
    base, _, value = str(name).partition("=")
    text = COVARIATES.get(base, base.replace("_", " "))
    return f"{text}: {value}" if value else text


def measure(estimand: str, unit: str = "") -> str:
    """An estimand in words with its period when its unit has one ('pp per quarter')."""
    text = words(estimand)
    per = re.search(r"per (month|quarter|year)", unit or "")
    return text.replace("per period", per.group(0)) if per else text


def column(name: str) -> str:
    """A column's reader's name (its unit included)."""
    return COLUMNS.get(name, (name.replace("_", " "), ""))[0]


def number(value, kind: str = "level", decimals: int | None = None) -> str:
    """One number as readers see it: people whole with thousands separators, rates and pp to one
    decimal (pp signed), never "-0.0"; a dash for a missing value."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "\u2014"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    d = DECIMALS.get(kind, 1) if decimals is None else decimals
    if kind == "rating" and float(value) != round(float(value)):
        d = 1
    v = float(value)
    if round(v, d) == 0:
        v = 0.0
    sign = "+" if kind == "pp" else ""
    return f"{v:{sign},.{d}f}"


def interval(low, high, kind: str = "level", decimals: int | None = None) -> str:
    """'a to b' for an interval (one line in a table cell), or an empty string when it is missing."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return f"{number(low, kind, decimals)} to {number(high, kind, decimals)}"


def kind_of(name: str, series: pd.Series) -> str:
    """How a column's numbers are formatted: from the dictionary, else by its dtype."""
    if name in COLUMNS:
        return COLUMNS[name][1]
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "count"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_numeric_dtype(series):
        return "level"
    return "text"


def readable(frame: pd.DataFrame, stakeholder: bool = True) -> tuple[pd.DataFrame, dict[str, str]]:
    """A table in readers' terms: interval pairs (X_ci_low, X_ci_high) joined into one 'interval'
    column, booleans as yes/no, categories in words,
    columns renamed; returns the frame (numbers still numbers) and each shown column's kind."""
    t = frame.copy()
    kinds: dict[str, str] = {}
    columns: dict[str, pd.Series] = {}
    skip = set()
    for c in t.columns:
        if c in skip or (stakeholder and c in ANALYST_ONLY):
            continue
        if c.endswith("ci_low") and c.replace("ci_low", "ci_high") in t:
            high = c.replace("ci_low", "ci_high")
            skip.add(high)
            base = c.removesuffix("ci_low").rstrip("_")
            base_kind = kind_of(*_measured(t, base, c))
            name = "interval" if not base else f"{column(base).split(' (')[0]}: interval"
            columns[name] = pd.Series([interval(lo, hi, base_kind) for lo, hi in zip(t[c], t[high], strict=True)],
                                      index=t.index, dtype="str")
            kinds[name] = "interval"
            continue
        kind = kind_of(c, t[c])
        values = t[c]
        if kind == "bool" or pd.api.types.is_bool_dtype(values):
            values = values.map(lambda v: "" if pd.isna(v) else ("yes" if v else "no")).astype("str")
            kind = "text"
        elif kind not in ("text", "date") and not pd.api.types.is_numeric_dtype(values):
            kind = "formatted"  # numbers already written as text by the caller
        elif kind == "text" or (not pd.api.types.is_numeric_dtype(values) and kind != "date"):
            values = values.map(_designs if c == "design" else words if stakeholder or c != "method" else technical)
            values = values.astype("str")
            kind = "text"
        name = column(c)
        name = name if name not in columns else f"{name} ({c.replace('_', ' ')})"
        columns[name] = values
        kinds[name] = kind
    return pd.DataFrame(columns, index=t.index), kinds


def _measured(t: pd.DataFrame, base: str, low: str) -> tuple[str, pd.Series]:
    """The column an interval belongs to: `base` itself, else `base_<something>` (a mean, a
    percentage), else the column just before the interval."""
    if base in t:
        return base, t[base]
    named = [c for c in t.columns if base and c.startswith(base + "_") and not re.search(r"ci_(low|high)|std_error", c)]
    if named:
        return named[0], t[named[0]]
    before = list(t.columns)[max(list(t.columns).index(low) - 1, 0)]
    return before, t[before]


def _designs(value) -> str:
    return DESIGNS.get(str(value), words(value))


def technical(value) -> str:
    """A method in words with its technical name after it (analyst reports)."""
    text = words(value)
    return f"{text} [{value}]" if text != str(value) else text
