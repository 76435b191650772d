"""The data contract: a valid export loads intact, and each rule, broken on purpose, is reported
with the file, the column, the spreadsheet row and what was expected."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval.data import TABLES, quality_notes
from tests.conftest import ROOT, read_raw, write_raw


def _problems(directory) -> list[str]:
    with pytest.raises(me.DataValidationError) as info:
        me.load(directory)
    assert isinstance(info.value, ValueError)
    return [str(p) for p in info.value.problems]


def _break(directory, table, column, row, value):
    """Set one cell of a CSV to a raw text value; returns the spreadsheet row number (header = row 1)."""
    df = read_raw(directory, table)
    df.loc[row, column] = value
    write_raw(directory, table, df)
    return row + 2


def test_valid_simulated_set_loads_with_types_and_every_row(demo_dir):
    ds = me.load(demo_dir)
    for name in TABLES:
        raw = read_raw(demo_dir, name)
        assert len(ds.tables[name]) == len(raw), name  # nothing dropped
    emp = ds.employees
    assert emp["employee_id"].dtype == "str"
    assert pd.api.types.is_datetime64_any_dtype(emp["hire_date"])
    assert pd.api.types.is_datetime64_any_dtype(ds.enrollments["withdrawal_date"])
    assert set(ds.enrollments["role"]) == {"mentee", "mentor"}
    assert ds.goals["smart_specific"].dtype == "boolean"


@pytest.mark.parametrize(
    "table, column, value, expected",
    [
        ("employees", "hire_date", "2023-13-45", "expected a date as YYYY-MM-DD"),
        ("program_costs", "amount", "lots", "expected a number"),
        ("enrollments", "role", "mentorr", "expected one of mentee, mentor"),
        ("enrollments", "status", "finished", "expected one of applied, matched, active, completed, withdrawn"),
        ("surveys", "wave", "midterm", "expected one of baseline, mid, end, followup"),
        ("goals", "owner_role", "manager", "expected one of program, mentor, mentee"),
        ("goals", "horizon", "medium", "expected one of short, long"),
        ("program_costs", "category", "snacks", "expected one of software, administration, training, mentor_time, other"),
        ("program_costs", "amount", "-10", "expected a value at least 0"),
        ("meetings", "duration_minutes", "-30", "expected a value at least 0"),
        ("employees", "annual_salary", "-1", "expected a value at least 0"),
        ("performance_reviews", "rating", "6", "expected a value between 1 and 5"),
        ("job_history", "job_level", "2.5", "expected a whole number"),
        ("enrollments", "employee_id", "E999999", "expected employee_id present in employees.csv"),
        ("enrollments", "cohort_id", "2031-never", "expected cohort_id present in cohorts.csv"),
        ("meetings", "match_id", "M999999", "expected match_id present in matches.csv"),
        ("employees", "department", "", "expected a value (empty cells are not allowed)"),
    ],
)
def test_each_cell_rule_names_file_column_row_and_expectation(data_copy, table, column, value, expected):
    row = _break(data_copy, table, column, 3, value)
    problems = _problems(data_copy)
    shown = "empty" if value == "" else repr(value)
    hit = [p for p in problems if p.startswith(f"{table}.csv, column {column}") and expected in p]
    assert hit, problems
    assert f"row {row}: {shown}" in hit[0]


def test_survey_scores_are_checked_on_their_instruments_scale(data_copy):
    s = read_raw(data_copy, "surveys")
    nps_row = s.index[s["instrument"] == "nps"][0]
    skills_row = s.index[s["instrument"] == "skills"][0]
    s.loc[nps_row, "score"] = "11"
    s.loc[skills_row, "score"] = "0"
    write_raw(data_copy, "surveys", s)
    text = "\n".join(_problems(data_copy))
    assert f"surveys.csv, column score, 1 row (row {nps_row + 2}: 11): expected nps scores between 0 and 10" in text
    assert f"surveys.csv, column score, 1 row (row {skills_row + 2}: 0): expected skills scores between 1 and 5" in text


def test_missing_required_column_and_table(data_copy):
    enr = read_raw(data_copy, "enrollments").drop(columns=["role"])
    write_raw(data_copy, "enrollments", enr)
    (data_copy / "cohorts.csv").unlink()
    text = "\n".join(_problems(data_copy))
    assert "enrollments.csv, column role: a required column that is missing" in text
    assert "cohorts.csv: a required table: cohorts.csv or cohorts.parquet" in text


def test_duplicate_primary_key(data_copy):
    emp = read_raw(data_copy, "employees")
    emp = pd.concat([emp, emp.iloc[[7]]], ignore_index=True)
    write_raw(data_copy, "employees", emp)
    problems = _problems(data_copy)
    dup = [p for p in problems if "duplicate key" in p]
    assert dup and dup[0].startswith("employees.csv, column employee_id, 2 rows (row 9: ")
    assert f"row {len(emp) + 1}: " in dup[0]


@pytest.mark.parametrize(
    "table, later, earlier, expected",
    [
        ("employees", "termination_date", "hire_date", "expected a date on or after hire_date"),
        ("enrollments", "withdrawal_date", "signup_date", "expected a date on or after signup_date"),
        ("cohorts", "end_date", "start_date", "expected a date on or after start_date"),
    ],
)
def test_impossible_date_order(data_copy, table, later, earlier, expected):
    df = read_raw(data_copy, table)
    row = int(df.index[df[later].notna()][0]) if df[later].notna().any() else 0
    df.loc[row, later] = (pd.Timestamp(df.loc[row, earlier]) - pd.Timedelta(days=3)).strftime("%Y-%m-%d")
    write_raw(data_copy, table, df)
    hit = [p for p in _problems(data_copy) if p.startswith(f"{table}.csv, column {later}") and expected in p]
    assert hit and f"row {row + 2}: " in hit[0]


def test_job_record_before_hire(data_copy):
    jobs = read_raw(data_copy, "job_history")
    emp = read_raw(data_copy, "employees").set_index("employee_id")
    hired = pd.Timestamp(emp.loc[jobs.loc[5, "employee_id"], "hire_date"])
    jobs.loc[5, "effective_date"] = (hired - pd.Timedelta(days=40)).strftime("%Y-%m-%d")
    write_raw(data_copy, "job_history", jobs)
    hit = [p for p in _problems(data_copy) if "job_history.csv, column effective_date" in p]
    assert hit and "row 7: " in hit[0] and "expected a date on or after the employee's hire_date" in hit[0]


def test_termination_reason_required_with_termination_date(data_copy):
    emp = read_raw(data_copy, "employees")
    row = int(emp.index[emp["termination_date"].notna()][0])
    emp.loc[row, "termination_reason"] = None
    write_raw(data_copy, "employees", emp)
    hit = [p for p in _problems(data_copy) if "column termination_reason" in p]
    assert hit and f"row {row + 2}: empty" in hit[0]


def test_all_problems_are_collected_in_one_error(data_copy):
    _break(data_copy, "enrollments", "role", 0, "boss")
    _break(data_copy, "employees", "hire_date", 1, "yesterday")
    _break(data_copy, "meetings", "duration_minutes", 2, "-5")
    problems = _problems(data_copy)
    files = {p.split(",")[0] for p in problems}
    assert {"enrollments.csv", "employees.csv", "meetings.csv"} <= files


def test_examples_are_capped_at_five_with_a_count(data_copy):
    enr = read_raw(data_copy, "enrollments")
    enr.loc[:7, "role"] = "lead"
    write_raw(data_copy, "enrollments", enr)
    hit = [p for p in _problems(data_copy) if "column role" in p][0]
    assert hit.startswith("enrollments.csv, column role, 8 rows (row 2: 'lead'")
    assert hit.count("'lead'") == 5 and "and 3 more" in hit


def test_parquet_tables_and_extra_columns(data_copy):
    emp = read_raw(data_copy, "employees")
    emp["badge_colour"] = "blue"
    emp.to_parquet(data_copy / "employees.parquet", index=False)
    (data_copy / "employees.csv").unlink()
    ds = me.load(data_copy)
    assert ds.files["employees"] == "employees.parquet"
    assert "badge_colour" not in ds.employees  # a Parquet export is read column by column: only the contract's
    assert len(ds.employees) == len(emp) and ds.provided["employees"] == tuple(c for c in emp if c != "badge_colour")


def test_absent_optional_table_is_named_when_needed(data_copy):
    (data_copy / "meetings.csv").unlink()
    ds = me.load(data_copy)
    assert not ds.has("meetings")
    with pytest.raises(me.MissingTableError, match="no meetings.csv or meetings.parquet; it is needed for meeting frequency"):
        ds.require("meetings", "meeting frequency")


def test_quality_notes_count_real_oddities(data_copy):
    enr = read_raw(data_copy, "enrollments")
    done = enr.index[enr["status"] == "completed"][:4]
    enr.loc[done, "withdrawal_date"] = "2025-12-01"
    write_raw(data_copy, "enrollments", enr)
    matches = read_raw(data_copy, "matches")
    paired = set(matches["mentee_id"]) | set(matches["mentor_id"])
    unpaired = enr.index[(enr["status"] == "applied") & ~enr["employee_id"].isin(paired)][:2]
    enr.loc[unpaired, "status"] = "matched"  # claims a match no record shows
    write_raw(data_copy, "enrollments", enr)
    jobs, emp = read_raw(data_copy, "job_history"), read_raw(data_copy, "employees")
    enrolled = set(enr["employee_id"])
    quiet = [e for e in emp["employee_id"] if e not in enrolled][:2]
    jobs = jobs[~jobs["employee_id"].isin(quiet)]  # two employees with no job record at all
    hires = pd.to_datetime(emp.set_index("employee_id")["hire_date"])
    dates = pd.to_datetime(jobs["effective_date"])
    counted = jobs.assign(d=dates).groupby("employee_id")["d"].agg(["size", "min"])
    # three more whose first record is dropped, leaving one that starts over a month after hire
    later = [e for e in counted.index[counted["size"] >= 2] if e not in enrolled and
             dates[jobs["employee_id"] == e].sort_values().iloc[1] > hires[e] + pd.Timedelta(days=31)][:3]
    first_rows = [dates[jobs["employee_id"] == e].idxmin() for e in later]
    write_raw(data_copy, "job_history", jobs.drop(index=first_rows))
    notes = quality_notes(me.load(data_copy)).set_index("check")["rows_affected"]
    assert notes["a withdrawal date on enrollments not marked withdrawn"] == 4
    assert notes["enrollments of people not employed at cohort start"] == 0
    assert notes["enrollments marked matched/active/completed with no match record"] == 2
    assert notes["employees without a job history record"] == 2
    first = pd.to_datetime(jobs.drop(index=first_rows)["effective_date"]).groupby(jobs.drop(index=first_rows)["employee_id"]).min()
    expected = int((first > hires.reindex(first.index) + pd.Timedelta(days=31)).sum())
    assert len(later) == 3 and notes["employees whose first job record starts over a month after hire"] == expected >= 3


def test_readme_documents_every_table_and_column():
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Data contract", 1)[1].split("\n## ", 1)[0]
    for table in TABLES.values():
        assert f"**{table.name}** ({'required' if table.required else 'optional'}" in section
        block = section.split(f"**{table.name}** (", 1)[1].split("\n**", 1)[0]
        for col in table.columns:
            assert f"| {col.name} | {col.kind} |" in block, (table.name, col.name)


def test_validated_cache_reads_back_the_same_tables_and_notices_changed_data(data_copy, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    fresh = me.load(data_copy)
    first = me.load(data_copy, cache=cache)
    [entry] = list(cache.iterdir())
    assert sorted(p.name for p in entry.iterdir()) == sorted([f"{t}.parquet" for t in fresh.tables]
                                                             + ["files.json", "positions"])
    monkeypatch.setenv(me.data.CACHE_ENV, str(cache))  # how the batch runner hands the cache to notebooks
    again = me.load(data_copy)
    for name, table in fresh.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], table, check_exact=True)
        pd.testing.assert_frame_equal(first.tables[name], table, check_exact=True)
    # each row's employee position is read back with the tables, equal to matching the ids afresh
    stored = sorted(p.stem for p in (entry / "positions").iterdir())
    assert stored == ["engagement_surveys", "enrollments", "job_history", "performance_reviews"]
    for name in stored:
        assert ("employee positions", name) in again._kept
        expected = pd.Index(fresh.employees["employee_id"]).get_indexer(fresh.tables[name]["employee_id"])
        assert again.employee_positions(name).tolist() == expected.tolist()
        assert again.employee_positions(name).dtype == fresh.employee_positions(name).dtype == np.int32
        assert (expected >= 0).all()
    assert again.files == fresh.files and again.source == data_copy
    # the cache answers for these bytes only: broken data is checked, and refused, again
    original = (data_copy / "enrollments.csv").read_bytes()
    enr = read_raw(data_copy, "enrollments")
    enr.loc[0, "role"] = "mentorr"
    write_raw(data_copy, "enrollments", enr)
    with pytest.raises(me.DataValidationError, match="column role, 1 row"):
        me.load(data_copy)
    assert list(cache.iterdir()) == [entry]
    # a damaged entry is not trusted: the data are validated afresh and the entry rewritten
    (data_copy / "enrollments.csv").write_bytes(original)
    (entry / "employees.parquet").write_bytes(b"not parquet")
    rebuilt = me.load(data_copy)
    pd.testing.assert_frame_equal(rebuilt.employees, fresh.employees, check_exact=True)
    assert list(cache.iterdir()) == [entry]
    pd.testing.assert_frame_equal(pd.read_parquet(entry / "employees.parquet"), fresh.employees, check_exact=True)


def test_a_cached_data_set_reads_each_table_when_first_used(data_copy, tmp_path):
    cache = tmp_path / "cache"
    fresh = me.load(data_copy)
    me.load(data_copy, cache=cache)
    again = me.load(data_copy, cache=cache)
    assert isinstance(again.tables, me.data.StoredTables) and not again.tables._read
    assert set(again.tables) == set(fresh.tables) and again.has("surveys")
    # the data's end comes from the dates stored with the entry, without reading a table
    assert again.end == fresh.end and not again.tables._read
    pd.testing.assert_frame_equal(again.enrollments, fresh.enrollments, check_exact=True)
    assert list(again.tables._read) == ["enrollments"]
    # a column is read alone: the pulses' scores and dates, not their ids
    pd.testing.assert_series_equal(again.column("engagement_surveys", "score"), fresh.engagement_surveys["score"])
    who, period = np.arange(len(fresh.employees)), np.full(len(fresh.employees), 2024 * 12 + 2)  # March 2024
    found = me.panels.attributes_at(again, who, period, columns=("last_rating", "last_engagement"))
    pd.testing.assert_frame_equal(found, me.panels.attributes_at(fresh, who, period,
                                                                 columns=("last_rating", "last_engagement")))
    assert found["last_engagement"].notna().mean() > 0.5
    assert "engagement_surveys" not in again.tables._read and "performance_reviews" not in again.tables._read
    # a table removed from the entry after it was opened: a plain error naming the entry and the way out
    [entry] = list(cache.iterdir())
    (entry / "goals.parquet").unlink()
    with pytest.raises(me.MentoringEvalError, match=r"validated copy of goals can no longer be read.*delete this cache"):
        again.goals
    # an entry written before it stored its dates is validated afresh and rewritten
    meta = json.loads((entry / "files.json").read_text())
    (entry / "files.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "latest"}))
    rebuilt = me.load(data_copy, cache=cache)
    assert "latest" in json.loads((entry / "files.json").read_text()) and (entry / "goals.parquet").exists()
    # a first load returns what a later one will: the tables read from the entry just written, as used
    assert isinstance(rebuilt.tables, me.data.StoredTables) and not rebuilt.tables._read
    assert rebuilt.end == fresh.end
    pd.testing.assert_frame_equal(rebuilt.goals, fresh.goals, check_exact=True)
    # unless the entry cannot be written: then the validated tables as they are
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    alone = me.load(data_copy, cache=blocked)
    assert not isinstance(alone.tables, me.data.StoredTables)
    pd.testing.assert_frame_equal(alone.goals, fresh.goals, check_exact=True)


def test_optional_columns_are_always_there_as_typed_missing_values(data_copy):
    """An export without the optional columns loads with them present and empty, says which it
    had, and the analyses that need them say why they cannot run instead of failing."""
    from tests.conftest import ROOT

    emp = read_raw(data_copy, "employees").drop(columns=["gender", "ethnicity", "annual_salary"])
    write_raw(data_copy, "employees", emp)
    write_raw(data_copy, "job_history", read_raw(data_copy, "job_history").drop(columns=["salary_grade"]))
    write_raw(data_copy, "enrollments", read_raw(data_copy, "enrollments").drop(columns=["withdrawal_date"]))
    ds = me.load(data_copy)
    dtypes = {c: str(ds.employees[c].dtype) for c in ("gender", "ethnicity", "annual_salary")}
    assert dtypes == {"gender": "str", "ethnicity": "str", "annual_salary": "float64"}
    assert str(ds.job_history["salary_grade"].dtype) == "str" and ds.job_history["salary_grade"].isna().all()
    assert str(ds.enrollments["withdrawal_date"].dtype) == "datetime64[ns]"
    assert "salary_grade" not in ds.provided["job_history"] and "gender" not in ds.provided["employees"]
    assert not ds.has_values("employees", "annual_salary") and ds.has_values("employees", "hire_date")
    # the data's end is the last recorded event; a goal's target date is a plan, not an event
    goals = read_raw(data_copy, "goals")
    goals.loc[0, "target_date"] = "2031-01-01"
    write_raw(data_copy, "goals", goals)
    planned = me.load(data_copy)
    assert planned.end == ds.end == pd.Timestamp("2025-12-31")  # the simulated export's last day
    study = me.Study(me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(data_copy)), ds)
    assert not me.promotion.analyze(study).estimates.where(estimand=("salary_grade_12m", "salary_grade_rate"))
    assert me.roi.attempt(study).reason == "employees.csv has no annual_salary: the cost of a departure cannot be priced"
    assert (study.cohort.people["gender"] == "unknown").all()


@pytest.mark.parametrize("seed", range(5))
def test_fast_key_and_reference_checks_agree_with_pandas(seed):
    from mentoring_eval.data import _duplicated, _member, _numbers_from_text, member, positions_in

    rng = np.random.default_rng(seed)
    n = 2000
    ids = pd.Series([f"E{v:04d}" if v % 17 else None for v in rng.integers(0, 900, n)], dtype="str")
    days = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D"))
    frame = pd.DataFrame({"employee_id": ids, "effective_date": days, "wave": rng.integers(0, 3, n)})
    for key in (["employee_id"], ["employee_id", "effective_date"], ["employee_id", "effective_date", "wave"]):
        assert _duplicated(frame, key).tolist() == frame.duplicated(key, keep=False).tolist()
    reference = pd.Series([f"E{v:04d}" for v in rng.integers(0, 900, 500)], dtype="str")
    assert _member(ids, reference).tolist() == ids.isin(reference).tolist()
    assert member(ids, set(reference)).tolist() == ids.isin(set(reference)).tolist()  # a set of ids too
    assert not member(ids, set()).any()
    unique = pd.Series(reference.unique(), dtype="str")
    assert positions_in(ids, unique).tolist() == pd.Index(unique).get_indexer(ids).tolist()
    assert (positions_in(ids, unique) == -1).sum() > 100  # absent and missing ids are -1
    text = pd.Series(["12", "3.5", "-4", None, "1e3"], dtype="str")
    assert _numbers_from_text(text).tolist()[:3] == [12.0, 3.5, -4.0] and _numbers_from_text(text).iloc[4] == 1000.0
    messy = pd.Series(["12", "twelve", " 7"], dtype="str")  # not all plain numbers: pandas decides, as before
    assert _numbers_from_text(messy).isna().tolist() == pd.to_numeric(messy, errors="coerce").isna().tolist()


def _to_memory(directory, where: str) -> str:
    """Copy a data directory's tables into fsspec's in-process memory store; its memory:// URL."""
    import fsspec

    store = fsspec.filesystem("memory")
    for f in sorted(directory.iterdir()):
        if f.suffix in (".csv", ".parquet"):
            store.pipe(f"/{where}/{f.name}", f.read_bytes())
    return f"memory://{where}"


def test_a_data_directory_given_as_a_url_loads_as_the_local_one(data_copy, demo_dir, tmp_path):
    """Tables read through fsspec (CSV and Parquet) equal the local files' read; problems in them are
    reported with the URL, file, column and row as for a folder; the fingerprint follows the store's
    keys and changes when a file does."""
    meetings = me.load(data_copy).meetings
    (data_copy / "meetings.csv").unlink()
    meetings.to_parquet(data_copy / "meetings.parquet", index=False)
    url = _to_memory(data_copy, "acme/hr")
    local, remote = me.load(data_copy), me.load(url)
    assert str(remote.source) == url and remote.files == local.files
    for name, table in local.tables.items():
        pd.testing.assert_frame_equal(remote.tables[name], table, check_exact=True)
    cached = me.load(url, cache=tmp_path / "cache")  # the validated cache keys a URL too
    pd.testing.assert_frame_equal(cached.employees, local.employees, check_exact=True)
    assert me.load(url, cache=tmp_path / "cache").fingerprint == cached.fingerprint
    before = me.data.data_fingerprint(url)
    enr = read_raw(data_copy, "enrollments")
    enr.loc[0, "role"] = "mentorr"
    write_raw(data_copy, "enrollments", enr)
    _to_memory(data_copy, "acme/hr")
    assert me.data.data_fingerprint(url) != before
    with pytest.raises(me.DataValidationError) as info:
        me.load(url)
    assert str(info.value) == (f"{url}: 1 data problem\n  - enrollments.csv, column role, 1 row (row 2: 'mentorr'): "
                               f"expected one of mentee, mentor")
    study = me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=_to_memory(demo_dir, "demo"))
    local_study = me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=demo_dir)
    assert str(study.dataset.source) == "memory://demo"
    pd.testing.assert_frame_equal(study.cohort.people, local_study.cohort.people, check_exact=True)


def test_a_url_that_cannot_be_read_is_one_clear_line(monkeypatch):
    import sys

    from mentoring_eval.params import load_params

    monkeypatch.setitem(sys.modules, "s3fs", None)  # as on a machine without the cloud extra

    with pytest.raises(me.ParamsError, match=r"2023-spring.yaml, key data_dir: .*s3://acme-hr/exports: reading s3:// "
                                             r"URLs needs s3fs installed \(pip install 'mentoring-eval\[cloud\]'\)"):
        load_params(ROOT / "params" / "2023-spring.yaml", data_dir="s3://acme-hr/exports")
    with pytest.raises(me.DataValidationError, match="memory://nowhere: 1 data problem\n  - no such directory"):
        me.load("memory://nowhere")
    with pytest.raises(me.ParamsError, match=r"data_dir memory://nowhere \(the data_dir argument\) does not exist"):
        me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir="memory://nowhere")
