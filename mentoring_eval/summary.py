"""The one-page executive summary of a cohort: headline findings with their intervals and the
naive figures beside them, the scorecard, the ROI range, what the data cannot tell yet, and next
steps. Everything is recomputed through the same package calls (seeded) as the detailed
notebooks, so the summary and the detail cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import cohorts, estimates, metrics, promotion, retention, roi, scorecard
from .data import Dataset

LABELS = {"retention_12m": "still employed 12 months after the start (pp)",
          "exit_rate": "voluntary exits per month (pp)",
          "promotion_12m": "promoted within 12 months (pp)",
          "salary_grade_12m": "salary-grade change within 12 months (pp)",
          "skills_change": "self-rated skills, baseline to end (points)",
          "performance_rating": "performance rating vs matched colleagues (points)",
          "nps": "net promoter score", "roi": "return on investment (%)"}


@dataclass(frozen=True)
class Summary:
    cohort_id: str
    text: str
    headlines: pd.DataFrame = field(repr=False)  # measure, naive, honest estimate, interval
    scorecard: pd.DataFrame = field(repr=False)
    estimates: pd.DataFrame = field(repr=False)  # every row the detailed notebooks write

    def to_frame(self) -> pd.DataFrame:
        return self.headlines.copy()

    def summary(self) -> str:
        return self.text


def headline_table(table: pd.DataFrame, role: str = "mentee") -> pd.DataFrame:
    """Naive figure beside the headline estimate and its interval, for the measures executives read."""
    rows = []
    for estimand, label in LABELS.items():
        e = table[(table["role"] == role) & (table["estimand"] == estimand)]
        head = e[e["headline"]]
        if head.empty:
            continue
        h = head.iloc[0]
        naive = e[e["method"] == "naive"]
        lo, hi = h["ci_low"], h["ci_high"]
        rows.append({"measure": label, "naive figure": float(naive["estimate"].iloc[0]) if len(naive) else np.nan,
                     "honest estimate": float(h["estimate"]),
                     "interval": f"{lo:+.1f} to {hi:+.1f}" if pd.notna(lo) else "",
                     "includes zero": "yes" if pd.notna(lo) and lo <= 0 <= hi else ("no" if pd.notna(lo) else "")})
    return pd.DataFrame(rows)


def build(ds: Dataset, params) -> Summary:
    """Run every analysis of the cohort and write its one page."""
    cohort = cohorts.build(ds, params)
    ret = retention.analyze(ds, cohort, "mentee")
    pro = promotion.analyze(ds, cohort, "mentee")
    health = metrics.program_estimates(ds, params)
    parts = [ret.to_frame(), pro.to_frame(), health]
    money = None
    try:
        money = roi.analyze(ds, params, ret.to_frame())
        parts.append(money.to_frame())
    except ValueError:
        pass
    table = estimates.combine(*parts)
    card = scorecard.build(ds, params)
    heads = headline_table(table)
    lines = [f"## {cohort.name}"]
    unclear = " The interval includes zero: the data cannot tell this from no effect."
    retention_ci = ret.headline("retention_12m") if ret.retention_tot is not None else None
    lines.append("**What we can say.** " + ret.findings().split("\n\n")[0].replace("**Effect on mentees:** ", "")
                 + (unclear if retention_ci is not None and retention_ci["ci_low"] <= 0 <= retention_ci["ci_high"] else ""))
    lines.append(pro.findings().split("\n\n")[0].replace("**Effect on mentees:** an", "Mentees were an")
                 + (unclear if pro.tot is not None and pro.tot.ci_low <= 0 <= pro.tot.ci_high else ""))
    lines.append(f"The platforms' figures, for comparison: mentees stayed {ret.naive['rate_participants']:.0f}% vs "
                 f"{ret.naive['rate_others']:.0f}% and were promoted {pro.naive['ratio']:.1f} times as often as everyone "
                 f"else; most of that gap is who volunteers, not what mentoring did.")
    if money is not None:
        lines.append(f"**Money:** the cohort cost {money.cost:,.0f}; ROI {100 * money.roi_median:+.0f}% (90% interval "
                     f"{100 * money.roi_low:+.0f}% to {100 * money.roi_high:+.0f}%), break-even at "
                     f"+{money.break_even_effect:.1f} points of 12-month retention; naive ROI {100 * money.naive_roi:+.0f}%.")
    lines.append("**What the data cannot tell yet.** " + _power_text(ret))
    lines.append("**Next steps.** " + " ".join(_next_steps(ret, health, card.table)))
    return Summary(params.cohort_id, "\n\n".join(lines), heads, card.table, table)


def _power_text(ret) -> str:
    from .report import retention_power_sentence

    return retention_power_sentence(ret)


def _next_steps(ret, health: pd.DataFrame, card: pd.DataFrame) -> list[str]:
    steps = []
    tot = ret.retention_tot
    if tot is None or tot.ci_low <= 0 <= tot.ci_high:
        steps.append("Judge retention across cohorts pooled (the staggered-rollout estimate) rather than cohort by "
                     "cohort, and raise participation: the effect on participants is diluted by the share who take part.")
    signup = health[(health["estimand"] == "signup_rate") & (health["role"] == "mentee")]
    if len(signup) and signup["estimate"].iloc[0] < 20:
        steps.append(f"Only {signup['estimate'].iloc[0]:.0f}% of eligible mentees signed up: widen outreach where "
                     "representation is lowest (see program health).")
    if (card["status"] == "off track").any():
        steps.append("Review the goals marked off track in the scorecard.")
    if card["status"].str.startswith("not SMART").any():
        steps.append("Give every program goal a baseline, a target and a deadline so it can be scored.")
    return steps or ["Keep the program running and measure the next cohort the same way."]


def across_cohorts(params_files, data_dir=None) -> pd.DataFrame:
    """Headline and naive estimates of every cohort side by side (mentees): one row per cohort,
    estimand and method, with the cohort's start date. Data sets shared by cohorts load once."""
    from pathlib import Path

    from .data import load
    from .params import check_against, load_params

    loaded: dict = {}
    rows = []
    for pf in sorted(map(Path, params_files)):
        params = load_params(pf, data_dir=data_dir)
        ds = loaded.setdefault(params.data_dir, load(params.data_dir))
        check_against(params, ds, pf)
        cohort = cohorts.build(ds, params)
        table = estimates.combine(retention.analyze(ds, cohort, "mentee", bootstrap=50),
                                  promotion.analyze(ds, cohort, "mentee"), metrics.program_estimates(ds, params))
        table = table[(table["role"] == "mentee") & (table["headline"] | (table["method"] == "naive"))]
        rows.append(table.assign(start=cohort.start, cohort_name=cohort.name))
    if not rows:
        raise ValueError("no params files to compare")
    return pd.concat(rows, ignore_index=True)


def plot_by_cohort(table: pd.DataFrame, estimand: str, ax=None, label: str | None = None):
    """One estimand across cohorts: the headline with its interval, and the naive figure beside it."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.4))
    t = table[table["estimand"] == estimand].sort_values("start")
    head = t[t["headline"]]
    x = {c: i for i, c in enumerate(dict.fromkeys(t["cohort_id"]))}
    ax.errorbar([x[c] for c in head["cohort_id"]], head["estimate"],
                yerr=[head["estimate"] - head["ci_low"], head["ci_high"] - head["estimate"]], fmt="o", color="#0072B2",
                capsize=3, label="honest estimate (95% CI)")
    naive = t[t["method"] == "naive"]
    if len(naive):
        ax.scatter([x[c] + 0.15 for c in naive["cohort_id"]], naive["estimate"], marker="D", facecolors="none",
                   edgecolors="#D55E00", label="naive comparison")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(list(x.values()), list(x.keys()))
    ax.set_ylabel(label or LABELS.get(estimand, estimand))
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def across_text(table: pd.DataFrame) -> str:
    """A paragraph on all cohorts' retention and promotion: naive range against honest estimates."""
    lines = []
    for estimand, what in (("retention_12m", "12-month retention"), ("promotion_12m", "promotion within 12 months")):
        t = table[table["estimand"] == estimand]
        naive, head = t[t["method"] == "naive"], t[t["headline"]]
        if head.empty:
            if len(naive):
                low, high = naive["estimate"].min(), naive["estimate"].max()
                span = f"{low:+.1f}" if len(naive) == 1 else f"{low:+.1f} to {high:+.1f}"
                lines.append(f"**{what.capitalize()}:** the naive comparison credits mentoring with {span} points, "
                             f"but no cohort has an honest estimate (each cohort's report says why).")
            continue
        zero = int(((head["ci_low"] <= 0) & (0 <= head["ci_high"])).sum())
        if len(head) == 1:
            h = head.iloc[0]
            credit = (f"the naive comparison credits mentoring with {naive['estimate'].iloc[0]:+.1f} points in "
                      if len(naive) else "in ")
            lines.append(f"**{what.capitalize()}:** {credit}the only cohort compared, {h['cohort_id']}; "
                         f"the honest estimate is {h['estimate']:+.1f} ({h['ci_low']:+.1f} to {h['ci_high']:+.1f}).")
            continue
        lines.append(f"**{what.capitalize()}:** the naive comparison credits mentoring with "
                     f"{naive['estimate'].min():+.1f} to {naive['estimate'].max():+.1f} points across the "
                     f"{head['cohort_id'].nunique()} cohorts; the honest estimates' intervals include zero in {zero} of "
                     f"{len(head)} cohorts.")
    return "\n\n".join(lines)
