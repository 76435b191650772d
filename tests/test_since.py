"""Reading a long history from a date on (`load(since=...)`, `open_study(since="window")`): what is
kept is exactly what an analysis from that date on needs, so a cohort's figures are the same as
from the whole history, and problems are still reported with the file's own row numbers."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

import mentoring_eval as me
from mentoring_eval.data import positions_in
from mentoring_eval.effects import fit_staggered
from tests.conftest import ROOT

SINCE = pd.Timestamp("2021-04-01")


@pytest.fixture(scope="module")
def eight_years(tmp_path_factory):
    """An eight-year company (records from 2018) as Parquet and as CSV, with every kind of cohort."""
    root = tmp_path_factory.mktemp("eight")
    for fmt in ("parquet", "csv"):
        me.simulate(root / fmt, n_employees=1200, seed=8, design="mix", years=8, file_format=fmt)
    return root


def test_what_is_kept_from_a_date_on(eight_years):
    """Employees still employed on `since` (or named by a program table), their whole job history,
    and of reviews and pulses their rows from `since` on plus each one's latest before it: checked
    against the whole data set filtered by pandas. CSV (trimmed once validated) and Parquet
    (trimmed batch by batch as read) keep the same rows."""
    full = me.load(eight_years / "parquet")
    part = me.load(eight_years / "parquet", since=SINCE)
    emp = full.employees
    named = pd.concat([full.enrollments["employee_id"], full.matches["mentor_id"], full.matches["mentee_id"],
                       full.goals["owner_id"].dropna(), full.surveys["subject_id"]])
    kept = emp[emp["termination_date"].isna() | (emp["termination_date"] >= SINCE) | emp["employee_id"].isin(named)]
    assert 0 < len(kept) < len(emp)
    pd.testing.assert_frame_equal(part.employees, kept.reset_index(drop=True))
    jobs = full.job_history
    pd.testing.assert_frame_equal(part.job_history, jobs[jobs["employee_id"].isin(kept["employee_id"])].reset_index(drop=True))
    for table, date in (("performance_reviews", "review_date"), ("engagement_surveys", "survey_date")):
        rows = full.tables[table]
        ours = rows[rows["employee_id"].isin(kept["employee_id"])]
        before = ours[ours[date] < SINCE]
        latest = before.sort_values(date, kind="stable").groupby("employee_id").tail(1)
        expected = pd.concat([latest.sort_index(), ours[ours[date] >= SINCE]]).reset_index(drop=True)
        pd.testing.assert_frame_equal(part.tables[table], expected)
        assert len(expected) < len(ours[ours[date] >= SINCE]) + kept["employee_id"].nunique() + 1
    for name in ("cohorts", "enrollments", "matches", "meetings", "goals", "surveys", "program_costs"):
        pd.testing.assert_frame_equal(part.tables[name], full.tables[name])
    assert list(part.tables) == list(full.tables)
    assert (part.since, part.begins, part.end) == (SINCE, SINCE, full.end)
    assert full.begins < SINCE
    text = me.load(eight_years / "csv", since=SINCE)
    for name in part.tables:
        pd.testing.assert_frame_equal(text.tables[name], part.tables[name], check_dtype=False)
    for ds in (part, text):  # each row's employee kept while reading, not matched again
        for table in ("job_history", "performance_reviews", "engagement_surveys"):
            assert ("employee positions", table) in ds._kept
            assert (ds.employee_positions(table) == positions_in(ds.tables[table]["employee_id"],
                                                                ds.employees["employee_id"])).all()
    until = pd.Timestamp("2024-03-31")  # and reviews and pulses after it not read; the data's end still counts them
    short = me.load(eight_years / "parquet", since=SINCE, until=until)
    short_text = me.load(eight_years / "csv", since=SINCE, until=until)
    for table, date in (("performance_reviews", "review_date"), ("engagement_surveys", "survey_date")):
        mine = part.tables[table]
        pd.testing.assert_frame_equal(short.tables[table], mine[mine[date] <= until].reset_index(drop=True))
        pd.testing.assert_frame_equal(short_text.tables[table], short.tables[table], check_dtype=False)
    pd.testing.assert_frame_equal(short.job_history, part.job_history)
    latest = max(full.performance_reviews["review_date"].max(), full.engagement_surveys["survey_date"].max())
    assert short.history_end == short_text.history_end == latest and short.end == full.end
    with pytest.raises(me.DataValidationError, match="until: 1 data problem\n  - a date given together with since, not 2024-03-31"):
        me.load(eight_years / "parquet", until=until)
    with pytest.raises(me.DataValidationError, match=r"a date on or after since \(2021-04-01\), not 2020-12-31"):
        me.load(eight_years / "parquet", since=SINCE, until="2020-12-31")


def test_a_parquet_history_is_read_a_batch_at_a_time(eight_years, monkeypatch):
    """With batches of 1,000 rows and the candidates for each person's latest row reduced as they
    pile up, the rows kept are the same as in one batch."""
    import mentoring_eval.data as data

    whole = me.load(eight_years / "parquet", since=SINCE)
    monkeypatch.setattr(data, "BATCH_ROWS", 1000)
    assert pq.ParquetFile(eight_years / "parquet" / "engagement_surveys.parquet").metadata.num_rows > 20_000
    batched = me.load(eight_years / "parquet", since=SINCE)
    for name in whole.tables:
        pd.testing.assert_frame_equal(batched.tables[name], whole.tables[name])


def test_a_cohort_read_from_its_window_gives_the_same_figures(eight_years):
    """Every retention and promotion estimate (naive, rollout or lottery, placebo, matched survival,
    Cox) and the ROI, for mentees and mentors, equal those from the whole history; the staggered
    rollout across all cohorts, which needs the whole history, says so instead of answering."""
    for cohort in ("2023-spring", "2023-autumn"):
        params = ROOT / "params" / f"{cohort}.yaml"
        whole = me.open_study(params, data_dir=eight_years / "parquet")
        window = me.open_study(params, data_dir=eight_years / "parquet", since="window")
        start = window.start
        assert window.dataset.since == min(start - pd.DateOffset(months=24), (start - pd.DateOffset(months=12)).replace(day=1))
        assert window.dataset.until == (start + pd.DateOffset(months=12)).replace(day=1) - pd.Timedelta(days=1)
        assert window.dataset.engagement_surveys["survey_date"].max() <= window.dataset.until < window.end == whole.end
        assert len(window.dataset.engagement_surveys) < 0.7 * len(whole.dataset.engagement_surveys)
        assert window.window == whole.window
        for role in ("mentee", "mentor"):
            for analysis in (me.retention, me.promotion):
                a, b = analysis.analyze(whole, role).to_frame(), analysis.analyze(window, role).to_frame()
                assert len(a) >= 9
                pd.testing.assert_frame_equal(a, b)
        money = [me.roi.attempt(s) for s in (whole, window)]
        assert money[0].result is not None and money[0].summary() == money[1].summary()
        pd.testing.assert_frame_equal(money[0].estimates.to_frame(), money[1].estimates.to_frame())
    with pytest.raises(me.NotEstimable, match="needs the whole history"):
        fit_staggered(window.dataset)
    # a cohort's pages say so in place of the rollout, and publish the cohort's other estimates
    none = me.effects.staggered_if_estimable(window, "promoted")
    assert none.result is None and none.estimates.to_frame().empty and me.display.rollout(none, "promotions") is None
    assert me.narrate.rollout(none, "promotions").startswith("**No rollout across the cohorts here:** the data were "
                                                            "read from ")
    whole_rollout = me.effects.staggered_if_estimable(whole, "promoted")
    assert whole_rollout.reason == "" and len(whole_rollout.estimates.to_frame()) >= 1
    with pytest.raises(me.ParamsError, match="cohort_id '2031-never' is not in the cohorts table of .*known: 2023-autumn"):
        me.open_study(params, data_dir=eight_years / "parquet", cohort_id="2031-never", since="window")


def test_problems_keep_the_files_row_numbers_and_no_row_is_dropped_unseen(eight_years, tmp_path):
    """A bad rating and a review of an unknown employee after `since` are reported at their rows in
    the file (not their place among the rows kept); a review of an unknown employee before it is
    kept for the reference check to report, not trimmed away."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(eight_years / "parquet", data)
    reviews = pd.read_parquet(data / "performance_reviews.parquet")
    late = int(reviews.index[reviews["review_date"] >= SINCE][3])
    early = int(reviews.index[reviews["review_date"] < SINCE][5])
    broken = reviews.copy()
    broken.loc[late, "rating"] = 9
    broken.to_parquet(data / "performance_reviews.parquet", index=False)
    with pytest.raises(me.DataValidationError, match=fr"performance_reviews.parquet, column rating, 1 row \(row {late + 1}: 9\)"):
        me.load(data, since=SINCE)
    broken = reviews.copy()
    broken.loc[early, "employee_id"] = "E999999"  # checked across tables once each table is sound on its own
    broken.to_parquet(data / "performance_reviews.parquet", index=False)
    with pytest.raises(me.DataValidationError, match=fr"column employee_id, 1 row \(row {early + 1}: 'E999999'\)"):
        me.load(data, since=SINCE)
    # a review given twice (same person, same day) after `since`: both rows reported, keyed by the
    # positions the read found rather than the ids hashed again
    broken = pd.concat([reviews, reviews.loc[[late]]], ignore_index=True)
    broken.to_parquet(data / "performance_reviews.parquet", index=False)
    twice = f"{reviews.loc[late, 'employee_id']} / {reviews.loc[late, 'review_date']:%Y-%m-%d}"
    with pytest.raises(me.DataValidationError, match=fr"column employee_id, review_date, 2 rows \(row {late + 1}: "
                                                     fr"'{twice}', row {len(reviews) + 1}: '{twice}'\): expected one "
                                                     "row per employee_id and review_date"):
        me.load(data, since=SINCE)
    with pytest.raises(me.DataValidationError, match="since"):
        me.load(data, since="the spring")


def test_the_cache_keeps_a_history_read_from_a_date_apart(eight_years, tmp_path):
    cache = tmp_path / "cache"
    whole = me.load(eight_years / "parquet", cache=cache)
    part = me.load(eight_years / "parquet", cache=cache, since=SINCE)
    again = me.load(eight_years / "parquet", cache=cache, since=SINCE)
    assert len(list(cache.iterdir())) == 2 and again.fingerprint == part.fingerprint != whole.fingerprint
    assert (again.since, again.begins, again.history_begins) == (SINCE, SINCE, whole.begins)
    for name in part.tables:
        pd.testing.assert_frame_equal(again.tables[name], part.tables[name])


def test_ids_with_spaces_around_are_matched_once_trimmed(eight_years, tmp_path):
    """A Parquet history whose ids carry spaces: validation trims them (and says so), and each row's
    employee is the trimmed id's, so the window keeps what it keeps of clean ids."""
    import shutil

    import pyarrow as pa

    data = tmp_path / "padded"
    shutil.copytree(eight_years / "parquet", data)
    clean = me.load(data, since=SINCE)
    file = data / "performance_reviews.parquet"
    table = pq.read_table(file)
    ids = table.column("employee_id").to_pylist()
    padded = [f" {v} " if i % 7 == 0 else v for i, v in enumerate(ids)]
    pq.write_table(table.set_column(table.schema.get_field_index("employee_id"), "employee_id",
                                    pa.array(padded, pa.string())), file)
    part = me.load(data, since=SINCE)
    assert any(c[1] == "employee_id" and "spaces" in c[3] for c in part.cleaned)
    reviews = part.performance_reviews
    assert (part.employee_positions("performance_reviews")
            == positions_in(reviews["employee_id"], part.employees["employee_id"])).all()
    assert (part.employee_positions("performance_reviews") >= 0).all()
    # from `since` on, the same reviews; before it, each kept person's latest is still there
    mine, theirs = (d[d["review_date"] >= SINCE].reset_index(drop=True) for d in (reviews, clean.performance_reviews))
    pd.testing.assert_frame_equal(mine.sort_values(["employee_id", "review_date"], ignore_index=True),
                                  theirs.sort_values(["employee_id", "review_date"], ignore_index=True))
    latest = (reviews[reviews["review_date"] < SINCE].sort_values("review_date").groupby("employee_id").tail(1)
              .sort_values("employee_id", ignore_index=True))
    expected = (clean.performance_reviews[clean.performance_reviews["review_date"] < SINCE]
                .sort_values("employee_id", ignore_index=True))
    pd.testing.assert_frame_equal(latest, expected)
    assert set(reviews["employee_id"]) <= set(part.employees["employee_id"])


def _window_notebook(path):
    """A page that says which records its study read: the window's dates and the cache entry."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("params_file = None\noutput_dir = None\naudience = None",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(
                    "import json, pathlib\nimport mentoring_eval as me\nstudy = me.open_study(params_file)\n"
                    "ds = study.dataset\n"
                    "pathlib.Path(output_dir, 'read.json').write_text(json.dumps({'since': str(ds.since.date()), "
                    "'until': str(ds.until.date()), 'entry': ds.fingerprint, "
                    "'naive': me.retention.naive(study, 'mentee').difference}))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_history_window_in_the_params_reads_and_validates_each_cohorts_window_only(eight_years, tmp_path):
    """`history: window`: `open_study` reads the cohort's window unless told otherwise; a batch run
    validates each cohort's window into the cache once (never the whole history) and its kernels
    read that entry; a cohort missing from the data fails alone, with the one line a Study gives;
    the rollout across cohorts says it needs the whole history."""
    import json

    from mentoring_eval.files import private_dir
    from mentoring_eval.study import history_window

    params = tmp_path / "params"
    params.mkdir()
    for cohort in ("2023-spring", "2023-autumn", "2031-never"):
        (params / f"{cohort}.yaml").write_text(f"cohort_id: {cohort}\ndata_dir: {eight_years / 'parquet'}\n"
                                               "history: window\n")
    spring = params / "2023-spring.yaml"
    windows = {c: history_window(me.load_params(params / f"{c}.yaml")) for c in ("2023-spring", "2023-autumn")}
    assert windows["2023-spring"] != windows["2023-autumn"]
    study = me.open_study(spring)
    assert (study.dataset.since, study.dataset.until) == windows["2023-spring"]
    assert me.open_study(spring, since="all").dataset.since is None
    whole = me.open_study(spring, since="all")
    assert me.retention.naive(study, "mentee").difference == me.retention.naive(whole, "mentee").difference
    studies = me.open_studies([spring, params / "2023-autumn.yaml"])
    assert [(s.dataset.since, s.dataset.until) for s in studies] == [windows["2023-spring"], windows["2023-autumn"]]
    with pytest.raises(me.NotEstimable, match="needs the whole history: set history: all in the params"):
        me.summary.rollout(studies)

    out = tmp_path / "reports"
    results = me.batch.run(params, notebooks=[_window_notebook(tmp_path / "window.ipynb")], out=out, jobs=1,
                           echo=None)
    status = dict(zip(results["cohort_id"], results["status"], strict=True))
    assert status == {"2023-spring": "done", "2023-autumn": "done", "2031-never": "failed"}
    message = results.loc[results["cohort_id"] == "2031-never", "message"].iloc[0]
    assert message.startswith("ParamsError: cohort_id '2031-never' is not in the cohorts table of")
    entries = sorted(p.name for p in (private_dir(out) / "cache").iterdir() if p.name != me.data.RESULTS_DIR)
    expected = sorted(me.data.cache_entry(eight_years / "parquet", *windows[c]) for c in windows)
    assert entries == expected and all("-since-" in e and "-until-" in e for e in entries)
    for cohort, (since, until) in windows.items():
        read = json.loads((out / cohort / "read.json").read_text())
        assert (read["since"], read["until"]) == (f"{since:%Y-%m-%d}", f"{until:%Y-%m-%d}")
        assert read["entry"] == me.data.cache_entry(eight_years / "parquet", since, until)
    assert json.loads((out / "2023-spring" / "read.json").read_text())["naive"] == \
        me.retention.naive(whole, "mentee").difference
