"""Publishing: where a cohort's files go, the HTML rendering of executed notebooks with a
provenance footer and the privacy gate (no stakeholder report showing an employee id, a name or
a row-level table), and the reports index."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .errors import MentoringEvalError
from .estimates import Estimates
from .files import atomic_write
from .runlog import failures as grouped_failures
from .runlog import notebook_list
from .version import __version__

if TYPE_CHECKING:
    from .study import Study

TEMPLATES = Path(__file__).parent / "templates"


ALL_COHORTS = "all-cohorts"  # the cross-cohort report's folder


class PrivacyGateError(MentoringEvalError):
    """A stakeholder report would have shown an employee's id, name or e-mail, or a row-level table."""


def folder(study: Study, output_dir: str | Path | None = None) -> Path:
    """The folder a cohort's report files go to: the runner's output directory, or the study's
    default report folder (reports/<cohort_id> beside the params folder)."""
    return Path(output_dir) if output_dir else study.report_dir


def pooled(result, studies, *more, output_dir: str | Path | None = None) -> Path:
    """Write the pooled estimates (cohort_id "pooled") and those of `more` results (the program's
    money) to the cross-cohort folder's estimates.csv: the runner's output directory, or
    reports/all-cohorts beside the first study's report folder."""
    out = Path(output_dir) if output_dir else studies[0].report_dir.parent / ALL_COHORTS
    return Estimates.combine(result, *more).write(out)


def estimates(study: Study, *results, output_dir: str | Path | None = None) -> Path:
    """Merge the estimates of `results` (default: every result the study has computed) into the
    cohort's estimates.csv."""
    found = Estimates.combine(*results) if results else study.estimates
    return found.write(folder(study, output_dir))


_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;max-width:100rem;margin:2rem auto;
padding:0 1rem;color:#1b1b1b;line-height:1.5}
table{border-collapse:collapse;font-size:.9rem}th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th{background:#f3f3f3}td.fail{color:#b00020;white-space:nowrap}td.ok{color:#1b7a1b;white-space:nowrap}a{color:#0b5cad}td.head{text-align:left;font-size:.8rem;min-width:24rem}
"""


def render_html(notebook: Path, out: Path, audience: str = "stakeholder", footer: dict | None = None,
                private_ids: set[str] | None = None, title: str | None = None) -> Path:
    """Render an executed notebook to self-contained HTML; stakeholders see no code cells, and with
    `private_ids` a stakeholder report that shows any of them is refused (PrivacyGateError) rather than
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
            raise PrivacyGateError(f"privacy gate: the stakeholder report shows employee ids or names from the data "
                             f"(e.g. {', '.join(leaks)}); it was not published")
    if audience == "stakeholder":
        longest = longest_table(body)
        if longest > MAX_STAKEHOLDER_TABLE_ROWS:
            raise PrivacyGateError(f"privacy gate: the stakeholder report has a table of {longest} rows (more than "
                             f"{MAX_STAKEHOLDER_TABLE_ROWS}), which looks row-level; stakeholder reports show "
                             f"aggregates only; it was not published")
    if footer:
        body = with_footer(body, footer)
    atomic_write(out, body)
    return out


def _bold(markdown: str) -> str:
    """**bold** Markdown (already HTML-safe) as HTML."""
    import re

    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", markdown)


def _index_headlines(cohort_dir: Path) -> str:
    """A cohort's first screen in one paragraph (verdict, best estimate, platform figure, money,
    what it would take), from its estimates.csv, for the index; its headline effects when it has
    no money rows."""
    from .narrate import decision_brief

    path = cohort_dir / "estimates.csv"
    if not path.exists():
        return ""
    found = Estimates.read(path)
    brief = decision_brief(found)
    if brief:
        return _bold(brief)
    parts = []
    for estimand, label in (("retention_12m", "retention"), ("promotion_12m", "promotion"), ("roi", "ROI %")):
        h, naive = found.headline(estimand), found.naive(estimand)
        if h is not None:
            n = f" [{naive.estimate:+.1f}]" if naive is not None else ""
            grade = f", {h.design}: {h.evidence}" if h.evidence else ""
            parts.append(f"{label} {h.estimate:+.1f} ({h.ci_low:+.1f} to {h.ci_high:+.1f}{grade}){n}")
        elif any("no headline: " in e.note for e in found.where(estimand=estimand, method="tot_wald")):
            n = f" [naive {naive.estimate:+.1f}]" if naive is not None else ""
            parts.append(f"{label}: this cohort alone cannot tell (too few departments compared){n}")
    return html.escape("; ".join(parts))


def _index_pooled(out_dir: Path) -> str:
    """The program's answer so far (from all-cohorts/estimates.csv), for the top of the index: the
    first screen of the cross-cohort page, every cohort's cost and mentees priced with the pooled
    evidence."""
    from .narrate import decision

    path = out_dir / ALL_COHORTS / "estimates.csv"
    if not path.exists():
        return ""
    lines = decision(Estimates.read(path))
    if not lines:
        text = _index_headlines(out_dir / ALL_COHORTS)
        return f"<p class='pooled'><b>All cohorts pooled</b>: {text}</p>" if text else ""
    return ("<div class='pooled'><h2>The program so far, all cohorts pooled</h2>"
            + "".join(f"<p>{_bold(line)}</p>" for line in lines) + "</div>")


def write_index(out_dir: Path, results: pd.DataFrame) -> Path:
    """reports/index.html: one row per cohort, one column per notebook, with status, time and link
    (a failed report links the executed notebook with its error, and the last good report if there
    is one); the failures listed below with the failing cell and the error. `results` has cohort_id,
    notebook, status, seconds, html (path relative to out_dir), cell and message."""
    notebooks = sorted(dict.fromkeys(results["notebook"]))
    cohorts = list(dict.fromkeys(results["cohort_id"]))
    cohorts = [c for c in cohorts if c == ALL_COHORTS] + [c for c in cohorts if c != ALL_COHORTS]  # pooled first
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
    failures = grouped_failures(results)
    fail_html = "".join(
        f"<li><b>{html.escape(cohort)} / {html.escape(notebook_list(names))}</b>"
        + (f" at <code>{html.escape(cell)}</code>" if cell else "")
        + f": {html.escape(message)}</li>" for cohort, names, cell, message in failures)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Mentoring evaluation reports</title>"
            f"<style>{_CSS}</style></head><body><h1>Mentoring evaluation reports</h1>"
            f"{_index_pooled(out_dir)}<p>Each cohort: the verdict on its money, the best evidence on the cut in "
            f"mentees' 12-month exits (percentage points, 95% interval), the figure a platform would print, the "
            f"break-even and what a lottery in the next cohort would detect.</p>"
            f"<table><tr><th>cohort</th><th>first screen</th>{head}</tr>{''.join(rows)}</table>"
            + (f"<h2>Failures</h2><ul>{fail_html}</ul>" if len(failures) else "<p>Every report ran.</p>")
            + "</body></html>\n")
    path = out_dir / "index.html"
    atomic_write(path, page)
    return path


def provenance(params_files, data_dir, seed=None) -> dict:
    """Where a report came from: package and library versions, git commit, data fingerprint, params
    files and their hashes, the time of the run, the seed."""
    import hashlib
    import platform
    import subprocess
    from datetime import datetime, timezone
    from importlib.metadata import version

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
