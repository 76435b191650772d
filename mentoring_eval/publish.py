"""Publishing: where a cohort's files go, the HTML rendering of executed notebooks with a
provenance footer and the privacy gate (no stakeholder report showing an employee id, a name or
a row-level table), and the reports index."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import MentoringEvalError
from .estimates import Estimates
from .files import atomic_write, folder_name, private_dir
from .runlog import failures as grouped_failures
from .runlog import notebook_list
from .version import __version__

if TYPE_CHECKING:
    from .study import Study

TEMPLATES = Path(__file__).parent / "templates"


ALL_COHORTS = "all-cohorts"  # the cross-cohort report's folder

PAGES = {"00_data_overview": "Data", "01_baseline": "Baseline", "02_retention": "Retention",
         "03_promotion": "Promotion", "04_program_health": "Program health", "05_roi": "Return on investment",
         "06_summary": "Summary", "07_cohorts_compared": "All cohorts compared"}
INTERVAL_NOTE = "Intervals on this page are 95% intervals."
# A notebook cell tagged "analyst" (methods with their technical names) is left out of stakeholder
# pages; one tagged "stakeholder" (the same in plain words) out of analyst pages.
ANALYST_TAG, STAKEHOLDER_TAG = "analyst", "stakeholder"


def page_name(notebook: str) -> str:
    """A page's name for readers and links ('Program health' for 04_program_health)."""
    return PAGES.get(notebook, notebook.split("_", 1)[-1].replace("_", " ").capitalize())


def navigation(cohort_id: str, cohort: tuple[str, str, str], current: str, pages: tuple[str, ...]) -> str:
    """The header of every page: the program, the cohort's name and dates, links to the cohort's
    pages, the cross-cohort page and the index (a cross-cohort page links the index and itself),
    and the interval level the page uses."""
    name, start, end = cohort
    shared = cohort_id == ALL_COHORTS
    where = "All cohorts" if shared else (name or cohort_id)
    dates = f" <span class='me-dates'>{html.escape(start)} to {html.escape(end)}</span>" if start and end else ""
    links = []
    for page in pages:
        across = page.startswith("07_")
        if shared and not across:
            continue
        href = f"../{ALL_COHORTS}/{page}.html" if across and not shared else f"{page}.html"
        mark = " aria-current='page'" if page == current else ""
        links.append(f"<li><a href='{html.escape(href)}'{mark}>{html.escape(page_name(page))}</a></li>")
    return (f"<nav class='me-nav' aria-label='reports'><div class='me-where'><a href='../index.html'>Mentoring "
            f"evaluation: all reports</a> &rsaquo; <b>{html.escape(where)}</b>{dates}</div><ul>{''.join(links)}</ul>"
            f"<div class='me-note'>{INTERVAL_NOTE}</div></nav>")


class PrivacyGateError(MentoringEvalError):
    """A stakeholder report would have shown an employee's id, name or e-mail, or a row-level table."""


def folder(study: Study, output_dir: str | Path | None = None) -> Path:
    """The folder a cohort's report files go to: the runner's output directory, or the study's
    scratch folder when a notebook runs on its own (`Study.report_dir`), never the published reports."""
    return Path(output_dir) if output_dir else study.report_dir


def pooled(result, studies, *more, output_dir: str | Path | None = None) -> Path:
    """Write the pooled estimates (cohort_id "pooled") and those of `more` results (the program's
    money) to the cross-cohort folder's estimates.csv: the runner's output directory, or all-cohorts
    in the scratch folder when the notebook runs on its own."""
    out = Path(output_dir) if output_dir else studies[0].report_dir.parent / ALL_COHORTS
    return Estimates.combine(result, *more).write(out)


def estimates(study: Study, *results, output_dir: str | Path | None = None) -> Path:
    """Merge the estimates of `results` (default: every result the study has computed) into the
    cohort's estimates.csv."""
    found = Estimates.combine(*results) if results else study.estimates
    return found.disclosed(study.disclosure).write(folder(study, output_dir))


# One look for every page and the index: a navigation header, tiles for the first screen, tables
# that reflow instead of being cut at the right edge (on screen at 1024 px and in print), print rules.
PAGE_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1b1b;line-height:1.5}
.me-page{max-width:62rem;margin:0 auto;padding:0 1rem}
nav.me-nav{max-width:62rem;margin:0 auto 1rem;padding:.6rem 1rem;border-bottom:2px solid #0b5cad;font-size:14px}
nav.me-nav ul{list-style:none;margin:.3rem 0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem 1rem}
nav.me-nav a{color:#0b5cad;text-decoration:none}nav.me-nav a[aria-current]{font-weight:700;color:#1b1b1b}
.me-dates,.me-note{color:#555}.me-note{font-size:13px}
.me-tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:.8rem;margin:1rem 0}
.me-tile{border:1px solid #d0d7de;border-radius:6px;padding:.7rem .9rem;background:#f8fafc}
.me-tile .me-label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#555}
.me-tile .me-big{font-size:22px;font-weight:650;line-height:1.25;margin:.2rem 0}
.me-tile .me-small{font-size:13px;color:#333}.me-tile.me-verdict{border-left:5px solid #0b5cad}
table{border-collapse:collapse;font-size:13px;max-width:100%}
th,td{padding:.25rem .5rem;border-bottom:1px solid #ddd;text-align:right;vertical-align:top}
th{background:#f3f3f3}
.jp-RenderedHTMLCommon table{table-layout:auto;width:auto;max-width:100%}
.jp-RenderedHTMLCommon th,.jp-RenderedHTMLCommon td{white-space:normal;overflow-wrap:break-word;max-width:18rem}
.jp-RenderedHTMLCommon th{hyphens:manual}
td.fail{color:#b00020}td.ok{color:#1b7a1b}a{color:#0b5cad}td.head{text-align:left;font-size:.85rem;min-width:18rem}
footer.me-footer{margin-top:3rem;padding-top:.8rem;border-top:1px solid #ccc;font-size:13px;color:#555;
font-family:inherit}
footer.me-footer ul{padding-left:1.2rem;margin:.3rem 0}
@media print{
 @page{size:A4;margin:12mm 10mm}
 body{max-width:none;margin:0;padding:0;font-size:10pt}
 nav.me-nav{max-width:none;padding:0 0 .3rem}nav.me-nav ul{display:none}
 .jp-Notebook,.jp-Cell,.jp-OutputArea,.jp-OutputArea-child,.jp-OutputArea-output,
 .jp-MarkdownOutput{overflow:visible!important}
 .jp-Notebook{padding:0!important}.jp-OutputArea-child{table-layout:auto!important}
 h1,h2,h3{break-after:avoid-page}
 .jp-MarkdownCell h2{break-before:page}
 .jp-Cell,.jp-Cell-outputWrapper,.jp-OutputArea,.jp-OutputArea-child,.jp-OutputArea-output{break-inside:auto!important}
 tr,img,.me-tile,.jp-RenderedImage{break-inside:avoid}
 .me-tiles{grid-template-columns:repeat(4,1fr)}.me-tile .me-big{font-size:14pt}
 .jp-RenderedHTMLCommon table,table{font-size:7.5pt;width:100%;max-width:100%}
 .jp-RenderedHTMLCommon th,.jp-RenderedHTMLCommon td,th,td{max-width:none;padding:1px 3px}
 img{max-width:100%!important;height:auto}
 a{color:inherit;text-decoration:none}
}
"""



def render_html(notebook: Path, out: Path, audience: str = "stakeholder", footer: dict | None = None,
                private_ids: set[str] | PrivateValues | None = None, title: str | None = None, header: str = "") -> Path:
    """Render an executed notebook to self-contained HTML; stakeholders see no code cells, and with
    `private_ids` a stakeholder report that shows any of them is refused (PrivacyGateError) rather than
    published. The file is written beside its destination first and renamed, so readers never see
    half of it."""
    import nbformat
    from nbconvert import HTMLExporter

    # figures are outputs, embedded as data URIs already; embed_images would also re-parse every inline
    # HTML tag of the Markdown on its own and empty it (<span>35</span> became <span></span>35)
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={ANALYST_TAG if audience == "stakeholder"
                                                                           else STAKEHOLDER_TAG}), enabled=True)
    if audience == "stakeholder":  # warnings and logs are for analysts (the executed notebook keeps them)
        exporter.register_preprocessor(_drop_stderr, enabled=True)
    exporter.exclude_input = audience == "stakeholder"
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    resources = {"metadata": {"name": title or out.stem}}
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4), resources=resources)
    if audience == "stakeholder" and private_ids:
        leaks = privacy_leaks(body, private_ids)
        if leaks:
            what = ("1 employee id, name or e-mail address" if len(leaks) == 1 else
                    f"{len(leaks)}{'+' if len(leaks) >= 5 else ''} employee ids, names or e-mail addresses")
            raise PrivacyGateError(f"privacy gate: the stakeholder report shows {what} from the data; it was not "
                                   f"published (the executed notebook shows where)")
    if audience == "stakeholder":
        longest = longest_table(body)
        if longest > MAX_STAKEHOLDER_TABLE_ROWS:
            raise PrivacyGateError(f"privacy gate: the stakeholder report has a table of {longest} rows (more than "
                             f"{MAX_STAKEHOLDER_TABLE_ROWS}), which looks row-level; stakeholder reports show "
                             f"aggregates only; it was not published")
    if footer:
        body = with_footer(body, footer)
    body = body.replace("</head>", f"<style>{PAGE_CSS}</style></head>", 1)
    if header:
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + header, body, count=1)
    atomic_write(out, body)
    return out


def _drop_stderr(nb, resources):
    """A notebook without its cells' stderr streams (warnings, logs)."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream"
                                                                        and o.get("name") == "stderr")]
    return nb, resources


def _bold(markdown: str) -> str:
    """**bold** Markdown (already HTML-safe) as HTML."""
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
    """The program's answer so far (from all-cohorts/estimates.csv), for the top of the index: tiles
    (verdict, best estimate, platform figure, money), then the first screen of the cross-cohort page,
    every cohort's cost and mentees priced with the pooled evidence."""
    from .narrate import decision, tiles

    path = out_dir / ALL_COHORTS / "estimates.csv"
    if not path.exists():
        return ""
    found = Estimates.read(path)
    lines = decision(found)
    if not lines:
        text = _index_headlines(out_dir / ALL_COHORTS)
        return f"<p class='pooled'><b>All cohorts pooled</b>: {text}</p>" if text else ""
    return ("<div class='pooled'><h2>The program so far, all cohorts pooled</h2>" + tiles(found)
            + "".join(f"<p>{_bold(line)}</p>" for line in lines) + "</div>")


def _page_links(out_dir: Path, cohort: str, notebooks: list[str], cells: pd.DataFrame) -> str:
    """A cohort's pages as links named for the page; a failed page says so, with its executed
    notebook and the last good report when there is one."""
    items = []
    for nb in notebooks:
        if (cohort, nb) not in cells.index:
            continue
        r = cells.loc[(cohort, nb)]
        link = html.escape(str(r["html"]))
        name = html.escape(page_name(nb))
        if r["status"] in ("done", "skipped") and not r["html"]:  # an analyst page: named, never linked
            items.append(f'<li class="me-private">{name}: {html.escape(str(r["message"]))}</li>')
            continue
        if r["status"] in ("done", "skipped"):
            when = "unchanged since the last run" if r["status"] == "skipped" else f"ran in {r['seconds']:.0f} s"
            items.append(f'<li class="ok"><a href="{link}" title="{when}">{name}</a></li>')
            continue
        parts = [f"{name}: failed"]
        if r["html"] and (out_dir / str(r["html"])).exists():
            parts.append(f'<a href="{link}">last good</a>')
        items.append(f'<li class="fail">{" &middot; ".join(parts)}</li>')
    return f"<ul class='me-pages'>{''.join(items)}</ul>"


def _start_of(cohorts: dict, cohort_id: str) -> tuple[str, str]:
    """Sort key: a cohort's start date (unknown ones last), then its id."""
    info = tuple(cohorts.get(cohort_id, ("", "", "")))
    return (info[1] or "9999-99-99", cohort_id)


def write_index(out_dir: Path, results: pd.DataFrame, cohorts: dict | None = None) -> Path:
    """reports/index.html: the program's first screen (tiles and sentences), then one row per
    cohort, all cohorts pooled first and the others by their start date, each with its name, dates,
    first screen in one paragraph and links named for its pages (a failed page links the executed
    notebook with its error, and the last good report if there is one); the failures listed below
    with the failing cell and the error. `results` has cohort_id, notebook, status, seconds, html
    (path relative to out_dir), cell and message; `cohorts` maps cohort ids to (name, start, end)."""
    cohorts = cohorts or {}
    notebooks = sorted(dict.fromkeys(results["notebook"]))
    ids = list(dict.fromkeys(results["cohort_id"]))
    ids = [c for c in ids if c == ALL_COHORTS] + sorted((c for c in ids if c != ALL_COHORTS),
                                                        key=lambda c: _start_of(cohorts, c))
    cells = results.set_index(["cohort_id", "notebook"])
    rows = []
    for c in ids:
        name, start, end = tuple(cohorts.get(c, ("", "", "")))
        if c == ALL_COHORTS:
            label = "<b>All cohorts pooled</b>"
        else:
            label = f"<b>{html.escape(name or c)}</b>" + (f"<br><span class='me-dates'>{html.escape(start)} to "
                                                         f"{html.escape(end)}</span>" if start else "")
        rows.append(f"<tr id='{html.escape(c)}'><th scope='row' class='me-cohort'>{label}</th><td class='head'>"
                    f"{_index_headlines(out_dir / folder_name(c))}</td><td class='me-links'>"
                    f"{_page_links(out_dir, c, notebooks, cells)}</td></tr>")
    failures = grouped_failures(results)
    fail_html = "".join(
        f"<li><b>{html.escape(cohort)} / {html.escape(notebook_list(names))}</b>"
        + (f" at <code>{html.escape(cell)}</code>" if cell else "")
        + f": {html.escape(message)}</li>" for cohort, names, cell, message in failures)
    if len(failures):  # where analysts find the executed notebooks: named, never linked from a shared page
        fail_html += (f"<li class='me-note'>The executed notebooks of failed reports are kept for analysts in "
                      f"{html.escape(private_dir(out_dir).name)}/ beside this folder, which is not for sharing.</li>")
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>Mentoring evaluation reports</title>"
            f"<style>{PAGE_CSS}{_INDEX_CSS}</style></head><body><main class='me-page'>"
            f"<h1>Mentoring evaluation reports</h1><p class='me-note'>{INTERVAL_NOTE} Effects are in percentage "
            f"points (pp).</p>{_index_pooled(out_dir)}<h2>Cohorts</h2><p>Each cohort: the verdict on its money, the "
            f"best evidence on the cut in mentees' 12-month exits, the figure a platform would print, the break-even "
            f"and what a lottery in the next cohort would detect.</p><table class='me-index'><tr><th>cohort</th>"
            f"<th>first screen</th><th>pages</th></tr>{''.join(rows)}</table>"
            + (f"<h2>Failures</h2><ul>{fail_html}</ul>" if len(failures) else "<p>Every report ran.</p>")
            + "</main></body></html>\n")
    path = out_dir / "index.html"
    atomic_write(path, page)
    return path


_INDEX_CSS = """
table.me-index{width:100%}table.me-index th,table.me-index td{text-align:left;vertical-align:top}
th.me-cohort{min-width:10rem;background:none}ul.me-pages{list-style:none;margin:0;padding:0;font-size:13px}
ul.me-pages li.fail{color:#b00020}td.me-links{min-width:10rem}
"""


def provenance(params_files, data_dir, seed=None) -> dict:
    """Where a report came from: package and library versions, git commit, data fingerprint, params
    files and their hashes, the time of the run, the seed."""
    import hashlib
    import platform
    import subprocess
    from datetime import datetime, timezone
    from importlib.metadata import version

    from .data import data_fingerprint
    from .storage import data_path

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).parent).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    libs = ", ".join(f"{lib} {version(lib)}" for lib in ("pandas", "numpy", "statsmodels", "lifelines", "matplotlib"))
    files = [Path(p) for p in params_files]
    return {
        "mentoring-eval": f"{__version__} (git {commit})",
        "data": f"{data_path(data_dir).name} (fingerprint {data_fingerprint(data_dir)})" if data_dir else "",
        "params": "; ".join(f"{p.name} (sha256 {hashlib.sha256(p.read_bytes()).hexdigest()[:12]})" for p in files),
        "run at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": f"{platform.python_version()}; {libs}",
        "seed": "" if seed is None else str(seed),
    }


def with_footer(page: str, info: dict) -> str:
    """The report with a provenance footer before </body>."""
    items = "".join(f"<li><b>{html.escape(k)}:</b> {html.escape(str(v))}</li>" for k, v in info.items() if v)
    footer = f"<footer class='me-footer'><div>Provenance</div><ul>{items}</ul></footer>"
    return page.replace("</body>", footer + "</body>", 1) if "</body>" in page else page + footer


_WORD = r"[A-Za-z0-9][A-Za-z0-9_.@\-]*[A-Za-z0-9]"

# A stakeholder table longer than this is taken for a row-level listing. The longest aggregate the
# notebooks show, every cohort's headline estimates in 07, has about 12 rows per cohort, so this
# leaves room for some 40 cohorts; the id and name scan is the main guard, this a backstop.
MAX_STAKEHOLDER_TABLE_ROWS = 500


class PrivateValues:
    """Employee ids, names and e-mail addresses no stakeholder report may show, kept as sorted 64-bit
    hashes of their runs of words ('Ada  Lovelace' as 'Ada Lovelace'): 8 bytes a value for millions
    of people instead of a Python string each. Whole numbers are kept apart, since they count only
    where an id would be. A hash collision can only refuse a report, never let a value through."""

    def __init__(self, values, chunk: int = 1_000_000) -> None:
        values = pd.Series(values, dtype="str")
        runs, numbers, lengths = [], [], set()
        for start in range(0, len(values), chunk):  # a million at a time: the Python strings hashed are transient
            text = values.iloc[start:start + chunk].str.strip()
            text = text[text.notna() & (text != "")]
            digits = text.str.fullmatch(r"[0-9]+").fillna(False).astype(bool)
            rest = text[~digits]
            plain = rest.str.fullmatch(f"{_WORD}(?: {_WORD})*").fillna(False).astype(bool)  # a run of words already
            others = [" ".join(re.findall(_WORD, v)) for v in rest[~plain]]
            these = pd.concat([rest[plain], pd.Series(others, dtype="str")], ignore_index=True)
            these = these[these != ""]
            lengths |= set((these.str.count(" ") + 1).unique().tolist())
            runs.append(np.unique(_hashes(these.to_numpy(dtype=object))))
            numbers.append(np.unique(_hashes(text[digits].to_numpy(dtype=object))))
        self.runs = np.unique(np.concatenate(runs)) if runs else np.empty(0, np.uint64)
        self.numbers = np.unique(np.concatenate(numbers)) if numbers else np.empty(0, np.uint64)
        self.lengths = frozenset(lengths)
        self.count = self.runs.size + self.numbers.size

    def __len__(self) -> int:
        return self.count

    def __contains__(self, value: str) -> bool:
        value = value.strip()
        if value.isascii() and value.isdigit():  # as the values were sorted: [0-9]+
            return bool(_members([value], self.numbers))
        return bool(_members([" ".join(re.findall(_WORD, value))], self.runs))


def _hashes(values) -> np.ndarray:
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)


def _members(candidates: list[str], hashes: np.ndarray) -> list[str]:
    """The candidates whose hash is among the sorted `hashes`."""
    if not candidates or not hashes.size:
        return []
    mine = _hashes(candidates)
    at = np.minimum(np.searchsorted(hashes, mine), hashes.size - 1)
    return [c for c, hit in zip(candidates, hashes[at] == mine) if hit]


def privacy_leaks(page: str, values: set[str] | PrivateValues, limit: int = 5) -> list[str]:
    """Employee ids, names or e-mail addresses from the data that appear in a rendered report, as
    whole words (an id) or runs of words (a name: 'Ada Lovelace' matches 'Ada  Lovelace' too). An id
    that is only a number (1, 2, 3... from some HRIS) counts only in context: a table column headed
    like an id or a person, or after 'employee', 'id', 'mentee', 'mentor' or '#' in the text, since
    any count or percentage could equal it. The page's words are looked up among the values, so a
    page costs the same for a hundred employees as for ten million."""
    if not isinstance(values, PrivateValues):
        values = PrivateValues(list(values))
    page = re.sub(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+", "", page)  # embedded figures
    words = re.findall(_WORD, page)
    found: set[str] = set()
    for n in values.lengths:
        runs = set(words) if n == 1 else {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}
        found |= set(_members(sorted(runs), values.runs))
    if values.numbers.size:
        found |= set(_members(sorted(_numbers_in_context(page)), values.numbers))
    return sorted(found)[:limit]


_PERSON = re.compile(r"\b(?:ids?|employee|persons?|names?)\b", re.I)  # a header naming people one by one


def _numbers_in_context(page: str) -> set[str]:
    """Whole numbers shown where an id would be: in a table column headed like an id or a person
    ('employee', 'id', 'name'), or right after 'employee', 'id', 'mentee', 'mentor' or '#' in the text."""
    found: set[str] = set()
    for table in re.findall(r"<table.*?</table>", page, re.S):
        rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
                for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
        if not rows:
            continue
        heads = [j for j, text in enumerate(rows[0]) if _PERSON.search(text)]
        found |= {row[j] for row in rows[1:] for j in heads if j < len(row) and row[j].isdigit()}
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)))
    found |= set(re.findall(r"(?:\b(?:employee|employee id|id|mentee|mentor)\b[\s:#]*|#)(\d+)\b", text, re.I))
    return found


def longest_table(page: str) -> int:
    """Rows of the longest HTML table in a page (header rows included)."""
    return max((len(re.findall(r"<tr[\s>]", t)) for t in re.findall(r"<table.*?</table>", page, re.S)), default=0)
