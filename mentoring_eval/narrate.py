"""Every sentence a reader sees, written from results: findings in plain language, headline first,
with the naive figure beside the honest one and why they differ. Returns Markdown strings."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .data import quality_notes
from .errors import NotEstimable
from .estimates import Estimates
from .labels import ESTIMANDS, covariate

if TYPE_CHECKING:
    from .did.regression import EventStudy
    from .effects import Rollout
    from .promotion import PromotionResult
    from .retention import RetentionResult
    from .roi import ROIAttempt
    from .study import Study
    from .summary import Comparison, Summary

UNCLEAR = " The interval includes zero: the data cannot tell this from no effect."


def signed(value: float, digits: int = 1) -> str:
    """A signed number rounded to `digits`, never '-0.0'."""
    text = f"{value:+.{digits}f}"
    return "+" + text[1:] if float(text) == 0 else text


def comparison(study: Study) -> str:
    """Who the matched comparisons are, as the params define them: the comparison group, the
    matching variables, and the time unit of the curves."""
    p = study.params
    if p.comparison == "matched":
        how = ("eligible colleagues who did not enrol in a cohort near this one, matched on "
               + ", ".join(covariate(v) for v in p.matching_variables) + " (coarsened exact matching)")
    elif p.comparison == "never_treated":
        how = ("eligible colleagues who did not enrol in a cohort near this one (not matched: the params ask for no "
               "matching)")
    else:
        how = "eligible colleagues who enrolled in a later cohort (not yet treated; not matched)"
    return f"Share of each group still employed, by {p.period}s since the cohort started: participants against {how}."


def data_span(study: Study) -> str:
    """A sentence when the params' window (periods before and after the start) reaches beyond the
    data: the missing periods are cut, never padded; empty otherwise."""
    from .panels import period_start

    first, last, wanted_first, wanted_last = study.window
    unit = study.params.period
    parts = []
    if first > wanted_first:
        parts.append(f"the data begin on {_date(study.dataset.begins)}, so the {first - wanted_first} earliest of the "
                     f"{study.params.pre_periods} {unit}s before the start the params ask for are left out")
    if last < wanted_last:
        parts.append(f"the data end on {_date(study.dataset.end)}, so the last {wanted_last - last} of the "
                     f"{study.params.post_periods} {unit}s after the start are left out")
    if not parts:
        return ""
    shown = period_start([first, last], unit)
    text = "; ".join(parts)
    return (f"{text[0].upper()}{text[1:]}: the charts and estimates use {_date(shown[0])} to the {unit} of "
            f"{_date(shown[1])}, not filled-in {unit}s.")


def people(study: Study, role: str, population: str) -> str:
    """A population's count as this audience may read it in a sentence, tagged
    `pop-<role>-<population>` so that every page's figure for it can be checked against the others."""
    from .populations import count, shown

    n, public = count(study, role, population), shown(study, role, population)
    text = study.disclosure.count(n) if public is not None or n < study.disclosure.min_cell_size else "all but a few"
    return f'<span class="pop-{role} pop-{role}-{population}">{text}</span>'


def _matched(r) -> str:
    """The mentees an ROI is for (the cohort's matched mentees, tagged like `people`, or words when
    the count is withheld; the sum over cohorts for the program)."""
    if r.cohort_id in ("pooled", "all cohorts"):
        return f"{r.participants:,}"
    if r.participants_withheld:
        return '<span class="pop-mentee pop-mentee-matched">its</span>'
    return f'<span class="pop-mentee pop-mentee-matched">{r.participants:,}</span>'


def _date(ts) -> str:
    return "unknown" if pd.isna(ts) else pd.Timestamp(ts).strftime("%d %b %Y").lstrip("0")


def overview(study: Study) -> str:
    """The data overview's opening paragraph: what the data covers and this cohort's size."""
    ds = study.dataset
    emp = ds.employees
    summary = ds.summary()
    present = summary[summary["rows"] > 0]
    first = emp["termination_date"].min() if emp["termination_date"].notna().any() else emp["hire_date"].min()
    flagged = quality_notes(ds).query("rows_affected > 0")
    return "\n".join([
        f"**{html.escape(study.name)}** ran from {_date(study.start)} to {_date(study.info.end)} with "
        f"**{people(study, 'mentee', 'enrolled')} mentees** and **{people(study, 'mentor', 'enrolled')} mentors** "
        f"enrolled, of {people(study, 'mentee', 'eligible')} eligible mentees and "
        f"{people(study, 'mentor', 'eligible')} eligible mentors.",
        "",
        f"- The data set holds {len(emp):,} employees and {len(present)} of {len(summary)} tables; "
        f"exits are recorded from {_date(first)} to {_date(emp['termination_date'].max())}.",
        f"- {len(ds.cohorts)} cohorts in all; every table passed validation.",
        f"- {len(flagged)} data-quality note{'s' if len(flagged) != 1 else ''} to read before trusting the analyses"
        + (" (listed at the end)." if len(flagged) else "."),
    ])


def baseline(base: pd.DataFrame) -> str:
    """The baseline's opening paragraph: turnover and promotion of the eligible before launch."""
    rows = base.set_index("group")
    lines = []
    for group in ("eligible mentees", "eligible mentors", "all employees"):
        if group in rows.index:
            r = rows.loc[group]
            lines.append(f"- **{group.capitalize()}** (an average headcount of {r['average_headcount']:,.0f}): "
                         f"{r['turnover_rate']:.1f}% left per year ({r['voluntary_turnover_rate']:.1f}% voluntarily), "
                         f"{r['promotion_rate']:.1f}% were promoted, {r['internal_move_rate']:.1f}% moved department; "
                         f"mean engagement {r['mean_engagement']:.2f} of 5.")
    return ("In the 12 months before the cohort started (turnover = separations / average headcount, per year):\n\n"
            + "\n".join(lines) + "\n\nThese are the figures the program's goals are set against.")


def program(estimates: Estimates) -> str:
    """Program health in plain language (mentees first)."""
    lines = []
    for role in ("mentee", "mentor"):
        mine = estimates.where(role=role)
        parts = []
        s, m = mine.first(estimand="signup_rate"), mine.first(estimand="match_rate")
        if s is not None:
            parts.append(f"{s.estimate:.0f}% of eligible {role}s signed up (95% interval {s.ci_low:.0f} to "
                         f"{s.ci_high:.0f})")
        if m is not None:
            parts.append(f"{m.estimate:.0f}% of them were matched")
        k = mine.first(estimand="skills_change", method="paired_prepost")
        if k is not None:
            parts.append(f"self-rated skills changed by {signed(k.estimate, 2)} points on a 1-5 scale (95% interval "
                         f"{signed(k.ci_low, 2)} to {signed(k.ci_high, 2)}; without a comparison group this is a "
                         f"before/after change, not proof of cause)")
        n = mine.first(estimand="nps")
        if n is not None:
            parts.append(f"their net promoter score was {signed(n.estimate, 0)} (95% interval {signed(n.ci_low, 0)} to "
                         f"{signed(n.ci_high, 0)})")
        g = mine.first(estimand="goal_attainment")
        if g is not None:
            parts.append(f"{g.estimate:.0f}% of their goals due so far were achieved by the target date")
        p = mine.first(estimand="performance_rating")
        if p is not None:
            parts.append(f"performance ratings changed by {signed(p.estimate, 2)} points against matched colleagues "
                         f"(95% interval {signed(p.ci_low, 2)} to {signed(p.ci_high, 2)})")
        if parts:
            lines.append(f"**{role.capitalize()}s:** " + "; ".join(parts) + ".")
    return "\n\n".join(lines)


def pretrend(study: EventStudy) -> str:
    """One sentence on the joint test of the pre-period differences of an event study, or why it
    cannot be formed."""
    try:
        test = study.pretrend_test()
    except NotEstimable as exc:
        return (f"No joint pre-period test: {str(exc).removeprefix('the joint pre-period test cannot be formed: ')}. "
                "Read the chart's bands instead: they hold for every month at once.")
    verdict = ("no sign that the groups were already drifting apart" if test.pvalue >= 0.05 else
               "the groups were already drifting apart before the start, so read the estimates with caution")
    return f"Joint test that every pre-period difference is zero: p = {test.pvalue:.2f}; {verdict}."


def rollout(result: Rollout, what: str = "voluntary exits") -> str:
    """One paragraph on the staggered-rollout estimate across all cohorts, or why there is none."""
    if result.result is None:
        return f"**No rollout across the cohorts here:** {html.escape(result.reason)}."
    s = result.aggregate("simple")
    inside = s.ci_low <= 0 <= s.ci_high
    return (f"**Across all cohorts' rollout:** once a cohort first reached a department and location, its "
            f"{what} per {result.period} changed by {signed(s.overall_att, 2)} per 100 employees (95% interval "
            f"{signed(s.ci_low, 2)} to {signed(s.ci_high, 2)}), compared with departments and locations not yet or "
            f"never reached."
            + (" The interval includes zero." if inside else ""))


def between_programs(result) -> str:
    """One paragraph on the programs' answers pooled with random effects: the pooled figure and its
    interval, how much the programs differ (tau, I^2), and what few programs mean for the interval."""
    p, k = result.pooled, result.pooled["k"]
    what = ESTIMANDS.get(result.estimand, result.estimand).removesuffix(" (pp)")
    spread = ("the programs differ by no more than chance would make them" if p["tau2"] == 0 else
              f"the programs' true effects differ from each other by about {np.sqrt(p['tau2']):.1f} pp (one standard "
              f"deviation); {p['i2']:.0f}% of the spread between their estimates is that difference, not chance")
    few = (" With so few programs the interval is wide by construction: how much programs differ can hardly be "
           "told from two or three of them." if k <= 3 else "")
    return (f"**Across {k} programs** ({what}), pooled allowing each program its own true effect: "
            f"{signed(p['estimate'], 1)} pp (95% interval {signed(p['ci_low'], 1)} to {signed(p['ci_high'], 1)}); "
            f"{spread}.{few}")


def _effect(estimate: float, low: float, high: float, what: str) -> str:
    """'an estimated **2.1 percentage points more likely** to ... (95% interval +1.0 to +5.2).': bold only
    when the interval excludes zero, so an imprecise point estimate is never the thing a reader sees."""
    direction = "more" if estimate >= 0 else "less"
    size = f"{abs(estimate):.1f} percentage points {direction} likely"
    if low <= 0 <= high:
        return f"an estimated {size} {what} (95% interval {low:+.1f} to {high:+.1f})."
    return f"an estimated **{size}** {what} (95% interval {low:+.1f} to {high:+.1f})."


DESIGN_WORDS = {
    "lottery": "from the lottery among applicants (offered a place vs not)",
    "capacity": "from matched vs unmatched applicants when mentor places ran out",
    "rollout": "from the departments reached vs those not yet reached",
    "observational": "from participants vs similar colleagues who did not apply",
}


def _opening(result, what: str, were: str, too_small) -> list[str]:
    """The headline sentence of a result with its design and evidence grade, and what its interval
    means when it includes zero (too_small takes the participation share, 0-1)."""
    h = result.headline
    if h is None:
        choice = getattr(result, "design", None)
        if choice is None or choice.design is not None or not choice.reason:
            return []
        why = choice.reason.removeprefix("No design can head this report: ").rstrip(".")
        return [f"**Effect on {result.role}s:** This cohort alone cannot tell whether {result.role}s became more or "
                f"less likely {what}: {why}. The department comparison's figures are in the table below for the "
                f"record; to know, the program needs at least 3 departments on each side (pooling cohorts counts "
                f"them together), or a lottery among applicants when places are short."]
    source = f" Estimated {DESIGN_WORDS[h.design]}; evidence: **{h.evidence}**." if h.design in DESIGN_WORDS else ""
    tot = getattr(result, "retention_tot", None) or getattr(result, "tot", None)
    if h.design == "rollout" and tot is not None and tot.assignment is not None:
        t, c = tot.assignment.clusters
        units = tot.assignment.unit_plural
        source += (f" The interval is counted in {units}, since {units} were invited: {t} invited, {c} compared "
                   f"(randomization p = {tot.assignment.randomization_p:.2f}).")
    lines = [f"**Effect on {result.role}s:** {were}" + _effect(h.estimate, h.ci_low, h.ci_high, what) + source]
    if h.includes_zero:
        lines.append(UNCLEAR.strip() if h.design in ("lottery", "capacity") else too_small(h.participation_share))
    return lines


def evidence(result) -> str:
    """Which design heads the cohort's report and why, its evidence grade in one sentence, and what
    the applicant design checked (attrition, compliance, overlap, baseline equivalence)."""
    choice = getattr(result, "design", None)
    if choice is None or choice.design is None:
        if choice is not None and choice.reason:
            return f"**No headline.** {choice.reason}"
        return "No design could estimate this cohort's effect; the notes below say why."
    from .estimates import EVIDENCE

    lines = [f"**Evidence: {choice.evidence}.** {choice.grade_reason}", choice.reason]
    applicant = getattr(result, "applicants", None)
    if applicant is not None:
        verdict = {True: "passed", False: "FAILED", None: "for information"}
        lines.append(f"Checks of the {applicant.design} design: " + "; ".join(
            f"{c.check} {verdict[c.passed]} ({c.finding})" for c in applicant.checklist) + ".")
        if applicant.design == choice.design and choice.evidence != EVIDENCE[choice.design]:
            lines.append(f"Because of the failed check, the grade is {choice.evidence} rather than "
                         f"{EVIDENCE[choice.design]}.")
        lines += list(applicant.notes)
    return "\n\n".join(lines)


def retention(result: RetentionResult) -> str:
    """The retention findings, headline first, with the naive figure and why they differ."""
    who = f"{result.role}s"
    n = result.naive
    lines = _opening(result, "to still be here 12 months after the start", f"{who.capitalize()} were ", lambda share: (
        f"The interval includes zero: this cohort is too small to tell whether mentoring changed retention. Only "
        f"{100 * share:.0f}% of eligible employees took part, so any effect on them is diluted about "
        f"{1 / share:.0f}-fold in the population comparison."))
    lines.append(f"**The naive comparison** says {n.rate_participants:.0f}% of {who} stayed against "
                 f"{n.rate_others:.0f}% of everyone else (**{n.difference:+.1f} points**). It overstates the effect "
                 f"because people who sign up were already less likely to leave: the comparison credits mentoring "
                 f"with who volunteers.")
    balance = result.balance
    if balance is not None and "smd_after" in balance.table:
        worst = balance.table.loc[balance.table["smd_after"].abs().idxmax()]
        where = ("the survival curves below" if result.role == "mentee" else "the matched estimates above")
        lines.append(f"Even against their comparison group, {who} differ on "
                     f"{html.escape(covariate(worst['covariate']))} (standardized difference "
                     f"{worst['smd_after']:+.2f}): {where} carry that selection.")
    return "\n\n".join(lines)


def promotion(result: PromotionResult) -> str:
    """The promotion findings, headline first, with the naive ratio and why it misleads."""
    who = f"{result.role}s"
    n = result.naive
    lines = _opening(result, "to be promoted within 12 months", "", lambda share: (
        f"The interval includes zero: this cohort is too small to tell. Only {100 * share:.0f}% of eligible "
        f"employees took part."))
    lines.append(f"**The naive comparison** says {n.rate_participants:.0f}% of {who} were promoted against "
                 f"{n.rate_others:.0f}% of everyone else ({n.ratio:.1f} times as often, **{n.difference:+.1f} "
                 f"points**). People who sign up were already on faster tracks, so the ratio mostly measures who "
                 f"volunteers.")
    if result.matched_did is not None:
        m = result.matched_did
        row = result.estimates.first(estimand="promotion_rate", method="did_matched")
        per = (row.unit.split("pp ", 1)[-1] if row is not None and "per " in row.unit else "per month")
        lines.append(f"Against matched comparisons, promotions {per} changed by {signed(m.estimate, 2)} points "
                     f"(95% interval {signed(m.ci_low, 2)} to {signed(m.ci_high, 2)}) after the start, relative to the "
                     "year before. This comparison is for the record only: on simulated companies where mentoring "
                     "does nothing it still finds about +0.4 points a month, so it carries a selection that matching "
                     "does not remove.")
    return "\n\n".join(lines)


def findings(result) -> str:
    """The findings of a retention or promotion result."""
    from .promotion import PromotionResult
    from .retention import RetentionResult

    if isinstance(result, RetentionResult):
        return retention(result)
    if isinstance(result, PromotionResult):
        return promotion(result)
    raise TypeError(f"no findings for a {type(result).__name__}")


def _money(value: float, low: float, high: float) -> str:
    """An amount rounded to what its interval supports, signed, with thousands separators."""
    from .roi import rounded

    return f"{rounded(value, low, high):+,.0f}"


def _pct(value: float, low: float, high: float) -> str:
    """A percentage rounded to what its interval supports, signed, with thousands separators."""
    from .roi import rounded

    return f"{rounded(value, low, high):+,.0f}%"


def _source(e) -> str:
    """'the lottery of 2023-spring' or 'the lottery cohorts pooled (2023-spring, 2024-spring)', from
    an evidence row's note (ids come from the data: escaped)."""
    tail = e.note.split("; ", 1)[-1]
    cohorts = [html.escape(c) for c in tail.split(", ", 1)[-1].removeprefix("pooled over ").split(", ")]
    design = {"lottery": "lottery", "capacity": "comparison of matched with unmatched applicants",
              "rollout": "department rollout", "observational": "matched comparison"}.get(e.design, e.design)
    if len(cohorts) > 1:
        return f"the {design} cohorts pooled ({', '.join(cohorts)})"
    return f"the {design} of {cohorts[0]}"


def decision(found: Estimates, rates: tuple[float, float] | None = None) -> list[str]:
    """The first screen, in order: the verdict in plain words; the best estimate with its interval
    and evidence grade; the naive platform figure beside it and why they differ; money; what it
    would take to know. Read from estimates rows only (a cohort's or its estimates.csv), so the
    summary page and the index say the same. `rates`: mentees' and everyone else's 12-month
    retention (%), when known, for the naive sentence."""
    money = found.first(estimand="roi", method="causal")
    if money is None:
        return []
    cut = found.first(estimand="exit_cut", method="evidence")
    be = found.first(estimand="break_even_cut")
    cost = found.first(estimand="program_cost")
    prob = found.first(estimand="prob_pays_back")
    naive_gap, naive_roi = found.naive("exit_cut") or found.naive("retention_12m"), found.naive("roi")
    whole = "program" if money.cohort_id == "pooled" else "cohort"
    paid = money.note.split(";")[0].removeprefix("verdict: ")
    what = "12-month voluntary exits" if cut is not None and "voluntary" in cut.note.split(";")[0] else \
        "12-month exits"
    lines = []
    if cut is None:
        why = money.note.split("no evidence: ", 1)[-1]
        lines.append(f"**Verdict: cannot tell yet.** No design can measure the program's effect on exits yet: "
                     f"{html.escape(why)}.")
    elif cut.design == "observational":
        lines.append("**Verdict: cannot tell yet.** The only evidence compares mentees with similar colleagues who "
                     "did not apply; on simulated companies where mentoring does nothing, that comparison still finds "
                     "mentees leaving less often, so it cannot show whether the program pays back.")
    elif paid == "pays back":
        lines.append(f"**Verdict: mentoring works and pays back.** The whole 95% interval of the cut in {what} "
                     f"among mentees clears the {be.estimate:.1f} pp the program needs to pay for itself.")
    elif paid == "does not pay back":
        lines.append("**Verdict: no effect large enough to matter.** "
                     + (f"If anything, mentees left more often: the whole interval of the cut in {what} is below zero."
                        if cut.ci_high < 0 else
                        f"Even the top of the evidence's interval ({signed(cut.ci_high)} pp) falls short of the "
                        f"{be.estimate:.1f} pp cut in {what} the program needs to pay for itself."))
    elif cut.ci_low > 0:
        lines.append(f"**Verdict: mentoring cuts exits, but whether it pays back cannot be told yet.** The "
                     f"interval starts above zero but below the {be.estimate:.1f} pp the program needs.")
    else:
        lines.append("**Verdict: cannot tell yet.** The evidence is consistent both with no effect and with one "
                     f"large enough to pay back the program (a cut of {be.estimate:.1f} pp in {what}).")
    if cut is not None:
        lines.append(f"**Best estimate:** the evidence puts the cut in {what} among mentees between "
                     f"{signed(cut.ci_low)} and {signed(cut.ci_high)} pp (95% interval; central estimate "
                     f"{signed(cut.estimate)}), from {_source(cut)}; evidence: **{cut.evidence or 'none'}**.")
    if naive_gap is not None:
        stayed = (f"mentees stayed {rates[0]:.0f}% vs {rates[1]:.0f}% of everyone else, a gap of "
                  if rates else "mentees' 12-month retention beat everyone else's by ")
        lines.append(f"**What a platform would print:** {stayed}{signed(naive_gap.estimate)} pp"
                     + (f", and an ROI of {naive_roi.estimate:+,.0f}%" if naive_roi is not None else "")
                     + ". That compares volunteers with everyone else, and people who volunteer were already less "
                     "likely to leave; the estimate above compares like with like.")
    if cost is not None and be is not None:
        text = (f"**Money:** the {whole} cost {cost.estimate:,.0f} {cost.unit}, mentors' and mentees' time included. "
                f"It pays back if it cut {what} among mentees by at least {be.estimate:.1f} pp ({be.ci_low:.1f} to "
                f"{be.ci_high:.1f} pp over the range of what a departure costs).")
        if cut is not None and cut.design != "observational":  # a biased range is worse than none
            lo, hi = money.ci_low, money.ci_high  # percent
            text += f" On the evidence, the return lies between {_pct(lo, lo, hi)} and {_pct(hi, lo, hi)}: **{paid}**."
        if prob is not None:
            prior = prob.note.rsplit("gives ", 1)[-1]
            sd = prob.note.split("SD ", 1)[-1].split(" pp")[0]
            text += (f" Under a skeptical prior (normal, centred on no effect, SD {sd} pp: 95% of its weight within "
                     f"+/-5 pp, the range of credible published mentoring effects), the chance it paid back is "
                     f"{prob.estimate:.0f}%; the prior alone says {prior}.")
        lines.append(text)
    if any(e.estimand.startswith("mde_") for e in found):
        take = what_it_takes(found, "voluntary_exit_12m" if "voluntary" in what else "retention_12m",
                             be.estimate if be is not None else float("nan"), cut.design if cut is not None else None)
        lines.append(f"**What it would take to know:** {take}")
    return lines


def tiles(found: Estimates) -> str:
    """The first screen as four tiles (HTML): the verdict, the best estimate (its interval first),
    what a platform would print, and the money; the same rows `decision` reads, or an empty string
    when there is no money row."""
    money = found.first(estimand="roi", method="causal")
    if money is None:
        return ""
    cut = found.first(estimand="exit_cut", method="evidence")
    be = found.first(estimand="break_even_cut")
    cost = found.first(estimand="program_cost")
    naive_gap, naive_roi = found.naive("exit_cut") or found.naive("retention_12m"), found.naive("roi")
    paid = money.note.split(";")[0].removeprefix("verdict: ")
    verdict = {"pays back": "Pays back", "does not pay back": "Does not pay back"}.get(paid, "Cannot tell yet")
    if cut is not None and cut.design == "observational":
        verdict, why = "Cannot tell yet", "the only evidence is observational"
    elif cut is None:
        why = "no design can measure the effect yet"
    else:
        why = f"the evidence's 95% interval against the {be.estimate:.1f} pp cut that pays back" if be else ""
    cards = [("Verdict", verdict, why, " me-verdict")]
    if cut is not None:
        cards.append(("Best estimate", f"{signed(cut.ci_low)} to {signed(cut.ci_high)} pp",
                      f"cut in 12-month exits among mentees; central estimate {signed(cut.estimate)} pp; evidence: "
                      f"{cut.evidence or 'none'}", ""))
    if naive_gap is not None:
        cards.append(("What a platform would print", f"{signed(naive_gap.estimate)} pp",
                      "mentees' retention against everyone else's" + (f"; ROI {naive_roi.estimate:+,.0f}%"
                                                                      if naive_roi is not None else ""), ""))
    if cost is not None:
        cards.append(("Money", f"{cost.estimate:,.0f} {cost.unit}",
                      "cost, time included" + (f"; pays back above a {be.estimate:.1f} pp cut" if be else ""), ""))
    return "<div class='me-tiles'>" + "".join(
        f"<div class='me-tile{extra}'><div class='me-label'>{html.escape(label)}</div><div class='me-big'>"
        f"{html.escape(big)}</div><div class='me-small'>{html.escape(small)}</div></div>"
        for label, big, small, extra in cards) + "</div>"


def first_screen(*results) -> str:
    """decision() of the results' estimates (None results skipped) as one Markdown block."""
    return "\n\n".join(decision(Estimates.combine(*results)))


def decision_brief(found: Estimates) -> str:
    """The first screen in one short paragraph (HTML-safe Markdown), for the index: verdict, best
    estimate, platform figure, money, what it would take."""
    money = found.first(estimand="roi", method="causal")
    if money is None:
        return ""
    cut = found.first(estimand="exit_cut", method="evidence")
    be = found.first(estimand="break_even_cut")
    naive_gap, naive_roi = found.naive("exit_cut") or found.naive("retention_12m"), found.naive("roi")
    paid = money.note.split(";")[0].removeprefix("verdict: ")
    parts = [f"**{paid[0].upper() + paid[1:]}.**"]
    if cut is not None:
        parts.append(f"Cut in 12-month {'voluntary ' if 'voluntary' in cut.note.split(';')[0] else ''}exits "
                     f"{signed(cut.ci_low)} to {signed(cut.ci_high)} pp ({_source(cut)}, {cut.evidence or 'no grade'}).")
    else:
        parts.append("No design can measure the effect yet.")
    if naive_gap is not None:
        parts.append(f"Platform figure: {signed(naive_gap.estimate)} pp retention gap"
                     + (f", ROI {naive_roi.estimate:+,.0f}%." if naive_roi is not None else "."))
    if be is not None:
        parts.append(f"Pays back above a {be.estimate:.1f} pp cut"
                     + (f"; ROI {_pct(money.ci_low, money.ci_low, money.ci_high)} to "
                        f"{_pct(money.ci_high, money.ci_low, money.ci_high)}." if cut is not None else "."))
    nxt = found.first(estimand="mde_voluntary_exit_12m", method="next_lottery")
    if nxt is not None:
        parts.append(f"A lottery among ~{nxt.n_treated:,} next applicants would detect {nxt.estimate:.1f} pp.")
    return " ".join(parts)


def what_it_takes(found: Estimates, estimand: str, break_even: float, design: str | None = None) -> str:
    """The minimum detectable effects so far (of the evidence's design, when it has one) and for a
    lottery in the next cohort, from mde_* rows."""
    rows = found.where(estimand=f"mde_{estimand}")
    now = [e.estimate for e in rows if e.method in ("pooled_so_far", "this_cohort") and e.estimate == e.estimate]
    mine = [e.estimate for e in rows if e.method in ("pooled_so_far", "this_cohort") and e.design == design
            and e.estimate == e.estimate]
    now = mine or now
    nxt = rows.first(method="next_lottery")
    what = "cut in 12-month voluntary exits" if estimand == "voluntary_exit_12m" else "change in 12-month retention"
    parts = [f"the evidence so far can detect a {what} of {min(now):.1f} pp or more" if now else
             "no design can yet detect any effect on exits"]
    if break_even == break_even:
        parts[0] += f", while paying back needs {break_even:.1f} pp"
    text = parts[0][0].upper() + parts[0][1:] + "."
    if nxt is not None:
        pooled = "pooled with the lottery evidence you have" if "pooled with the lottery so far" in nxt.note else \
            "on its own (no lottery so far)"
        text += (f" A lottery among the next cohort's ~{nxt.n_treated:,} expected applicants (half offered a place), "
                 f"{pooled}, would detect {nxt.estimate:.1f} pp.")
    k = found.first(estimand="lotteries_to_know")
    if k is not None:
        n = int(np.ceil(k.estimate))
        text += (" That would be enough to tell whether it pays back." if n <= 1 else
                 f" Telling whether it pays back would take about {n:,} lotteries of that size"
                 + ("; more than the program will run, so pool with other programs or accept that the payback "
                    "cannot be known." if n > 8 else "."))
    return text


def roi(returns: ROIAttempt) -> str:
    """The ROI findings: the break-even cut, the evidence on it and the verdict, the money and the
    naive ROI; or why there is no ROI."""
    if returns.result is None:
        return f"**Return on investment:** not available: {html.escape(returns.reason)}."
    r = returns.result
    lines = [f"**{html.escape(r.sentence())}**"]
    if r.cut is not None:
        lo, hi = r.roi_interval
        nlo, nhi = r.net_interval
        lines.append(f"The evidence is from {_source(next(iter(r.estimates.where(estimand='exit_cut'))))}; evidence "
                     f"grade **{r.cut.evidence or 'none'}**. Over its 95% interval and the range of what a departure "
                     f"costs ({r.multiplier[0]:g} to {r.multiplier[1]:g} times salary), the return lies between "
                     f"{_pct(100 * lo, 100 * lo, 100 * hi)} and {_pct(100 * hi, 100 * lo, 100 * hi)}, a net "
                     f"benefit between {_money(nlo, nlo, nhi)} and {_money(nhi, nlo, nhi)} {r.currency}.")
    lines.append(f"The cohort cost {r.cost:,.0f} {r.currency} for {_matched(r)} matched mentees; each percentage point "
                 f"fewer {r.cut.departures if r.cut else 'departures'} among them is worth about {r.worth():,.0f} "
                 f"{r.currency}" + ("." if r.participants_withheld else  # with the salary it would give the count back
                                   f" (their mean salary {r.salary:,.0f} {r.currency} x {r.mid_multiplier:g})."))
    lines.append(f"Under a skeptical prior (normal, centred on no effect, SD {r.prior_sd:g} pp: credible published "
                 f"mentoring effects lie within 0-5 pp), the chance it paid back is {100 * r.prob_pays_back:.0f}%; the "
                 f"prior alone says {100 * r.prior_pays_back:.0f}%. No probability is given without a prior: an "
                 f"imprecise estimate alone says little about it.")
    lines.append(f"**The naive ROI** a platform would quote, treating the whole {r.naive_cut:+.1f}-point retention "
                 f"gap as the program's doing, is {100 * r.naive_roi:+,.0f}%.")
    return "\n\n".join(lines)


def summary(page: Summary) -> str:
    """The executive summary's text. First screen: verdict, best estimate, the platforms' figure,
    money, what it would take to know; then this cohort's own figures and next steps."""
    ret, pro = page.retention, page.promotion
    lines = [f"## {html.escape(page.name)}"]
    first = decision(page.estimates, (ret.naive.rate_participants, ret.naive.rate_others))
    if not first:  # no money to weigh the evidence against
        first = [f"**Verdict: cannot tell yet whether it pays back.** The money cannot be counted: "
                 f"{html.escape(page.returns.reason)}."]
        first.append(f"**What a platform would print:** mentees stayed {ret.naive.rate_participants:.0f}% vs "
                     f"{ret.naive.rate_others:.0f}% of everyone else; most of that gap is who volunteers.")
    lines += first
    lines.append("### This cohort on its own")
    if page.deviations is not None:
        lines.append(f"**Preregistration:** {page.deviations.summary()}")
    h = ret.headline
    own = retention(ret).split("\n\n")[0].replace("**Effect on mentees:** ", "")
    lines.append(own.replace("This cohort alone cannot tell", "This cohort alone cannot answer", 1)
                 .replace("**", "") + (UNCLEAR if h is not None and h.includes_zero else ""))
    if h is None and pro.headline is None and ret.design is not None and pro.design is not None \
            and ret.design.reason == pro.design.reason and ret.design.design is None:
        lines.append("The same holds for promotion within 12 months.")
    else:
        lines.append(promotion(pro).split("\n\n")[0].replace("**Effect on mentees:** an", "Mentees were an")
                     .replace("**", "") + (UNCLEAR if pro.headline is not None and pro.headline.includes_zero else ""))
    lines.append(f"Platforms would add that mentees were promoted {pro.naive.ratio:.1f} times as often as everyone "
                 f"else; that too is mostly who volunteers.")
    lines.append("**Next steps.** " + " ".join(next_steps(page)))
    return "\n\n".join(lines)


def next_steps(page: Summary) -> list[str]:
    """What to do next, from the headline's precision, the signup rate and the scorecard."""
    steps = []
    head = page.retention.headline
    if head is None or head.includes_zero:
        if head is not None and head.design in ("lottery", "capacity"):
            steps.append("Judge retention on the cohorts pooled (the cross-cohort page) rather than cohort by cohort: "
                         "each cohort's applicants are too few to see an effect of a few points alone.")
        else:
            steps.append("Judge retention across cohorts pooled rather than cohort by cohort, and consider offering "
                         "places by lottery among applicants when there are more applicants than mentors: the "
                         "department comparison dilutes the effect by the share who take part.")
    signup = page.health.estimates.first(estimand="signup_rate", role="mentee")
    if signup is not None and signup.estimate < 20:
        steps.append(f"Only {signup.estimate:.0f}% of eligible mentees signed up: widen outreach where "
                     "representation is lowest (see program health).")
    card = page.scorecard.table
    if (card["status"] == "off track").any():
        steps.append("Review the goals marked off track in the scorecard.")
    if card["status"].str.startswith("not SMART").any():
        steps.append("Give every program goal a baseline, a target and a deadline so it can be scored.")
    return steps or ["Keep the program running and measure the next cohort the same way."]


def across(compared: Comparison) -> str:
    """A paragraph on all cohorts' retention and promotion: naive range against honest estimates."""
    lines = []
    for estimand, what in (("retention_12m", "12-month retention"), ("promotion_12m", "promotion within 12 months")):
        found = compared.estimates.where(estimand=estimand)
        naive = [e.estimate for e in found.where(method="naive")]
        head = found.where(headline=True)
        if not head:
            if naive:
                span = f"{naive[0]:+.1f}" if len(naive) == 1 else f"{min(naive):+.1f} to {max(naive):+.1f}"
                lines.append(f"**{what.capitalize()}:** the naive comparison credits mentoring with {span} points, "
                             f"but no cohort has an honest estimate (each cohort's report says why).")
            continue
        if len(head) == 1:
            h = head[0]
            credit = f"the naive comparison credits mentoring with {naive[0]:+.1f} points in " if naive else "in "
            lines.append(f"**{what.capitalize()}:** {credit}the only cohort compared, {h.cohort_id}; "
                         f"the honest estimate is {h.estimate:+.1f} ({h.ci_low:+.1f} to {h.ci_high:+.1f}).")
            continue
        zero = sum(e.includes_zero for e in head)
        lines.append(f"**{what.capitalize()}:** the naive comparison credits mentoring with {min(naive):+.1f} to "
                     f"{max(naive):+.1f} points across the {len({e.cohort_id for e in head})} cohorts; the honest "
                     f"estimates' intervals include zero in {zero} of {len(head)} cohorts.")
    return "\n\n".join(lines)


def pooled(result) -> str:
    """The pooled answers: per outcome, the strongest design's effect on participants across its
    cohorts, with the other designs' pooled figures beside it."""
    from .summary import LABELS

    lines = []
    for estimand in ("retention_12m", "voluntary_exit_12m", "promotion_12m", "performance_rating"):
        h = result.estimates.headline(estimand)
        if h is None:
            continue
        cohorts = [html.escape(c) for c in h.note.split("cohorts: ")[-1].split(", ")]  # ids come from the data
        where = f"from {cohorts[0]} alone" if len(cohorts) == 1 else f"pooled over {', '.join(cohorts)}"
        unit = "points" if estimand == "performance_rating" else "percentage points"
        digits = 2 if estimand == "performance_rating" else 1
        text = (f"**{LABELS.get(estimand, estimand).split(' (')[0].capitalize()}:** {where} "
                f"({h.design} design, evidence {h.evidence}), the effect on participants is "
                f"{signed(h.estimate, digits)} {unit} (95% interval {signed(h.ci_low, digits)} to {signed(h.ci_high, digits)}).")
        if h.includes_zero:
            text += (" The interval includes zero: the data cannot tell this from no effect."
                     if len(cohorts) == 1 else " The interval includes zero: even pooled, the data cannot tell this "
                     "from no effect.")
        others = [e for e in result.estimates.where(estimand=estimand) if e is not h and e.method.startswith("tot")]
        if others:
            text += " Other designs: " + "; ".join(
                f"{e.design} {signed(e.estimate, digits)} ({signed(e.ci_low, digits)} to {signed(e.ci_high, digits)})"
                for e in others) + "."
        lines.append(text)
    if not lines:
        return "No design produced an effect that could be pooled across cohorts."
    return "\n\n".join(lines)
