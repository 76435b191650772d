"""The executive summary of a cohort and the comparison across cohorts: which results they rest on
and the headline table (naive figure beside the honest estimate). Every figure is read from the
study's results, the same ones the detailed notebooks show, so the pages cannot disagree; the
sentences are written by `narrate`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import labels, power, preregistration, program_health, promotion, retention, roi, scorecard
from .errors import NotEstimable
from .estimates import Estimates
from .privacy import Disclosure
from .storage import place

if TYPE_CHECKING:
    from .study import Study

# the measures of the headline table, in this order, named as everywhere else (`labels`); money is on
# the first screen, rounded to what its evidence supports
LABELS = {k: labels.ESTIMANDS[k] for k in ("retention_12m", "exit_rate", "promotion_12m", "salary_grade_12m",
                                           "skills_change", "voluntary_exit_12m", "performance_rating", "nps")}


@dataclass(frozen=True)
class Summary:
    """A cohort's one page: its mentee results, ROI (None with the reason in roi_note) and scorecard."""

    cohort_id: str
    name: str
    retention: retention.RetentionResult = field(repr=False)
    promotion: promotion.PromotionResult = field(repr=False)
    health: program_health.ProgramHealth = field(repr=False)
    returns: roi.ROIAttempt = field(repr=False)
    scorecard: scorecard.Scorecard = field(repr=False)
    detectable: power.Detectable | None = field(default=None, repr=False)
    deviations: preregistration.Deviations | None = field(default=None, repr=False)  # None: nothing preregistered

    @property
    def roi(self) -> roi.ROIResult | None:
        return self.returns.result

    @property
    def estimates(self) -> Estimates:
        """Every estimate the page draws on."""
        return Estimates.combine(self.retention, self.promotion, self.health, self.returns, self.detectable)

    @property
    def headlines(self) -> pd.DataFrame:
        return headline_table(self.estimates)

    def to_frame(self) -> pd.DataFrame:
        return self.headlines

    def summary(self) -> str:
        return self.headlines.to_string(index=False)


def headline_table(estimates: Estimates, role: str = "mentee") -> pd.DataFrame:
    """Naive figure beside the headline estimate and its interval, for the measures executives read."""
    rows = []
    for estimand, label in LABELS.items():
        h = estimates.headline(estimand, role)
        naive = estimates.naive(estimand, role)
        if h is None:
            if naive is not None:  # the platform's figure, and plainly that nothing honest can be said yet
                rows.append({"measure": label, "naive figure": naive.estimate, "honest estimate": np.nan,
                             "interval": "cannot tell", "includes zero": "",
                             "evidence": "no design can answer for this cohort alone"})
            continue
        per = re.search(r"per (month|quarter|year)", h.unit or "")
        label = label.replace("per period", per.group(0)) if per else label
        rows.append({"measure": label, "naive figure": naive.estimate if naive is not None else np.nan,
                     "honest estimate": h.estimate,
                     "interval": labels.interval(h.ci_low, h.ci_high, "pp") if h.has_interval else "",
                     "includes zero": ("yes" if h.includes_zero else "no") if h.has_interval else "",
                     "evidence": f"{h.evidence} ({labels.DESIGNS.get(h.design, h.design)})" if h.evidence else
                     labels.DESIGNS.get(h.design, h.design)})
    return pd.DataFrame(rows)


def build(study: Study) -> Summary:
    """The cohort's one page, from the study's results (computed once per study or run)."""
    returns = roi.attempt(study)
    break_even = returns.result.break_even if returns.result is not None else float("nan")
    return Summary(study.cohort_id, study.name, retention.analyze(study, "mentee"), promotion.analyze(study, "mentee"),
                   program_health.analyze(study), returns, scorecard.build(study), detectable(study, break_even),
                   preregistration.check(study))


def what_it_takes(study: Study) -> power.Detectable | None:
    """What it would take to know for this cohort, against the break-even of its money (NaN when
    it has no ROI)."""
    returns = roi.attempt(study)
    return detectable(study, returns.result.break_even if returns.result is not None else float("nan"))


def program_detectable(studies: list[Study], program: roi.ROIResult) -> power.Detectable | None:
    """What it would take to know for the whole program: the latest cohort's view (every cohort so
    far, a lottery among the next cohort's applicants) against the program's break-even, as
    cohort_id "pooled"."""
    latest = max(studies, key=lambda s: s.start)
    return detectable(latest, program.break_even, cohort_id="pooled")


def detectable(study: Study, break_even: float = float("nan"), cohort_id: str | None = None) -> power.Detectable | None:
    """What it would take to know (power.what_it_takes), or None when the cohort has no applicants;
    its rows under `cohort_id` when given (e.g. "pooled" for the program's page)."""
    from dataclasses import replace

    try:
        found = study.result(("detectable", round(break_even, 9)), lambda: power.what_it_takes(study, break_even))
    except NotEstimable:
        return None
    return replace(found, cohort_id=cohort_id) if cohort_id else found


def across_cohorts(studies: list[Study]) -> pd.DataFrame:
    """Headline and naive estimates of every cohort side by side (mentees): one row per cohort,
    estimand and method, with the cohort's start date and name."""
    return compare(studies).table


@dataclass(frozen=True)
class Comparison:
    """Every cohort's mentee headline and naive estimates, the cohorts in order of their start
    (id, name, start), and the one disclosure rule for a page that shows them all (the strictest
    of the cohorts')."""

    estimates: Estimates = field(repr=False)
    cohorts: tuple[tuple[str, str, pd.Timestamp], ...]
    disclosure: Disclosure

    @property
    def cohort_ids(self) -> tuple[str, ...]:
        return tuple(c for c, _, _ in self.cohorts)

    @property
    def table(self) -> pd.DataFrame:
        """One row per cohort, estimand and method, with the cohort's start date and name."""
        frame = self.estimates.to_frame()
        info = {c: (name, start) for c, name, start in self.cohorts}
        return frame.assign(start=frame["cohort_id"].map(lambda c: info[c][1]),
                            cohort_name=frame["cohort_id"].map(lambda c: info[c][0]))

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def summary(self) -> str:
        return f"{len(self.cohorts)} cohorts compared: {', '.join(self.cohort_ids)}"


def compare(studies: list[Study]) -> Comparison:
    """The cross-cohort page: each cohort's mentee headline and naive estimates, from the study's
    results (computed once per run)."""
    if not studies:
        raise NotEstimable("no cohorts to compare")
    from dataclasses import replace

    from .pooling import program_names, program_of

    names = program_names(studies)
    label = (lambda s: f"{names[program_of(s)]}/{s.cohort_id}") if len(names) > 1 else (lambda s: s.cohort_id)
    found = []
    for study in sorted(studies, key=lambda s: s.start):
        mine = Estimates.combine(retention.analyze(study, "mentee"), promotion.analyze(study, "mentee"),
                                 program_health.analyze(study)).where(role="mentee")
        found.extend(replace(e, cohort_id=label(study)) for e in mine if e.headline or e.method == "naive")
    cohorts = tuple((label(s), s.name if len(names) == 1 else f"{names[program_of(s)]}: {s.name}", s.start)
                    for s in sorted(studies, key=lambda s: s.start))
    return Comparison(Estimates(found), cohorts, Disclosure.strictest(s.disclosure for s in studies))


def rollout(studies: list[Study], outcome: str = "exited_voluntary"):
    """The staggered rollout across every cohort of the studies' data (in the first study's period);
    the studies must share one data set."""
    from .effects import staggered

    if not studies:
        raise NotEstimable("no cohorts to compare")
    sources = {place(s.dataset.source) for s in studies}
    if len(sources) > 1:
        raise NotEstimable(f"the cohorts come from {len(sources)} data directories; a rollout across them needs one")
    return staggered(studies[0], outcome)
