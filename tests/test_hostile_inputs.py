"""Hostile values in the data and the params: rendered escaped, written to CSV without a live
formula, and never used to build a path outside the output folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mentoring_eval.batch import report_ids
from mentoring_eval.files import folder_name
import mentoring_eval as me
from tests.conftest import ROOT, read_raw, write_raw

EXE = Path(sys.executable).with_name("mentoring-eval")
SCRIPT = "Sales<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
FORMULA = "=1+2"


@pytest.mark.parametrize("cohort_id", ["../../escape1", "/srv/abs", "a/b", "..", ".hidden", "all-cohorts", "=1+2",
                                       "Spring 2023 (Zürich)", "x" * 300])
def test_a_folder_name_never_leaves_the_output_folder(tmp_path, cohort_id):
    name = folder_name(cohort_id)
    assert "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")
    assert len(name) <= 64
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_plain_cohort_ids_keep_their_folder_and_different_ids_never_share_one():
    assert folder_name("2023-spring") == "2023-spring" and folder_name("cohort_7.b") == "cohort_7.b"
    assert folder_name("a/b") != folder_name("a-b") and folder_name("a/b") != folder_name("a:b")
    assert folder_name("all-cohorts") != "all-cohorts"  # the cross-cohort report's folder is taken


def _hostile_copy(data_copy: Path, tmp_path: Path) -> Path:
    """The small company with one cohort named like a formula, one department named like a script,
    and a goal described like an image tag; returns its params file."""
    for path in data_copy.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "cohort_id" in frame:
            frame["cohort_id"] = frame["cohort_id"].replace("2023-spring", FORMULA)
        if "department" in frame:
            frame["department"] = frame["department"].replace("Sales", SCRIPT)
        frame.to_csv(path, index=False)
    params = yaml.safe_load((ROOT / "params" / "2023-spring.yaml").read_text())
    params.update(cohort_id=FORMULA, data_dir=str(data_copy))
    for role in ("mentee_eligibility", "mentor_eligibility"):
        params[role]["departments"] = ["Engineering", SCRIPT]
    params["goals"][0]["description"] = IMAGE
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "hostile.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder / "hostile.yaml"


def test_hostile_names_are_escaped_neutralised_and_stay_inside_out(data_copy, tmp_path):
    pf = _hostile_copy(data_copy, tmp_path)
    out = tmp_path / "out"
    before = {p for p in tmp_path.rglob("*")}
    nbs = [ROOT / "notebooks" / f"{nb}.ipynb" for nb in ("01_baseline", "04_program_health", "06_summary")]
    run = subprocess.run([str(EXE), "run", "--params", str(pf), "--out", str(out), "--jobs", "2", "--notebooks",
                          *map(str, nbs)], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    written = {p for p in tmp_path.rglob("*")} - before
    private = out.with_name(out.name + "-private")  # the cache and failed notebooks, beside --out
    allowed = {out.resolve(), private.resolve()}
    assert written and all(allowed & {p.resolve(), *p.resolve().parents} for p in written), sorted(written)[:5]
    folder = out / folder_name(report_ids([(pf, me.load_params(pf))])[pf])  # '=1+2--hostile', slugged and hashed
    assert folder.name.startswith("1-2--hostile-")
    pages = {p.stem: p.read_text() for p in folder.glob("*.html")}
    assert sorted(pages) == ["01_baseline", "04_program_health", "06_summary"]
    for name, page in pages.items():
        assert "<script>alert(1)" not in page and "<img src=x onerror" not in page, name
    escaped = "Sales&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaped in pages["01_baseline"] and escaped in pages["04_program_health"]
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages["06_summary"]
    index = (out / "index.html").read_text()
    assert "<script>alert(1)" not in index and f"href=\"{folder.name}/06_summary.html\"" in index
    raw = pd.read_csv(folder / "estimates.csv", dtype=str, keep_default_na=False)
    assert (raw["cohort_id"] == "'" + FORMULA).all()  # no live formula in a spreadsheet
    assert pd.to_numeric(raw["estimate"].replace("", None)).notna().any()  # numbers stay numbers


# ---------------------------------------------------------------- real exports and crafted files

def _edit(directory: Path, table: str, column: str, row: int, value: str) -> None:
    frame = read_raw(directory, table)
    frame.loc[row, column] = value
    write_raw(directory, table, frame)


def _validate(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), "validate", str(directory)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("table", "column", "value", "expected"), [
    ("employees", "hire_date", "8600-01-01", "row 2: '8600-01-01'): expected a date as YYYY-MM-DD between 1900-01-01"),
    ("employees", "hire_date", "2019-12-31T15:30:00", "row 2: '2019-12-31T15:30:00'): expected a date as YYYY-MM-DD"),
    ("employees", "hire_date", "2019-07", "row 2: '2019-07'): expected a date as YYYY-MM-DD"),
    ("employees", "hire_date", "2019", "row 2: '2019'): expected a date as YYYY-MM-DD"),
    ("job_history", "job_level", "12345678901234567890", "row 2: '12345678901234567890'): expected a whole number"),
])
def test_out_of_range_and_partial_values_are_data_errors_naming_file_column_and_row(data_copy, table, column, value,
                                                                                    expected):
    _edit(data_copy, table, column, 0, value)
    with pytest.raises(me.DataValidationError) as caught:
        me.load(data_copy)
    assert f"{table}.csv, column {column}, 1 row ({expected}" in str(caught.value)
    run = _validate(data_copy)
    assert run.returncode == 1 and "Traceback" not in run.stderr and f"{table}.csv, column {column}" in run.stdout + run.stderr


def test_a_semicolon_separated_file_is_refused_in_one_line(data_copy):
    path = data_copy / "employees.csv"
    path.write_text(path.read_text().replace(",", ";"))
    run = _validate(data_copy)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "employees.csv: comma-separated values; the header is separated by ';'" in run.stdout + run.stderr


def test_a_header_only_table_is_refused_in_one_line(data_copy):
    path = data_copy / "employees.csv"
    path.write_text(path.read_text().split("\n", 1)[0] + "\n")
    with pytest.raises(me.DataValidationError, match=r"employees.csv: at least one row \(the file has a "
                                                      r"header and nothing else\)"):
        me.load(data_copy)


def test_headers_in_another_case_and_spaces_around_text_are_read_and_said(data_copy):
    employees = read_raw(data_copy, "employees").rename(columns={"employee_id": "Employee_ID", "hire_date": " Hire Date"})
    department = employees.loc[0, "department"]
    employees.loc[0, "department"] = department + " "
    write_raw(data_copy, "employees", employees)
    ds = me.load(data_copy)
    assert ds.employees.loc[0, "department"] == department  # not a second department
    notes = me.data.quality_notes(ds).set_index("check")["rows_affected"]
    assert notes["employees.csv, column department: spaces around the text removed"] == 1
    assert notes["employees.csv, column employee_id: header 'Employee_ID' read as employee_id"] == len(employees)
    assert notes["employees.csv, column hire_date: header ' Hire Date' read as hire_date"] == len(employees)


def test_parquet_booleans_are_not_numbers(data_copy):
    employees = me.load(data_copy).employees
    frame = read_raw(data_copy, "employees").assign(annual_salary=True)
    frame["hire_date"] = employees["hire_date"].to_numpy()
    frame["termination_date"] = employees["termination_date"].to_numpy()
    (data_copy / "employees.csv").unlink()
    frame.to_parquet(data_copy / "employees.parquet", index=False)
    with pytest.raises(me.DataValidationError, match=r"employees.parquet, column annual_salary, \d+ rows .*expected a "
                                                      r"number \(the column holds true/false\)"):
        me.load(data_copy)


def test_parquet_dates_stored_as_day_numbers_are_refused(data_copy):
    frame = read_raw(data_copy, "cohorts")
    frame["start_date"] = (pd.to_datetime(frame["start_date"]) - pd.Timestamp("1970-01-01")).dt.days.astype("int64")
    (data_copy / "cohorts.csv").unlink()
    frame.to_parquet(data_copy / "cohorts.parquet", index=False)
    run = _validate(data_copy)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "cohorts.parquet, column start_date" in run.stdout + run.stderr and "expected a date as YYYY-MM-DD" in \
        run.stdout + run.stderr


def test_numbered_employees_do_not_trip_the_privacy_gate(data_copy, tmp_path):
    """Ids 1..N (as some HRIS number people): counts and percentages equal to an id are not leaks."""
    for path in data_copy.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            if frame[column].str.fullmatch(r"E\d{6}").any():
                frame[column] = frame[column].str.replace(r"^E0*(\d+)$", r"\1", regex=True)
        frame.to_csv(path, index=False)
    assert me.load(data_copy).employees["employee_id"].str.fullmatch(r"\d+").all()
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {data_copy}\n")
    nbs = [ROOT / "notebooks" / f"{nb}.ipynb" for nb in ("00_data_overview", "04_program_health")]
    run = subprocess.run([str(EXE), "run", "--params", str(params), "--out", str(tmp_path / "out"), "--jobs", "2",
                          "--notebooks", *map(str, nbs)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 of 2 reports ok" in run.stdout


def test_a_company_with_only_hris_and_platform_tables_renders_every_page(data_copy, tmp_path):
    """The four required tables plus matches, meetings and costs: every notebook renders, and the
    sections that need goals, surveys or reviews say so."""
    for table in ("goals", "surveys", "performance_reviews", "engagement_surveys"):
        (data_copy / f"{table}.csv").unlink()
    params = tmp_path / "params"
    params.mkdir()
    text = (ROOT / "params" / "2023-spring.yaml").read_text().replace("data_dir: ../data/demo", f"data_dir: {data_copy}")
    (params / "2023-spring.yaml").write_text(text)
    out = tmp_path / "out"
    run = subprocess.run([str(EXE), "run", "--params", str(params), "--out", str(out), "--jobs", "2"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "8 of 8 reports ok" in run.stdout
    notes = {p.stem: p.read_text().count("This section needs the ") for p in (out / "2023-spring").glob("*.html")}
    assert notes["01_baseline"] == 1 and notes["04_program_health"] == 5
    health = (out / "2023-spring" / "04_program_health.html").read_text()
    assert "This section needs the goal records table for goal metrics, which the data do not have" in health


def test_a_table_linking_outside_the_data_directory_is_refused_unless_asked(data_copy, tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (data_copy / "program_costs.csv").rename(outside / "program_costs.csv")
    (data_copy / "program_costs.csv").symlink_to(outside / "program_costs.csv")
    run = _validate(data_copy)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert (f"program_costs.csv: a file inside the data directory; it links to "
            f"{(outside / 'program_costs.csv').resolve()}, outside it (pass --follow-symlinks") in run.stdout + run.stderr
    followed = subprocess.run([str(EXE), "validate", str(data_copy), "--follow-symlinks"], capture_output=True,
                              text=True, timeout=120)
    assert followed.returncode == 0, followed.stderr
    (data_copy / "program_costs.csv").unlink()  # a link to a file inside the directory is its own
    (outside / "program_costs.csv").rename(data_copy / "costs-2024.csv")
    (data_copy / "program_costs.csv").symlink_to(data_copy / "costs-2024.csv")
    monkeypatch.delenv(me.data.FOLLOW_ENV, raising=False)
    assert me.load(data_copy).has("program_costs")


def test_a_data_dir_that_does_not_exist_names_the_params_file_and_key(tmp_path):
    (tmp_path / "c.yaml").write_text("cohort_id: 2023-spring\ndata_dir: missing/demo\n")
    with pytest.raises(me.ParamsError) as caught:
        me.open_study(tmp_path / "c.yaml")
    assert str(caught.value) == (f"data_dir {(tmp_path / 'missing' / 'demo').resolve()} (params file {tmp_path / 'c.yaml'}, "
                                 f"key data_dir) does not exist")
    run = subprocess.run([str(EXE), "run", "--params", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"ParamsError: data_dir {(tmp_path / 'missing' / 'demo').resolve()} (key data_dir of the params) does not " \
           f"exist" in run.stdout


def test_one_cohorts_broken_export_fails_that_cohort_only(demo_dir, data_copy, tmp_path):
    path = data_copy / "employees.csv"
    path.write_text(path.read_text().replace(",", ";"))
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    (params / "2023-autumn.yaml").write_text(f"cohort_id: 2023-autumn\ndata_dir: {data_copy}\n")
    out = tmp_path / "out"
    run = subprocess.run([str(EXE), "run", "--params", str(params), "--out", str(out), "--jobs", "2", "--notebooks",
                          str(ROOT / "notebooks" / "00_data_overview.ipynb")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr + run.stdout
    assert "1 of 2 reports ok" in run.stdout
    assert "employees.csv: comma-separated values; the header is separated by ';'" in run.stdout
    assert (out / "2023-spring" / "00_data_overview.html").exists() and (out / "index.html").exists()
    assert "comma-separated values" in (out / "index.html").read_text()


def test_salary_grade_codes_load_and_are_ranked_only_by_an_order(demo_dir, data_copy, tmp_path):
    jobs = read_raw(data_copy, "job_history")
    numbers = pd.to_numeric(jobs["salary_grade"])
    grades = sorted(numbers.dropna().unique())
    code = {g: f"G{int(g)}" for g in grades}  # as Workday or SAP export them
    jobs["salary_grade"] = numbers.map(code)
    write_raw(data_copy, "job_history", jobs)
    from mentoring_eval.panels import job_events

    as_numbers, as_codes = me.load(demo_dir), me.load(data_copy)
    assert as_codes.job_history["salary_grade"].iloc[0] == code[numbers.iloc[0]]
    assert job_events(as_codes)["grade_changed"].sum() == job_events(as_numbers)["grade_changed"].sum() > 0

    def study(order=None):
        pf = tmp_path / "2023-spring.yaml"
        pf.write_text(f"cohort_id: 2023-spring\ndata_dir: {data_copy}\n"
                      + (f"salary_grade_order: [{', '.join(order)}]\n" if order else ""))
        return me.open_study(pf)

    numeric = me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=demo_dir).panel
    unordered = study().panel
    assert unordered["salary_grade"].isna().all()  # codes without an order: no rank
    assert unordered["grade_changed"].sum() == numeric["grade_changed"].sum()
    ordered = study([code[g] for g in grades]).panel
    place = {g: rank for rank, g in enumerate(grades, start=1)}
    assert ordered["salary_grade"].tolist() == numeric["salary_grade"].map(place).tolist()
    with pytest.raises(me.DataValidationError) as caught:
        study([code[g] for g in grades[1:]])
    lowest = (numbers == grades[0]).to_numpy().nonzero()[0]
    assert (f"job_history.csv, column salary_grade, {lowest.size} rows (row {lowest[0] + 2}: '{code[grades[0]]}'"
            in str(caught.value))
    assert "expected a grade listed in salary_grade_order of" in str(caught.value)


def test_a_twenty_digit_salary_grade_is_a_code(data_copy):
    _edit(data_copy, "job_history", "salary_grade", 0, "99999999999999999999")
    assert me.load(data_copy).job_history["salary_grade"].iloc[0] == "99999999999999999999"


def test_sanity_warnings_name_future_dates_far_signups_and_names_differing_in_case(demo_dir, data_copy):
    emp = read_raw(data_copy, "employees")
    stayer = int(emp["termination_date"].isna().to_numpy().nonzero()[0][0])
    emp.loc[stayer, ["termination_date", "termination_reason"]] = ["2099-06-30", "voluntary"]
    emp.loc[int((emp["department"] == "Sales").to_numpy().nonzero()[0][0]), "department"] = "SALES"
    write_raw(data_copy, "employees", emp)
    enr = read_raw(data_copy, "enrollments")
    enr.loc[0, "signup_date"] = "2019-01-05"
    write_raw(data_copy, "enrollments", enr)
    ds = me.load(data_copy)
    found = me.sanity.warnings(ds, on="2026-12-03")
    assert found["check"].tolist() == [
        "employees.csv, column termination_date: dates after today (2026-12-03)",
        "enrollments.csv, column signup_date: sign-ups more than a year before their cohort starts or after it ends",
        "department names that differ only in case or spaces: 'Sales' / 'SALES'"]
    assert found["rows_affected"].tolist() == [1, 1, 1]
    assert found["examples"].iloc[0] == f"row {stayer + 2}: 2099-06-30"
    assert found["examples"].iloc[1] == f"row 2: 2019-01-05 for {enr.loc[0, 'cohort_id']}"
    assert ds.end == me.load(demo_dir).end  # one date in 2099 does not stretch the data to it
    assert me.sanity.warnings(me.load(demo_dir), on="2026-12-03").empty
    shown = _validate(data_copy)
    assert shown.returncode == 0 and "3 sanity warnings (allowed, but worth a look):" in shown.stdout
    assert (f"  - employees.csv, column termination_date: dates after today") in shown.stdout
