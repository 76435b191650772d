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
    lines.append("**What we can say.** " + ret.findings().split("\n\n")[0].replace("**Effect on mentees:** ", ""))
    lines.append(pro.findings().split("\n\n")[0].replace("**Effect on mentees:** an", "Mentees were an"))
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
