"""What readers see: plain-language findings, tables that respect the audience's privacy rules,
and the HTML rendering of executed notebooks plus the reports index."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .data import Dataset
from .params import CohortParams
from .privacy import suppress

TEMPLATES = Path(__file__).parent / "templates"


def _fmt_date(ts) -> str:
    return "unknown" if pd.isna(ts) else pd.Timestamp(ts).strftime("%d %b %Y").lstrip("0")


def overview_findings(ds: Dataset, params: CohortParams) -> str:
    """The data overview's opening paragraph, in Markdown: what the data covers and this cohort's size."""
    from .data import quality_notes
    from .metrics import cohort_sizes

    emp = ds.employees
    cohort = ds.cohorts.set_index("cohort_id").loc[params.cohort_id]
    sizes = cohort_sizes(ds, params.cohort_id).set_index("role")["enrolled"]
    summary = ds.summary()
    present = summary[summary["rows"] > 0]
    first = emp["termination_date"].min() if "termination_date" in emp else emp["hire_date"].min()
    issues = quality_notes(ds)
    flagged = issues[issues["rows_affected"] > 0]
    k = params.min_cell_size

    def count(role: str) -> str:
        n = int(sizes.get(role, 0))
        if params.audience == "stakeholder" and 0 < n < k:
            return f"fewer than {k}"
        return f"{n:,}"

    lines = [
        f"**{cohort['name']}** (`{params.cohort_id}`) ran from {_fmt_date(cohort['start_date'])} "
        f"to {_fmt_date(cohort['end_date'])} with **{count('mentee')} mentees** and **{count('mentor')} mentors** enrolled.",
        "",
        f"- The data set holds {len(emp):,} employees and {len(present)} of {len(summary)} tables; "
        f"exits are recorded from {_fmt_date(first)} to {_fmt_date(emp['termination_date'].max() if 'termination_date' in emp else pd.NaT)}.",
        f"- {len(ds.cohorts)} cohorts in all; every table passed validation.",
        f"- {len(flagged)} data-quality note{'s' if len(flagged) != 1 else ''} to read before trusting the analyses"
        + (" (listed at the end)." if len(flagged) else "."),
    ]
    return "\n".join(lines)


def table(frame: pd.DataFrame, params: CohortParams, count_cols: Sequence[str] = (), precision: int = 1):
    """A table as the audience may see it, ready to display: stakeholders get small counts
    suppressed (shown as a dash); no row index; dates as YYYY-MM-DD; numbers rounded."""
    if params.audience == "stakeholder" and count_cols:
        derived = [c for c in frame.columns if c not in count_cols and pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c])]
        frame = suppress(frame, list(count_cols), params.min_cell_size, derived)
    dates = {c: (lambda v: "" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d"))
             for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])}
    styler = frame.style.hide(axis="index").format(precision=precision, na_rep="\u2014", thousands=",")
    if dates:
        styler = styler.format(dates, subset=list(dates))
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    return styler.set_properties(subset=text, **{"text-align": "left"}) if text else styler


# ---------------------------------------------------------------- HTML

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;max-width:100rem;margin:2rem auto;
padding:0 1rem;color:#1b1b1b;line-height:1.5}
table{border-collapse:collapse;font-size:.9rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th{background:#f3f3f3}td.fail{color:#b00020;white-space:nowrap}td.ok{color:#1b7a1b;white-space:nowrap}a{color:#0b5cad}td.head{text-align:left;font-size:.8rem;min-width:24rem}
"""


def render_html(notebook: Path, out: Path, audience: str = "stakeholder", footer: dict | None = None,
                private_ids: set[str] | None = None, title: str | None = None) -> Path:
    """Render an executed notebook to self-contained HTML; stakeholders see no code cells, and with
    `private_ids` a stakeholder report that shows any of them is refused (ValueError) rather than
    published. The file is written beside its destination first and renamed, so readers never see
    half of it."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)], embed_images=True)
    exporter.exclude_input = audience == "stakeholder"
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    resources = {"metadata": {"name": title or out.stem}}
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4), resources=resources)
    if audience == "stakeholder" and private_ids:
        leaks = privacy_leaks(body, private_ids)
        if leaks:
            raise ValueError(f"privacy gate: the stakeholder report shows employee ids or names from the data "
                             f"(e.g. {', '.join(leaks)}); it was not published")
    if audience == "stakeholder":
        longest = longest_table(body)
        if longest > MAX_STAKEHOLDER_TABLE_ROWS:
            raise ValueError(f"privacy gate: the stakeholder report has a table of {longest} rows (more than "
                             f"{MAX_STAKEHOLDER_TABLE_ROWS}), which looks row-level; stakeholder reports show "
                             f"aggregates only; it was not published")
    if footer:
        body = with_footer(body, footer)
    _atomic_write(out, body)
    return out


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _index_headlines(cohort_dir: Path) -> str:
    """Headline retention and promotion effects of a cohort, from its estimates.csv, for the index."""
    path = cohort_dir / "estimates.csv"
    if not path.exists():
        return ""
    e = pd.read_csv(path)
    e = e[e["role"] == "mentee"]
    parts = []
    for estimand, label in (("retention_12m", "retention"), ("promotion_12m", "promotion"), ("roi", "ROI %")):
        head = e[(e["estimand"] == estimand) & e["headline"]]
        naive = e[(e["estimand"] == estimand) & (e["method"] == "naive")]
        if len(head):
            h = head.iloc[0]
            n = f" [{naive['estimate'].iloc[0]:+.1f}]" if len(naive) else ""
            parts.append(f"{label} {h['estimate']:+.1f} ({h['ci_low']:+.1f} to {h['ci_high']:+.1f}){n}")
    return html.escape("; ".join(parts))


def write_index(out_dir: Path, results: pd.DataFrame) -> Path:
    """reports/index.html: one row per cohort, one column per notebook, with status, time and link
    (a failed report links the executed notebook with its error, and the last good report if there
    is one); the failures listed below with the failing cell and the error. `results` has cohort_id,
    notebook, status, seconds, html (path relative to out_dir), cell and message."""
    notebooks = sorted(dict.fromkeys(results["notebook"]))
    cohorts = list(dict.fromkeys(results["cohort_id"]))
    cells = results.set_index(["cohort_id", "notebook"])
    head = "".join(f"<th>{html.escape(nb.replace('_', ' '))}</th>" for nb in notebooks)
    rows = []
    for c in cohorts:
        tds = []
        for nb in notebooks:
            if (c, nb) not in cells.index:
                tds.append("<td></td>")
                continue
            r = cells.loc[(c, nb)]
            link = html.escape(str(r["html"]))
            if r["status"] in ("done", "skipped"):
                when = "unchanged" if r["status"] == "skipped" else f"{r['seconds']:.0f} s"
                tds.append(f'<td class="ok"><a href="{link}">report</a> ({when})</td>')
                continue
            parts = ["failed"]
            if r["html"]:
                executed = Path(str(r["html"])).with_suffix(".failed.ipynb")
                if (out_dir / executed).exists():
                    parts.append(f'<a href="{html.escape(executed.as_posix())}">notebook</a>')
                if (out_dir / str(r["html"])).exists():
                    parts.append(f'<a href="{link}">last good</a>')
            tds.append(f'<td class="fail">{" &middot; ".join(parts)}</td>')
        rows.append(f"<tr><th>{html.escape(c)}</th><td class='head'>{_index_headlines(out_dir / c)}</td>{''.join(tds)}</tr>")
    from .batch import failures as grouped_failures
    from .batch import notebook_list

    failures = grouped_failures(results)
    fail_html = "".join(
        f"<li><b>{html.escape(cohort)} / {html.escape(notebook_list(names))}</b>"
        + (f" at <code>{html.escape(cell)}</code>" if cell else "")
        + f": {html.escape(message)}</li>" for cohort, names, cell, message in failures)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Mentoring evaluation reports</title>"
            f"<style>{_CSS}</style></head><body><h1>Mentoring evaluation reports</h1>"
            f"<p>Headline: the effect on mentees in percentage points (ROI in %), with its 95% interval; "
            f"the naive comparison a platform would print in brackets.</p>"
            f"<table><tr><th>cohort</th><th>headline</th>{head}</tr>{''.join(rows)}</table>"
            + (f"<h2>Failures</h2><ul>{fail_html}</ul>" if len(failures) else "<p>Every report ran.</p>")
            + "</body></html>\n")
    path = out_dir / "index.html"
    _atomic_write(path, page)
    return path


METHOD_LABELS = {
    "naive": "naive: participants vs everyone else",
    "itt_did": "whole eligible group vs comparison departments (ITT)",
    "tot_wald": "effect on participants (ITT / participation share)",
    "km_matched": "matched survival (Kaplan-Meier)",
    "cox_matched": "matched Cox hazard ratio",
    "did_matched": "matched difference-in-differences",
    "cs_att": "Callaway & Sant'Anna",
}


def estimates_table(frame: pd.DataFrame, params: CohortParams):
    """Estimates as readers see them: what, how, the figure and its 95% interval, group sizes;
    the headline rows first."""
    t = frame.sort_values(["headline", "role"], ascending=[False, True], kind="stable")
    shown = pd.DataFrame({
        "role": t["role"],
        "measure": t["estimand"].str.replace("_", " "),
        "method": t["method"].map(METHOD_LABELS).fillna(t["method"]),
        "estimate": t["estimate"],
        "95% interval": [f"{lo:+.2f} to {hi:+.2f}" if pd.notna(lo) else "" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)],
        "participants": t["n_treated"],
        "comparison": t["n_control"],
        "headline": np.where(t["headline"], "yes", ""),
    })
    return table(shown, params, count_cols=["participants", "comparison"], precision=2)


def markdown(text: str):
    """Display Markdown in a notebook (plain text elsewhere)."""
    try:
        from IPython.display import Markdown
    except ImportError:  # pragma: no cover
        return text
    return Markdown(text)


def pretrend_sentence(study) -> str:
    """One sentence on the joint test of the pre-period differences of an event study."""
    test = study.pretrend_test()
    verdict = ("no sign that the groups were already drifting apart" if test.pvalue >= 0.05 else
               "the groups were already drifting apart before the start, so read the estimates with caution")
    return f"Joint test that every pre-period difference is zero: p = {test.pvalue:.2f}; {verdict}."


def rollout_sentence(result, what: str = "voluntary exits") -> str:
    """One paragraph on the staggered-rollout estimate across all cohorts."""
    s = result.aggregate("simple")
    inside = s.ci_low <= 0 <= s.ci_high
    return (f"**Across all cohorts' rollout:** once a cohort first reached a department and location, its monthly "
            f"{what} changed by {s.overall_att:+.2f} per 100 employees (95% CI {s.ci_low:+.2f} to {s.ci_high:+.2f}), "
            f"compared with departments and locations not yet or never reached (Callaway & Sant'Anna)."
            + (" The interval includes zero." if inside else ""))


def baseline_findings(base: pd.DataFrame) -> str:
    """The baseline's opening paragraph: turnover and promotion of the eligible before launch."""
    rows = base.set_index("group")
    lines = []
    for group in ("eligible mentees", "eligible mentors", "all employees"):
        if group in rows.index:
            r = rows.loc[group]
            lines.append(f"- **{group.capitalize()}** (about {r['average_headcount']:,.0f} people): "
                         f"{r['turnover_rate']:.1f}% left per year ({r['voluntary_turnover_rate']:.1f}% voluntarily), "
                         f"{r['promotion_rate']:.1f}% were promoted, {r['internal_move_rate']:.1f}% moved department; "
                         f"mean engagement {r['mean_engagement']:.2f} of 5.")
    return ("In the 12 months before the cohort started (turnover = separations / average headcount, per year):\n\n"
            + "\n".join(lines) + "\n\nThese are the figures the program's goals are set against.")


def program_findings(estimates: pd.DataFrame) -> str:
    """Program health in plain language, from the program_estimates rows (mentees first)."""
    e = estimates.set_index(["role", "estimand"])
    lines = []

    def get(role, estimand):
        return e.loc[(role, estimand)] if (role, estimand) in e.index else None

    for role in ("mentee", "mentor"):
        parts = []
        s, m = get(role, "signup_rate"), get(role, "match_rate")
        if s is not None:
            parts.append(f"{s['estimate']:.0f}% of eligible {role}s signed up (95% CI {s['ci_low']:.0f} to {s['ci_high']:.0f})")
        if m is not None:
            parts.append(f"{m['estimate']:.0f}% of them were matched")
        sk = e[(e.index.get_level_values(0) == role) & (e["method"] == "paired_prepost")] if "method" in e else None
        if sk is not None and len(sk):
            k = sk.iloc[0]
            parts.append(f"self-rated skills rose by {k['estimate']:.2f} points on a 1-5 scale (95% CI {k['ci_low']:.2f} to "
                         f"{k['ci_high']:.2f}; without a comparison group this is a before/after change, not proof of cause)")
        n = get(role, "nps")
        if n is not None:
            parts.append(f"their net promoter score was {n['estimate']:+.0f} (95% CI {n['ci_low']:+.0f} to {n['ci_high']:+.0f})")
        g = get(role, "goal_attainment")
        if g is not None:
            parts.append(f"{g['estimate']:.0f}% of their goals due so far were achieved by the target date")
        p = get(role, "performance_rating")
        if p is not None:
            parts.append(f"performance ratings changed by {p['estimate']:+.2f} points against matched colleagues "
                         f"(95% CI {p['ci_low']:+.2f} to {p['ci_high']:+.2f})")
        if parts:
            lines.append(f"**{role.capitalize()}s:** " + "; ".join(parts) + ".")
    return "\n\n".join(lines)


def event_study_section(result, label: str):
    """The event-study chart with its pre-trend sentence, or a note saying why it is not available."""
    if result.event_study is None:
        return markdown(" ".join(result.notes) or "The event study is not available for this cohort.")
    result.event_study.plot(label=label)
    return markdown(pretrend_sentence(result.event_study))


def balance_section(result):
    """The love plot of the matched comparison, or a note saying why there is none."""
    from .matching import love_plot

    if result.balance is None:
        return markdown(" ".join(result.notes) or "No matched comparison for this cohort.")
    love_plot(result.balance)
    return None


def retention_power_sentence(result, hoped_for: float = 5.0) -> str:
    """Whether the cohort could detect the retention effect the program hopes for (pp)."""
    from .power import did_mde, warning

    tot = result.retention_tot
    if tot is None:
        return "The population comparison is not available, so its power cannot be judged."
    base = result.naive["rate_others"]
    detectable = did_mde(tot.n_eligible, max(tot.itt.n_obs // 2 - tot.n_eligible, 1), base, tot.share)
    return warning("participants' 12-month retention", hoped_for, detectable)


def roi_section(returns, retention_result, part: str = "findings"):
    """The ROI notebook's pieces (findings, plot, sensitivity), or a note when the cohort has no
    headline retention estimate to price."""
    from .roi import sensitivity

    if returns is None:
        if part == "findings":
            return markdown("**Return on investment:** not available: there is no honest retention estimate for "
                            "this cohort to price. " + " ".join(retention_result.notes))
        return None
    if part == "findings":
        return markdown(returns.findings() + "\n\n" + retention_power_sentence(retention_result))
    if part == "plot":
        returns.plot()
        return None
    return sensitivity(returns)


def provenance(params_files, data_dir, seed=None) -> dict:
    """Where a report came from: package and library versions, git commit, data fingerprint, params
    files and their hashes, the time of the run, the seed."""
    import hashlib
    import platform
    import subprocess
    from datetime import datetime, timezone
    from importlib.metadata import version

    from . import __version__
    from .data import data_fingerprint

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).parent).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    libs = ", ".join(f"{lib} {version(lib)}" for lib in ("pandas", "numpy", "statsmodels", "lifelines", "matplotlib"))
    files = [Path(p) for p in params_files]
    return {
        "mentoring-eval": f"{__version__} (git {commit})",
        "data": f"{data_dir} (fingerprint {data_fingerprint(data_dir)})" if data_dir else "",
        "params": "; ".join(f"{p.name} (sha256 {hashlib.sha256(p.read_bytes()).hexdigest()[:12]})" for p in files),
        "run at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_version()}; {libs}",
        "seed": "" if seed is None else str(seed),
    }


def with_footer(page: str, info: dict) -> str:
    """The report with a provenance footer before </body>."""
    items = "".join(f"<li><b>{html.escape(k)}:</b> {html.escape(str(v))}</li>" for k, v in info.items() if v)
    footer = (f'<footer style="margin-top:3rem;padding-top:.8rem;border-top:1px solid #ccc;font-size:12px;color:#555">'
              f"<div>Provenance</div><ul>{items}</ul></footer>")
    return page.replace("</body>", footer + "</body>", 1) if "</body>" in page else page + footer


_WORD = r"[A-Za-z0-9][A-Za-z0-9_.@\-]*[A-Za-z0-9]"

# A stakeholder table longer than this is taken for a row-level listing. The longest aggregate the
# notebooks show, every cohort's headline estimates in 07, has about 12 rows per cohort, so this
# leaves room for some 40 cohorts; the id and name scan is the main guard, this a backstop.
MAX_STAKEHOLDER_TABLE_ROWS = 500


def privacy_leaks(page: str, values: set[str], limit: int = 5) -> list[str]:
    """Employee ids, names or e-mail addresses from the data that appear in a rendered report, as
    whole words (an id) or runs of words (a name: 'Ada Lovelace' matches 'Ada  Lovelace' too)."""
    import re

    page = re.sub(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+", "", page)  # embedded figures
    words = re.findall(_WORD, page)
    by_length: dict[int, set[str]] = {}
    for value in values:
        parts = re.findall(_WORD, value)
        if parts:
            by_length.setdefault(len(parts), set()).add(" ".join(parts))
    found: set[str] = set()
    for n, wanted in by_length.items():
        runs = set(words) if n == 1 else {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}
        found |= runs & wanted
    return sorted(found)[:limit]


def longest_table(page: str) -> int:
    """Rows of the longest HTML table in a page (header rows included)."""
    import re

    return max((len(re.findall(r"<tr[\s>]", t)) for t in re.findall(r"<table.*?</table>", page, re.S)), default=0)
