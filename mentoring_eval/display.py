"""What readers see besides sentences: tables as the audience may see them (small cells
suppressed for stakeholders, given a `Disclosure`), the sections that show a chart or say why
there is none, and the figures. Every figure function returns a matplotlib Axes."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import labels, narrate
from .errors import MissingTableError, NotEstimable
from .estimates import Estimates
from .privacy import Disclosure, suppress

if TYPE_CHECKING:
    from .roi import ROIAttempt
    from .summary import Comparison

COLOURS = {"mentee": "#0072B2", "mentor": "#E69F00"}


def markdown(text: str):
    """Markdown for a notebook to display (the text itself outside IPython)."""
    try:
        from IPython.display import Markdown
    except ImportError:  # pragma: no cover
        return text
    return Markdown(text)


def table(frame: pd.DataFrame, disclosure: Disclosure, count_cols: Sequence[str] = (), precision: int | None = None,
          tags: pd.DataFrame | None = None):
    """A table as the audience may see it, ready to display: stakeholders get small counts
    suppressed (shown as a dash); columns, categories and methods in readers' words with their
    units (`labels`); people as whole numbers, rates to one decimal, dates as YYYY-MM-DD, no row
    index, every text escaped. `precision` overrides the decimals of measured values; `tags`
    (same shape as the shown table, by position) gives cells a CSS class."""
    if disclosure.stakeholder and count_cols:
        derived = [c for c in frame.columns if c not in count_cols and pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c])]
        frame = suppress(frame, list(count_cols), disclosure.min_cell_size, derived)
    shown, kinds = labels.readable(frame.reset_index(drop=True), disclosure.stakeholder)
    formats = {}
    for name, kind in kinds.items():
        if kind == "date":
            formats[name] = _date_cell
        elif kind not in ("text", "interval", "formatted"):
            decimals = precision if precision is not None and kind in ("level", "score", "ratio") else None
            formats[name] = _number_cell(kind, decimals)
    styler = shown.style.hide(axis="index").format(formats, na_rep="\u2014", escape="html")
    styler = styler.format_index(escape="html", axis=1)
    if tags is not None:
        styler = styler.set_td_classes(pd.DataFrame(tags.to_numpy(), index=shown.index, columns=shown.columns))
    text = [c for c, k in kinds.items() if k in ("text", "date")]
    styler = styler.set_properties(subset=text, **{"text-align": "left"}) if text else styler
    spans = [c for c, k in kinds.items() if k == "interval" or c == "interval"]
    styler = styler.set_properties(subset=spans, **{"white-space": "nowrap"}) if spans else styler  # one line each
    head = [{"selector": f"th.col{i}", "props": [("text-align", "left")]}
            for i, c in enumerate(shown.columns) if c in text]
    return styler.set_table_styles(head, overwrite=False) if head else styler


def _date_cell(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _number_cell(kind: str, decimals: int | None):
    return lambda value: labels.number(value, kind, decimals)


def needs(exc: MissingTableError):
    """What a section shows when the data lack an optional table it needs: which file, and what for."""
    what = f" for {exc.purpose}" if exc.purpose else ""
    return markdown(f"This section needs the {labels.words(exc.table) or 'a'} table{what}, which the data do not have "
                    f"(it is optional in the data contract); the rest of the page does not need it.")


def section(analysis, study, *args, count_cols: Sequence[str] = (), precision: int | None = None):
    """The table `analysis(study, *args)` returns, as the audience may see it; or, when the data
    lack an optional table the analysis needs, a note saying which (the page goes on)."""
    try:
        frame = analysis(study, *args)
    except MissingTableError as exc:
        return needs(exc)
    return table(frame, study.disclosure, count_cols=count_cols, precision=precision)


def survey_scores(study, instrument: str = "nps", xlabel: str = "score (0-10)", scale: tuple[int, int] = (0, 10)):
    """The distribution of one survey instrument's scores (an Axes), or the note that the data have no
    surveys table."""
    from .program_health import score_distribution

    try:
        found = score_distribution(study, instrument)
    except MissingTableError as exc:  # shown here: a notebook ends a figure's cell with ';'
        from IPython.display import display

        display(needs(exc))
        return None
    return scores(found, xlabel=xlabel, scale=scale)


def tiles(*results):
    """The first screen's tiles (verdict, best estimate, platform figure, money) for a notebook to
    display, from the results' estimates (None results skipped)."""
    from IPython.display import HTML

    return HTML(narrate.tiles(Estimates.combine(*(r for r in results if r is not None))))


def sanity_warnings(study):
    """The data's sanity warnings (`sanity.warnings`) as a table, or one sentence when there are none."""
    from . import sanity

    found = sanity.warnings(study.dataset)
    if found.empty:
        return markdown("No sanity warnings: no date after today, no sign-up far outside its cohort, no department "
                        "or location names that differ only in case or spaces.")
    return table(found, study.disclosure)


def populations(study):
    """Every population's count (eligible, enrolled, matched, active, completed, withdrawn), one
    row per role: the one table of counts every page shows (cells tagged `pop-<role>-<population>`)."""
    from . import populations as pop

    found = pop.published(study)  # small counts, and counts a few short of a group that holds them, withheld
    tags = pd.DataFrame([[""] + [f"pop-{role} pop-{role}-{p}" for p in pop.POPULATIONS] for role in found["role"]])
    return table(found, study.disclosure, tags=tags)


def goals_per_participant(study):
    """How many goals each participant set (a category, never blanked) and how many participants
    set that many (blanked when few), or the note that the data have no goals table."""
    from .program_health import goals_per_participant as per_participant

    try:
        frame = per_participant(study)
    except MissingTableError as exc:
        return needs(exc)
    return table(frame.assign(goals=frame["goals"].astype("str")), study.disclosure, count_cols=["participants"])


def funnel_rates(funnel_table: pd.DataFrame, disclosure: Disclosure):
    """The funnel as percentages (of the stage before and of the eligible, with 95% intervals); the
    counts themselves are in `populations`. A stage with a suppressed count shows no percentage."""
    t = funnel_table
    if disclosure.stakeholder:  # the counts `populations.published` withholds, and any rate that gives one back
        hidden = _withheld(t, disclosure)
        before = pd.Series(hidden).groupby(t["role"].to_numpy()).shift(fill_value=False).to_numpy(dtype=bool)
        rates = ["pct_of_eligible", "ci_low", "ci_high"]
        t = t.assign(**{c: t[c].mask(hidden) for c in rates}, pct_of_previous=t["pct_of_previous"].mask(hidden | before))
    t = t[t["stage"] != "eligible"]
    return table(t.drop(columns=["count", "withheld"], errors="ignore"), disclosure)


def _withheld(funnel_table: pd.DataFrame, disclosure: Disclosure) -> np.ndarray:
    """The funnel's stages whose counts this audience may not read: as `populations.published`
    decided (column withheld), else the small ones."""
    if "withheld" in funnel_table:
        return funnel_table["withheld"].to_numpy(dtype=bool)
    n = funnel_table["count"]
    return ((n > 0) & (n < disclosure.min_cell_size)).to_numpy()


def _unit_kind(unit: str) -> str:
    """How an estimate's numbers are formatted, from its unit."""
    if "ratio" in unit or "points (1-5" in unit:
        return "score"
    if unit in ("cohorts",):
        return "count"
    if unit.startswith("pp"):
        return "pp"  # an effect in percentage points: signed
    return "money" if unit.isupper() and len(unit) == 3 else "level"


def estimates(found, disclosure: Disclosure):
    """Estimates as readers see them: who, what (with its unit), how (in words), the figure and its
    interval (the page states the level once), group sizes; the headline rows first. Takes an
    Estimates collection or any result with `.estimates`."""
    frame = (found if isinstance(found, Estimates) else found.estimates).to_frame()
    t = frame.sort_values(["headline", "role"], ascending=[False, True], kind="stable").reset_index(drop=True)
    if disclosure.stakeholder:
        t = suppress(t, ["n_treated", "n_control"], disclosure.min_cell_size, ["estimate", "ci_low", "ci_high"],
                     by=("rows",))  # each row a figure of its own: no total runs down the columns
    kinds = [_unit_kind(str(u)) for u in t["unit"]]
    methods = t["method"].map(labels.words) if disclosure.stakeholder else t["method"].map(labels.technical)
    shown = pd.DataFrame({
        "role": t["role"].map(labels.words),
        "measure": [labels.measure(e, u) for e, u in zip(t["estimand"], t["unit"].astype("str"), strict=True)],
        "method": methods,
        "estimate": [labels.number(v, k) for v, k in zip(t["estimate"], kinds, strict=True)],
        "interval": [labels.interval(lo, hi, k) for lo, hi, k in zip(t["ci_low"], t["ci_high"], kinds, strict=True)],
        "participants": t["n_treated"],
        "comparison": t["n_control"],
    })
    return table(shown, disclosure)


def design_checks(result, disclosure: Disclosure):
    """The applicant design's arms (applicants, left before the start, took part), or a note when
    the cohort has no applicant design."""
    applicant = getattr(result, "applicants", None)
    if applicant is None:
        return markdown("No lottery or capacity design for this cohort: places were not offered at random, and too "
                        "few applicants were left without a place to compare with.")
    arms = applicant.arms.rename(columns={"left_before_start": "left before the start",
                                          "left_before_start_pct": "left before the start (%)",
                                          "took_part": "took part", "took_part_pct": "took part (%)"})
    return table(arms, disclosure, count_cols=["applicants", "left before the start", "analysed", "took part"])


def sensitivity(result, disclosure: Disclosure):
    """How much it would take to overturn the non-randomized estimates: the placebo start, bounds
    on departures from parallel trends, E-values and robustness values, each with its sentence,
    and a table of the figures."""
    from . import sensitivity as sens

    lines = []
    fake = getattr(result, "placebo", None)
    if fake is not None:
        lines.append(fake.sentence())
    trends = getattr(result, "trends", None)
    if trends is not None:
        lines.append(trends.sentence())
    found = sens.of(result)
    lines += [t for t in found["sentence"] if t]
    lines += [n for n in result.notes if n.startswith(("Placebo not available", "Sensitivity to parallel trends"))]
    if not lines:
        return markdown("Every estimate on this page is randomized or descriptive: no sensitivity analysis is needed.")
    from IPython.display import display

    display(markdown("\n\n".join(f"- {line}" for line in lines)))
    if disclosure.stakeholder:  # the sentences carry the finding; the figures behind them are for analysts
        return None
    if len(found):
        names = {"e_value": "E-value (risk-ratio scale)", "robustness_value": "robustness value (share of variance)"}
        t = found.assign(measure=found["measure"].map(names)).drop(columns="sentence").rename(
            columns={"value_ci": "for the interval"})
        display(table(t, disclosure, precision=2))
    if trends is not None:
        both = pd.concat([trends.relative_magnitudes, trends.smoothness], ignore_index=True)
        display(table(both.rename(columns={"m": "M (or M-bar)"}), disclosure, precision=3))
    return None


def overlap(result, disclosure: Disclosure):
    """For a capacity design: each group's chance of a place given department, level and history
    (the propensity), as quantiles, so a reader sees where matched and unmatched applicants are
    comparable; nothing for other designs."""
    applicant = getattr(result, "applicants", None)
    if applicant is None or applicant.overlap is None:
        return None
    t = applicant.overlap.reset_index().rename(columns={"arm": "chance of a place, applicants who", "count": "people", "min": "lowest",
                                                        "50%": "median", "max": "highest"})
    t["chance of a place, applicants who"] = t["chance of a place, applicants who"].astype("str")
    return table(t, disclosure, count_cols=["people"], precision=2)


def forest(pooled, estimand: str = "retention_12m", ax=None):
    """Each cohort's effect on participants and the pooled effect, with 95% intervals, one row per
    cohort and design (a forest plot); pooled rows are diamonds."""
    import matplotlib.pyplot as plt

    from .estimates import DESIGNS

    rows = []
    for design in DESIGNS:  # each design's cohorts in the order they started, then their pooled effect
        rows += [e for e in (*pooled.cohorts, *pooled.estimates) if e.estimand == estimand and e.design == design
                 and e.method.startswith("tot")]
    made = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * max(len(rows), 2) + 1.2))
    if not rows:
        ax.text(0.5, 0.5, f"no cohort has an effect on participants for {estimand}", ha="center", va="center")
        ax.set_axis_off()
        return ax
    y = np.arange(len(rows))[::-1]
    for yi, e in zip(y, rows, strict=True):
        pooled_row = e.cohort_id == "pooled"
        ax.errorbar(e.estimate, yi, xerr=[[e.estimate - e.ci_low], [e.ci_high - e.estimate]], fmt="D" if pooled_row else "o",
                    color="#D55E00" if pooled_row else "#0072B2", ms=8 if pooled_row else 5, capsize=3)
    ax.set_yticks(y, [f"{'all cohorts pooled' if e.cohort_id == 'pooled' else e.cohort_id} "
                      f"({labels.DESIGNS.get(e.design, e.design)}, {e.evidence})" for e in rows])
    ax.axvline(0, color="#999999", lw=0.8)
    ax.set_xlabel(f"effect on participants: {labels.words(estimand)}")
    ax.spines[["top", "right"]].set_visible(False)
    best = [e for e in rows if e.cohort_id == "pooled"]
    finding = (f"; pooled: {best[0].estimate:+.1f} pp, 95% interval {best[0].ci_low:+.1f} to {best[0].ci_high:+.1f}"
               if best else "")
    alt = f"Forest plot of each cohort's effect on participants, {labels.words(estimand)}, with 95% intervals{finding}."
    return described(ax, alt) if made else ax


def headline_estimates(compared: Comparison):
    """Every cohort's headline estimates (the cross-cohort table), one row per cohort and measure."""
    t = compared.estimates.where(headline=True).to_frame().rename(columns={"cohort_id": "cohort"})
    return table(t[["cohort", "estimand", "method", "estimate", "ci_low", "ci_high"]], compared.disclosure)


def early_warning_section(study):
    """The mid-program early warning as the audience may see it, or the note that the data have no
    matches table."""
    from .program_health import early_warning

    try:
        found = early_warning(study)
    except MissingTableError as exc:
        return needs(exc)
    return early_warnings(found, study.disclosure)


def early_warnings(warnings: pd.DataFrame, disclosure: Disclosure):
    """The mid-program early warning: one row per match for analysts, the counts for stakeholders."""
    if disclosure.stakeholder:
        from .program_health import early_warning_counts

        counts = early_warning_counts(warnings)
        return table(counts, disclosure, count_cols=list(counts.columns))  # counts of 1-4 matches are blanked
    return table(warnings, disclosure)


def event_study_section(result, study, outcome: str, between: str):
    """The event-study chart of `outcome` (e.g. "voluntary exits") between two groups, by period of
    the params' unit relative to the start, with its caption and pre-trend sentence, or a note
    saying why it is not available."""
    period = study.params.period
    caption = (f"Difference in {outcome} per {period} (percentage points) between {between}, by {period} relative to "
               f"the start, with bands that hold for every {period} at once; the {period} before the start is the "
               f"reference. Before the start the differences should hover around zero. {narrate.data_span(study)}")
    if result.event_study is None:
        return markdown(" ".join(result.notes) or "The event study is not available for this cohort.")
    from IPython.display import display

    display(markdown(caption.strip()))
    label = f"difference in {outcome} per {period} (pp)"
    sentence = narrate.pretrend(result.event_study)
    ax = result.event_study.plot(label=label)
    ax.set_xlabel(f"{period}s relative to the start (the {period} before the start is the baseline, drawn at 0)")
    described(ax, f"Event study: {label}, by {period} relative to the start, with bands for every {period} at once. "
                  f"{sentence}")
    return markdown(sentence)


def survival(result):
    """Who stayed: the share still employed by months since the start, participants against their
    matched comparisons (an Axes with its alt text)."""
    return described(result.plot_survival(), "Share still employed by months since the cohort started, participants "
                                              "against matched comparisons.")


def rollout(found, outcome: str):
    """The staggered rollout's change in `outcome` (e.g. "voluntary exits") per 100 employees, by
    periods since a department was first reached, with bands (an Axes with its alt text); nothing
    when the rollout has no estimate (`narrate.rollout` says why)."""
    if found.result is None:
        return None
    label = f"change in {outcome} per 100 employees per {found.period} (pp)"
    ax = found.aggregate("dynamic").plot(label=label)
    ax.set_xlabel(f"{found.period}s since a cohort first reached the department and location (0 = the first)")
    return described(ax, f"Staggered rollout: {label}, by {found.period}s since a cohort first reached a department "
                         f"and location, with 95% bands.")


def rollout_section(studies, outcome: str = "exited_voluntary", what: str = "voluntary exits"):
    """The staggered rollout across the studies' cohorts (figure and paragraph), or the sentence
    saying why there is none (e.g. cohorts of several programs: each company invited its own
    departments)."""
    from .summary import rollout as across

    try:
        found = across(studies, outcome)
    except NotEstimable as exc:
        return markdown(f"No rollout across these cohorts: {html.escape(str(exc))}.")
    rollout(found, what)  # shown with its alt text in a notebook
    return markdown(narrate.rollout(found, what))


def between_programs(studies, estimand: str = "retention_12m"):
    """Each program's answer and the random-effects pool across programs with how much they differ
    (a table and its paragraph), or the sentence saying why there is none."""
    from IPython.display import display

    from . import pooling

    try:
        found = pooling.between_programs(studies, estimand)
    except NotEstimable as exc:
        text = html.escape(str(exc))
        return markdown(f"{text[:1].upper()}{text[1:]}.")  # the reason as written, its first letter capital
    display(markdown(narrate.between_programs(found)))
    frame = found.to_frame().drop(columns="std_error").rename(
        columns={"estimate": "effect_pp", "ci_low": "effect_pp_ci_low", "ci_high": "effect_pp_ci_high"})
    disclosure = Disclosure.strictest(s.disclosure for s in studies)
    return table(frame, disclosure, count_cols=["participants"])


def balance_section(result):
    """The love plot of the matched comparison, or a note saying why there is none."""
    from .matching import love_plot

    if result.balance is None:
        return markdown(" ".join(result.notes) or "No matched comparison for this cohort.")
    described(love_plot(result.balance), "Balance before and after matching: standardized mean differences of each "
                                          "characteristic; below 0.1 counts as balanced.")
    return None


def deviations(study, disclosure: Disclosure):
    """The cohort's deviations from its preregistered lottery: a count for everyone, the list for
    analysts; nothing when the params name no preregistration."""
    from .preregistration import check

    found = check(study)
    if found is None:
        return None
    markdown(f"**Preregistration:** {found.summary()}")
    if found.count and not disclosure.stakeholder:
        return table(found.to_frame(), disclosure)
    return None


def costs(study):
    """The cohort's cost lines in the params' currency, largest first, with each line's share (%)."""
    from .roi import costs as cost_lines

    lines = cost_lines(study)
    frame = pd.DataFrame({"cost line": lines["category"].str.replace("_", " "),
                          f"amount ({study.params.currency})": lines["amount"].round(0), "share (%)": lines["share"]})
    return table(frame, study.disclosure, precision=0)


def roi_line(returns):
    """ROI against the cut in 12-month exits, with the break-even and the evidence's interval (an
    Axes), or the reason there is no ROI. Takes an ROIAttempt (a cohort) or an ROIResult (the
    program)."""
    if getattr(returns, "result", returns) is None:
        return markdown(f"No return on investment: {html.escape(returns.reason)}.")
    r = getattr(returns, "result", returns)
    return described(r.plot(), f"Return on investment against the cut in 12-month exits: break-even at "
                               f"{r.break_even:.1f} pp; verdict: {r.verdict}.")


def detectable(found, disclosure: Disclosure):
    """What each design can detect (minimum detectable effects, pp), this cohort, pooled so far and
    with a lottery in the next cohort, or the reason there is no such table."""
    from .narrate import what_it_takes

    if found is None:
        return markdown("No minimum detectable effects: the cohort has no applicants on record.")
    markdown(what_it_takes(found.estimates, "voluntary_exit_12m", found.break_even))
    t = found.to_frame()
    scope = {"this_cohort": "this cohort", "pooled_so_far": "pooled so far", "next_lottery": "next cohort's lottery"}
    what = {"retention_12m": "12-month retention", "voluntary_exit_12m": "12-month voluntary exits",
            "promotion_12m": "promotion within 12 months"}
    frame = pd.DataFrame({"outcome": t["estimand"].map(what), "evidence": t["scope"].map(scope), "design": t["design"],
                          "detectable effect (pp)": t["mde"], "people": t["people"], "how": t["note"]})
    return table(frame, disclosure, count_cols=("people",), precision=1)


def roi_sensitivity(returns: ROIAttempt, disclosure: Disclosure):
    """ROI at fixed turnover-cost multipliers, or nothing when the cohort has no ROI."""
    from .roi import sensitivity

    return table(sensitivity(returns.result), disclosure, precision=1) if returns.result is not None else None


# ---------------------------------------------------------------- figures

def described(ax, alt: str):
    """Show a figure in the notebook with its alt text (what it shows and its finding, for screen
    readers and the HTML report) and return its Axes; outside a notebook only the Axes."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        return ax
    if get_ipython() is None or getattr(get_ipython(), "kernel", None) is None:
        return ax
    import matplotlib.pyplot as plt

    display(ax.figure, metadata={"image/png": {"alt": alt}})
    plt.close(ax.figure)
    return ax


def headcount(headcount: pd.DataFrame, ax=None):
    """Headcount (line, left axis) and voluntary / involuntary exits per period (bars, right axis)."""
    import matplotlib.pyplot as plt

    made = ax is None
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
    first, last = (int(headcount["headcount_end"].iloc[k]) for k in (0, -1))
    alt = (f"Headcount and exits per period from {x.iloc[0]:%Y-%m} to {x.iloc[-1]:%Y-%m}: headcount {first:,} at the "
           f"start, {last:,} at the end.")
    return described(ax, alt) if made else ax


def funnel(funnel_table: pd.DataFrame, disclosure: Disclosure | None = None, ax=None):
    """Participation funnel per role: percent of the eligible at each stage on a linear scale, each
    bar labelled with its count of people (seaborn grouped bars); for stakeholders a stage below the
    minimum cell size has no bar and no label."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    made = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.4))
    stages = ["eligible", "enrolled", "matched", "active", "completed"]
    t = funnel_table[funnel_table["stage"].isin(stages)].assign(who=lambda d: d["role"] + "s")
    if disclosure is not None and disclosure.stakeholder:
        small = _withheld(t, disclosure)
        t = t.assign(count=t["count"].astype("Float64").mask(small), pct_of_eligible=t["pct_of_eligible"].mask(small))
    sns.barplot(data=t, x="stage", y="pct_of_eligible", hue="who", order=stages, hue_order=["mentees", "mentors"],
                palette=[COLOURS["mentee"], COLOURS["mentor"]], errorbar=None, ax=ax)
    for bars, who in zip(ax.containers, ["mentees", "mentors"], strict=False):
        shown = t[t["who"] == who].set_index("stage").reindex(stages)
        shown = shown[shown["pct_of_eligible"].notna()]  # seaborn draws no bar for a hidden stage
        ax.bar_label(bars, labels=[f"{int(n):,}" for n in shown["count"]], fontsize=8, padding=2)
    ax.set_xlabel("")
    ax.set_ylabel("% of the eligible")
    ax.set_ylim(0, 112)
    ax.legend(frameon=False, title=None, loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)
    if not made:
        return ax
    mentees = t[t["who"] == "mentees"].set_index("stage")
    share = mentees["pct_of_eligible"].get("completed", float("nan"))
    return described(ax, "Participation funnel: the percent of eligible mentees and mentors at each stage, eligible to "
                         f"completed, labelled with counts; {share:.1f}% of eligible mentees completed.")


def scores(distribution: pd.DataFrame, ax=None, xlabel: str = "score (0-10)", scale: tuple[int, int] = (0, 10)):
    """Distribution of survey scores per respondent role (percent of answers; seaborn grouped bars),
    every score of the scale on the axis, so that a score nobody gave shows as a gap."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    made = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.2))
    d = distribution[distribution["respondent_role"].isin(["mentee", "mentor"])]
    d = d.assign(share=100 * d["answers"] / d.groupby("respondent_role")["answers"].transform("sum"),
                 who=d["respondent_role"] + "s", score=d["score"].astype(int))
    order = [r for r in ("mentees", "mentors") if r in set(d["who"])]
    sns.barplot(data=d, x="score", y="share", hue="who", hue_order=order, order=list(range(scale[0], scale[1] + 1)),
                palette=[COLOURS[r[:-1]] for r in order], errorbar=None, ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("% of answers")
    ax.legend(frameon=False, title=None)
    ax.spines[["top", "right"]].set_visible(False)
    alt = f"Distribution of answers, {xlabel}, mentees and mentors, percent of each group's answers."
    return described(ax, alt) if made else ax


def by_cohort(compared: Comparison, estimand: str, ax=None, label: str | None = None):
    """One estimand across cohorts (in order of their start): the headline with its interval, and
    the naive figure beside it."""
    import matplotlib.pyplot as plt

    made = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.4))
    found = compared.estimates.where(estimand=estimand)
    x = {c: i for i, c in enumerate(c for c in compared.cohort_ids if found.where(cohort_id=c))}
    head = found.where(headline=True)
    causal = any(e.design not in ("descriptive", "") for e in head)
    ax.errorbar([x[e.cohort_id] for e in head], [e.estimate for e in head],
                yerr=[[e.estimate - e.ci_low for e in head], [e.ci_high - e.estimate for e in head]], fmt="o",
                color="#0072B2", capsize=3, label="honest estimate (95% interval)" if causal else
                "the cohort's figure (95% interval)")
    naive = found.where(method="naive")
    if naive:
        ax.scatter([x[e.cohort_id] + 0.15 for e in naive], [e.estimate for e in naive], marker="D", facecolors="none",
                   edgecolors="#D55E00", label="naive comparison")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(list(x.values()), list(x.keys()))
    if sum(len(str(c)) for c in x) > 60:  # many or long names (program/cohort): slanted, so they never overlap
        ax.tick_params(axis="x", labelrotation=30)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    ax.set_ylabel(label or labels.words(estimand))
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2)  # above the plot, never on a bar
    ax.spines[["top", "right"]].set_visible(False)
    alt = (f"{label or labels.words(estimand)} by cohort, in order of their start, with 95% intervals"
           + (" and the naive comparison beside each" if naive else "") + ".")
    return described(ax, alt) if made else ax
