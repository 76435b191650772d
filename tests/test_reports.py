"""The rendered demo as a stakeholder reads it: no raw identifiers, the same count on every page,
no table cut off at 1024 or 1400 px, and each summary's PDF holding its verdict."""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
import unicodedata
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

import mentoring_eval as me
from mentoring_eval.labels import COLUMNS

COUNT_HEADERS = {name for name, kind in COLUMNS.values() if kind == "count"}
# technical names that belong in the analyst report only (the list, and the like)
JARGON = (r"\bITT\b|\bWald\b|delta-method|\bSE\b|\bCEM\b|Callaway|Sant'Anna|periods since first treated|"
          r"reference period fixed|\bATT\b|\bCI\b|two-stage|Rambachan|E-value|\bTWFE\b")


class _Page(HTMLParser):
    """A report's visible text, its tables (header and rows of cell texts) and its tagged counts;
    styles, scripts, the provenance footer and embedded images left out."""

    def __init__(self):
        super().__init__()
        self.skip, self.text, self.tables, self.counts = 0, [], [], defaultdict(list)
        self._cell, self._row, self._tag = None, None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("style", "script", "footer"):
            self.skip += 1
        if tag == "table":
            self.tables.append([])
        if tag == "tr" and self.tables:
            self._row = []
            self.tables[-1].append(self._row)
        if tag in ("td", "th"):
            self._cell = ""
        pops = [c for c in (attrs.get("class") or "").split() if re.fullmatch(r"pop-(mentee|mentor)-\w+", c)]
        self._tag.append((tag, pops[0] if pops else None, len(self.text)))

    def handle_endtag(self, tag):
        if tag in ("style", "script", "footer"):
            self.skip -= 1
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        while self._tag:
            opened, pop, at = self._tag.pop()
            if pop:
                self.counts[pop].append(" ".join(self.text[at:]).strip())
            if opened == tag:
                break

    def handle_data(self, data):
        if self.skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell += data


def _read(page: Path) -> _Page:
    parsed = _Page()
    parsed.feed(re.sub(r"data:image/[\w+]+;base64,[A-Za-z0-9+/=\s]+", "", page.read_text()))
    return parsed


def test_no_raw_identifiers_jargon_booleans_or_fractional_counts_on_stakeholder_pages(rendered_demo):
    _, out, _ = rendered_demo
    pages = sorted(out.glob("*/*.html")) + [out / "index.html"]
    assert len(pages) == 30
    found = []
    for page in pages:
        parsed = _read(page)
        text = " ".join(parsed.text)
        if "No description has been provided for this image" in page.read_text():
            found.append(f"{page.parent.name}/{page.name}: a figure without alt text")
        for token in sorted(set(re.findall(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b", text))):
            found.append(f"{page.parent.name}/{page.name}: identifier {token}")
        for match in re.findall(JARGON, text):
            found.append(f"{page.parent.name}/{page.name}: jargon {match!r}")
        for match in re.findall(r"(?<![\d.])-0\.0+(?![\d.])", text):
            found.append(f"{page.parent.name}/{page.name}: {match}")
        for match in re.findall(r"\b\d[\d,]*\.\d+ (?:people|employees|mentees|mentors|headcount|applicants)\b", text):
            found.append(f"{page.parent.name}/{page.name}: a count with decimals: {match}")
        for table in parsed.tables:
            rows = [r for r in table if r]
            if not rows:
                continue
            header = rows[0]
            for row in rows[1:]:
                for name, cell in zip(header, row, strict=False):
                    if cell in ("True", "False"):
                        found.append(f"{page.parent.name}/{page.name}: {name} = {cell}")
                    whole = re.fullmatch(r"\d{1,3}(,\d{3})*", cell)
                    if name in COUNT_HEADERS and cell not in ("", "\u2014") and not whole:
                        found.append(f"{page.parent.name}/{page.name}: count column {name!r} shows {cell!r}")
    assert not found, "\n".join(found[:40])


def test_every_count_of_a_population_is_the_same_on_every_page(rendered_demo):
    params, out, _ = rendered_demo
    for cohort in sorted(p.stem for p in params.glob("*.yaml")):
        printed = defaultdict(dict)  # population -> page -> the values it prints
        for page in sorted((out / cohort).glob("*.html")):
            for pop, values in _read(page).counts.items():
                printed[pop][page.stem] = {v for v in values if v not in ("", "\u2014", "its", "all but a few")
                                           and not v.startswith("fewer")}
        for pop in ("pop-mentee-eligible", "pop-mentee-enrolled", "pop-mentee-matched", "pop-mentor-enrolled"):
            assert len(printed[pop]) >= 2, (cohort, pop, printed[pop])  # printed on more than one page
        study = me.open_study(params / f"{cohort}.yaml")
        for pop, pages in printed.items():
            _, role, population = pop.split("-")
            shown = me.populations.shown(study, role, population)  # None: withheld, printed nowhere
            expected = set() if shown is None else {f"{shown:,}"}
            for page, values in pages.items():
                assert values <= expected, (cohort, page, pop, values, expected)
        matched = me.populations.shown(study, "mentee", "matched")
        assert printed["pop-mentee-matched"]["05_roi"] == (set() if matched is None else {f"{matched:,}"})


def test_each_summary_pdf_holds_its_verdict(rendered_demo):
    from pypdf import PdfReader

    params, out, _ = rendered_demo
    for cohort in sorted(p.stem for p in params.glob("*.yaml")):
        pdf = out / cohort / "06_summary.pdf"
        assert pdf.exists() and pdf.stat().st_size > 10_000, pdf
        text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(pdf).pages).split())
        text = unicodedata.normalize("NFKC", text)  # the PDF's "ff" ligatures as letters
        found = me.estimates.Estimates.read(out / cohort / "estimates.csv")
        verdict = me.narrate.decision(found)[0]
        sentence = " ".join(html.unescape(re.sub(r"\*\*|<[^>]+>", "", verdict)).split())
        assert sentence.startswith("Verdict: ")
        assert sentence[:120] in text, (cohort, sentence[:120])
        assert "Intervals on this page are 95% intervals." in text


_OVERFLOW = """<script>window.addEventListener('load', () => {
  const width = document.documentElement.clientWidth, cut = [];
  document.querySelectorAll('table').forEach((t, i) => {
    const box = t.getBoundingClientRect();
    const wider = box.right > width + 1 || t.scrollWidth > t.parentElement.clientWidth + 1;
    if (wider) cut.push(i + ': ' + t.innerText.slice(0, 60));
  });
  const out = document.createElement('pre'); out.id = 'overflow'; out.textContent = JSON.stringify(cut);
  document.body.appendChild(out);
});</script>"""


def _cut_tables(page: Path, width: int) -> list[str]:
    """Tables wider than the window (or than the block holding them) when Chromium shows the page
    `width` pixels wide."""
    import json

    probe = page.with_name(f".probe-{page.name}")
    probe.write_text(page.read_text().replace("</body>", _OVERFLOW + "</body>", 1))
    try:
        with tempfile.TemporaryDirectory() as profile:
            cmd = [me.pdf.browser(), "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                   f"--window-size={width},900", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
            import os

            if os.geteuid() == 0:
                cmd.insert(2, "--no-sandbox")
            dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    finally:
        probe.unlink()
    found = re.search(r'<pre id="overflow">(.*?)</pre>', dom, re.S)
    assert found, f"no result from Chromium for {page}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [1024, 1400])
def test_no_table_is_cut_off_on_screen(rendered_demo, width):
    _, out, _ = rendered_demo
    pages = sorted((out / "2023-spring").glob("*.html")) + [out / "all-cohorts" / "07_cohorts_compared.html",
                                                            out / "index.html"]
    cut = {f"{p.parent.name}/{p.name}": c for p in pages if (c := _cut_tables(p, width))}
    assert not cut, cut


def test_the_probe_sees_a_table_that_is_cut_off(tmp_path):
    """The check above can fail: a table of 30 unbreakable columns is wider than 1024 px."""
    cells = "".join(f"<td style='white-space:nowrap'>column-number-{i}</td>" for i in range(30))
    page = tmp_path / "wide.html"
    page.write_text(f"<!doctype html><html><body><div style='overflow-x:auto'><table><tr>{cells}</tr></table></div>"
                    "<table><tr><td>fits</td></tr></table></body></html>")
    cut = _cut_tables(page, 1024)
    assert len(cut) == 1 and cut[0].startswith("0: column-number-0")
