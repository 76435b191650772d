"""The runner's parts that need no kernel: the privacy gate's scan, the run summary, the progress
display, the one-run-per-directory lock and the cross-cohort wording."""

from __future__ import annotations

import io
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval import batch, runlog
from mentoring_eval.publish import PrivacyGateError, longest_table, privacy_leaks, render_html
from tests.conftest import read_raw


def test_privacy_scan_finds_ids_names_and_emails_as_words_not_inside_other_words():
    page = ("<p>Flight risk: E000123 and Ada\n  Lovelace (ada.lovelace@corp.example)</p>"
            "<p>E0001234 is a cost centre; Ada Lovelaceville is a town</p>"
            '<img src="data:image/png;base64,AAAAE000999AAAA+E000999/abc=">')
    private = {"E000123", "E000999", "E000124", "Ada Lovelace", "ada.lovelace@corp.example", "Grace Hopper"}
    assert privacy_leaks(page, private) == ["Ada Lovelace", "E000123", "ada.lovelace@corp.example"]
    assert privacy_leaks("<p>E0001234, Ada Lovelaceville</p>", private) == []


def test_private_values_read_ids_and_name_columns(data_copy):
    emp = read_raw(data_copy, "employees")
    emp["full_name"] = "Person " + emp["employee_id"].str[-4:]
    emp.to_csv(data_copy / "employees.csv", index=False)
    values = batch._private_values([data_copy])
    assert all(v in values for v in emp["employee_id"]) and "Person 0001" in values
    assert "Person  0001 " in values and "Person 0001x" not in values and "E999999" not in values
    assert len(values) == 2 * len(emp)
    assert batch._private_values([data_copy]) is values  # read once while the file is unchanged
    emp.drop(columns="full_name").to_parquet(data_copy / "employees.parquet")
    (data_copy / "employees.csv").unlink()
    again = batch._private_values([data_copy])
    assert len(again) == len(emp) and "Person 0001" not in again and emp["employee_id"].iloc[-1] in again


def _notebook_with_output(path, frame: pd.DataFrame):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("frame")
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/html": frame.to_html(index=False)},
                                           execution_count=1)]
    nb.cells = [cell]
    nbformat.write(nb, path)
    return path


def test_privacy_gate_refuses_row_level_tables_for_stakeholders_only(tmp_path):
    long = _notebook_with_output(tmp_path / "long.ipynb", pd.DataFrame({"tenure": range(600)}))
    with pytest.raises(PrivacyGateError, match="a table of 601 rows .more than 500., which looks row-level"):
        render_html(long, tmp_path / "long.html", "stakeholder")
    assert not (tmp_path / "long.html").exists()
    render_html(long, tmp_path / "long.html", "analyst")
    assert longest_table((tmp_path / "long.html").read_text()) == 601
    short = _notebook_with_output(tmp_path / "short.ipynb", pd.DataFrame({"department": ["A", "B"], "n": [12, 30]}))
    render_html(short, tmp_path / "short.html", "stakeholder", private_ids={"E000001"})
    assert longest_table((tmp_path / "short.html").read_text()) == 3


def _results() -> pd.DataFrame:
    rows = [("2023-spring", "00_data_overview", "done", 3.2, "", ""),
            ("2023-spring", "02_retention", "failed", 5.0, "In [7]: rr = me.retention.analyze(ds, cohort)",
             "ValueError: no comparison group"),
            ("2024-spring", "00_data_overview", "skipped", 0.0, "", "inputs unchanged"),
            ("2024-spring", "02_retention", "skipped", 0.0, "", "inputs unchanged"),
            ("bad.yaml", "00_data_overview", "failed", 0.0, "", "bad.yaml, key period: wrong"),
            ("bad.yaml", "02_retention", "failed", 0.0, "", "bad.yaml, key period: wrong")]
    frame = pd.DataFrame(rows, columns=["cohort_id", "notebook", "status", "seconds", "cell", "message"])
    return frame.assign(html="")[batch.COLUMNS]


def test_summary_groups_failures_by_cohort_and_cause():
    text = runlog.summary_text(_results()).splitlines()
    assert text[0].split() == ["00", "02"]
    assert text[1].split() == ["2023-spring", "ok", "3s", "FAILED"]
    assert text[2].split() == ["2024-spring", "unchanged", "unchanged"]
    assert text[3].split() == ["bad.yaml", "FAILED", "FAILED"]
    assert text[4] == "3 of 6 reports ok (2 unchanged, not rerun), 3 failed"
    assert text[5:] == [
        ("  failed: 2023-spring / 02_retention (In [7]: rr = me.retention.analyze(ds, cohort)): "
         "ValueError: no comparison group"),
        "  failed: bad.yaml / 2 notebooks (00_data_overview to 02_retention): bad.yaml, key period: wrong"]


def test_progress_lines_and_live_table(tmp_path):
    from rich.console import Console

    jobs = [batch.Job("2023-spring", tmp_path / f"{name}.ipynb", (), tmp_path) for name in ("00_a", "01_b")]
    lines: list[str] = []
    progress = runlog.Progress([jobs[0].result("skipped", message="inputs unchanged")], jobs[1:], echo=lines.append)
    progress.started(jobs[1].key)
    progress.finished(jobs[1].result("done", 2.04))
    progress.started(jobs[1].key)  # a late start signal does not undo the result
    assert lines == ["[1/2] skipped 2023-spring / 00_a inputs unchanged",
                     "      running 2023-spring / 01_b",
                     "[2/2] done   2023-spring / 01_b (2.0 s)"]
    live = runlog.Progress([], jobs, echo=None, live=True)
    live.started(jobs[0].key)
    console = Console(file=io.StringIO(), width=100)
    console.print(live._table())
    shown = [line.split() for line in console.file.getvalue().splitlines()]
    assert shown[0][:5] == ["mentoring-eval", "run:", "0", "of", "2"]
    assert shown[2][:4] == ["2023-spring", "00_a", "running", "0"] and shown[3] == ["2023-spring", "01_b", "queued"]


def test_one_run_at_a_time_per_output_directory(tmp_path, capsys):
    from mentoring_eval.cli import main
    from tests.conftest import ROOT

    (tmp_path / "c.yaml").write_text("cohort_id: 2023-spring\n")
    args = ["run", "--params", str(tmp_path / "c.yaml"), "--out", str(tmp_path),
            "--notebooks", str(ROOT / "notebooks" / "00_data_overview.ipynb")]
    with batch._exclusive(tmp_path):
        assert main(args) == 1
    assert capsys.readouterr().err == (f"mentoring-eval: error: another mentoring-eval run is writing to {tmp_path}; "
                                       "wait for it to end\n")
    with batch._exclusive(tmp_path):  # released when the run ends
        pass


def test_cross_cohort_wording_for_one_and_for_no_honest_estimate():
    row = {"cohort_id": "2023-spring", "role": "mentee", "estimand": "retention_12m"}
    naive = me.estimates.make(**row, method="naive", estimate=12.0, design="naive", unit="pp")
    head = me.estimates.make(**row, method="tot_wald", estimate=1.5, ci=(-4.0, 7.0), headline=True, design="rollout",
                             unit="pp")
    cohorts = (("2023-spring", "Spring 2023", pd.Timestamp("2023-04-01")),)
    one = me.summary.Comparison(me.Estimates([naive, head]), cohorts, me.Disclosure())
    assert me.narrate.across(one) == ("**12-month retention:** the naive comparison credits mentoring with +12.0 "
                                      "points in the only cohort compared, 2023-spring; the honest estimate is "
                                      "+1.5 (-4.0 to +7.0).")
    none = me.summary.Comparison(me.Estimates([naive]), cohorts, me.Disclosure())
    assert me.narrate.across(none) == ("**12-month retention:** the naive comparison credits mentoring "
                                       "with +12.0 points, but no cohort has an honest estimate "
                                       "(each cohort's report says why).")
    assert list(one.table["cohort_name"]) == ["Spring 2023"] * 2


def test_a_kernel_that_fails_to_start_gets_one_more_try_and_a_failing_cell_none(tmp_path, demo_dir, monkeypatch):
    import papermill

    (tmp_path / "c.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    notebook = _notebook_with_output(tmp_path / "01_x.ipynb", pd.DataFrame({"n": [1]}))
    calls: list[str] = []

    def flaky_start(source, output, **kwargs):
        calls.append(output)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        nbformat.write(nbformat.read(source, as_version=4), output)

    monkeypatch.setattr(papermill, "execute_notebook", flaky_start)
    job = batch.Job("2023-spring", notebook, (tmp_path / "c.yaml",), tmp_path / "out", stamp="abc")
    assert batch._execute(job)["status"] == "done" and len(calls) == 2
    assert (tmp_path / "out" / ".01_x.fingerprint").read_text() == "abc"

    def dies_midway(source, output, **kwargs):
        calls.append(output)
        nb = nbformat.read(source, as_version=4)
        nb.cells[0].execution_count = 1
        nbformat.write(nb, output)
        raise RuntimeError("Kernel died")

    monkeypatch.setattr(papermill, "execute_notebook", dies_midway)
    calls.clear()
    result = batch._execute(job)
    assert (result["status"], result["message"], len(calls)) == ("failed", "RuntimeError: Kernel died", 1)
    assert (tmp_path / "out" / "01_x.failed.ipynb").exists() and not (tmp_path / "out" / ".01_x.fingerprint").exists()


def test_a_report_made_by_other_code_is_not_unchanged(tmp_path, monkeypatch):
    """The fingerprint covers the package's own code, not only its version number: an editable
    install or a patched copy must not leave yesterday's report in place."""
    from mentoring_eval import batch, version

    nb, pf = tmp_path / "01_x.ipynb", tmp_path / "c.yaml"
    nb.write_text("{}")
    pf.write_text("cohort_id: c\n")
    job = batch.Job("c", nb, (pf,), tmp_path / "out")
    prints = ({pf: "data"}, {"data": "d1"})
    assert version.code_fingerprint() == version.code_fingerprint() and len(version.code_fingerprint()) == 64
    before = batch._fingerprint(job, *prints)
    monkeypatch.setattr(batch, "code_fingerprint", lambda: "other code")
    assert batch._fingerprint(job, *prints) != before


def test_numeric_ids_count_only_where_an_id_would_be():
    """An HRIS that numbers employees 1..N: a count or a percentage is not an id; a number in an id
    or person column, or after 'employee' or '#', is."""
    ids = {str(i) for i in range(1, 400)}
    clean = ("<style>.x{color:#123}</style><p>172 mentees enrolled, 45.9% of 12 departments; it&#39;s 39</p>"
             "<table><tr><th>department</th><th>people</th></tr><tr><td>Sales</td><td>57</td></tr></table>")
    assert privacy_leaks(clean, ids) == []
    table = "<table><tr><th>mentee id</th><th>score</th></tr><tr><td>17</td><td>4</td></tr></table>"
    assert privacy_leaks(table, ids) == ["17"]
    assert privacy_leaks("<p>Flight risk: employee 233 and #58</p>", ids) == ["233", "58"]
    assert privacy_leaks("<p>E000123 left</p>", {"E000123", "5"}) == ["E000123"]  # text ids as before


def _leaks_by_set(page: str, values: set[str]) -> list[str]:
    """The page scan written plainly over a Python set: every value's words against the page's runs."""
    from mentoring_eval.publish import _WORD, _numbers_in_context

    page = re.sub(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=\s]+", "", page)
    numbers = {v for v in values if v.isdigit()}
    words = re.findall(_WORD, page)
    wanted: dict[int, set[str]] = {}
    for value in values - numbers:
        if parts := re.findall(_WORD, value):
            wanted.setdefault(len(parts), set()).add(" ".join(parts))
    found = set()
    for n, these in wanted.items():
        found |= {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)} & these
    return sorted(found | (_numbers_in_context(page) & numbers))


def test_privacy_scan_by_hashes_finds_what_a_plain_set_scan_finds():
    """Ids, names with odd spacing and punctuation, accents, one-letter words and numbers: the hashed
    look-up reports exactly what comparing every value's words with the page does."""
    rng = np.random.default_rng(3)
    values = {f"E{i:06d}" for i in rng.choice(10**6, 20_000, replace=False)}
    values |= {"  Ada   Lovelace ", "José García", "Grace B. Hopper", "x-1-", "a", "17", "O'Neil Smith",
               "ada.lovelace@corp.example", "Ng"}
    shown = sorted(values)[:40:7] + ["E000000x", "Lovelace Ada", "17", "Jos", "Garc", "Ng", "x-1"]
    page = ("<p>" + " ".join(shown) + " Ada Lovelace, employee 17, Grace B. Hopper, O'Neil Smith</p>"
            "<table><tr><th>mentor id</th></tr><tr><td>17</td></tr></table>")
    expected = _leaks_by_set(page, values)
    assert {"Ada Lovelace", "17", "Jos Garc", "Ng", "x-1"} <= set(expected)
    assert privacy_leaks(page, values, limit=100) == expected
    assert privacy_leaks("<p>" + " ".join(f"E{i:06d}x" for i in range(5000)) + "</p>", values) == []
