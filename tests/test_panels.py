"""The at-risk panel, checked row by row on a hand-made company."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval.effects import rollout_panel
from mentoring_eval.panels import SEGMENT_EVENTS, at_risk, period_index, period_start, segment_counts
from tests.test_metrics import TINY


@pytest.fixture
def tiny(tmp_path):
    for name, text in TINY.items():
        if name == "job_history":
            text += "E1,2022-02-10,2,Sales\n"  # E1 promoted in February 2022
        (tmp_path / f"{name}.csv").write_text(text)
    (tmp_path / "performance_reviews.csv").write_text("employee_id,review_date,rating\nE1,2022-01-15,4\nE4,2022-03-01,3\n")
    return me.load(tmp_path)


def test_period_numbers_round_trip():
    dates = pd.Series(pd.to_datetime(["2022-01-31", "2022-02-01", "2023-12-15"]))
    assert (period_index(dates) - period_index(dates)[0]).tolist() == [0, 1, 23]
    assert period_index(dates, "quarter")[2] - period_index(dates, "quarter")[0] == 7
    assert pd.DatetimeIndex(period_start(period_index(dates))).strftime("%Y-%m-%d").tolist() == [
        "2022-01-01", "2022-02-01", "2023-12-01"]


def test_at_risk_rows_by_hand(tiny):
    p = at_risk(tiny)  # exits are recorded from January to March 2022
    rows = p.groupby("employee_id")["period_start"].apply(lambda s: s.dt.month.tolist()).to_dict()
    assert rows == {"E1": [1, 2, 3], "E2": [1, 2], "E3": [1, 2, 3], "E4": [2, 3], "E5": [1]}
    exits = p[p["exited"]].set_index("employee_id")
    assert exits["period_start"].dt.month.to_dict() == {"E2": 2, "E3": 3, "E5": 1}
    assert exits["exited_voluntary"].to_dict() == {"E2": True, "E3": False, "E5": True}
    e1 = p[p["employee_id"] == "E1"].set_index(p.loc[p["employee_id"] == "E1", "period_start"].dt.month)
    assert e1["promoted"].tolist() == [False, True, False]
    assert e1["job_level"].tolist() == [1, 1, 2]  # level as of each period's start
    assert e1["last_rating"].tolist()[1:] == [4.0, 4.0] and pd.isna(e1["last_rating"].iloc[0])
    e4 = p[p["employee_id"] == "E4"]
    assert e4["tenure_months"].tolist() == [0.0, pytest.approx(28 / 30.4375, abs=0.05)]
    assert pd.isna(e4["last_rating"]).all()  # the March 1 review is not before March 1


def test_demo_panel_counts_agree_with_the_headcount_table(demo_dir):
    ds = me.load(demo_dir)
    p = at_risk(ds)
    study = me.Study(me.CohortParams(cohort_id="2023-spring", data_dir=demo_dir), ds)
    h = me.workforce.headcount_by_period(study).set_index("period")
    by_month = p.groupby(p["period_start"].dt.strftime("%Y-%m"))
    assert (by_month["exited_voluntary"].sum() == h["exits_voluntary"]).all()
    assert (by_month["exited_involuntary"].sum() == h["exits_involuntary"]).all()
    # everyone employed at a month's start, plus that month's hires, is at risk in it
    assert (by_month.size() == h["headcount_start"] + h["hires"]).all()


@pytest.mark.parametrize("period", ["month", "quarter"])
@pytest.mark.parametrize("by", [("department", "location"), ("department",), ("location",)])
def test_segment_counts_from_spells_equal_the_panel_grouped(demo_dir, period, by):
    ds = me.load(demo_dir)
    events = SEGMENT_EVENTS
    for window in ({}, {"start": "2022-02-15", "end": "2024-07-31"}):
        found = segment_counts(ds, period, by, events, **window).sort_values([*by, "period"], ignore_index=True)
        panel = at_risk(ds, period, **window)
        expected = panel.groupby([*by, "period"], as_index=False).agg(at_risk=("exited", "size"),
                                                                      **{e: (e, "sum") for e in events})
        expected[list(by)] = expected[list(by)].astype(str)
        pd.testing.assert_frame_equal(found, expected, check_dtype=False)


def _rollout_panel_from_the_panel(ds, period, by, outcome):
    """The rollout's unit x period rates as the person-period panel gives them (the reference)."""
    panel = at_risk(ds, period)
    codes = panel.groupby(list(by), sort=True).ngroup().to_numpy()
    labels = panel.groupby(list(by), sort=True).size().index.map(
        lambda key: " / ".join(map(str, key if isinstance(key, tuple) else (key,))))
    unit = pd.Series(np.asarray(labels, dtype=object)[codes], index=panel.index)
    grouped = pd.DataFrame({"unit": unit, **{c: panel[c] for c in by}, "period": panel["period"],
                            "hit": panel[outcome].astype(float)})
    rates = grouped.groupby(["unit", *by, "period"], as_index=False).agg(at_risk=("hit", "size"), events=("hit", "sum"))
    rates["rate"] = 100 * rates["events"] / rates["at_risk"]
    enr, cohorts = ds.enrollments, ds.cohorts.set_index("cohort_id")
    start_period = period_index(enr["cohort_id"].map(cohorts["start_date"]), period)
    at_start = pd.DataFrame({"employee_id": panel["employee_id"], "period": panel["period"], "unit": unit})
    reached = enr[["employee_id"]].assign(period=start_period).merge(at_start, on=["employee_id", "period"])
    rates["first_period"] = rates["unit"].map(reached.groupby("unit")["period"].min()).fillna(0).astype(int)
    rates["weight"] = rates.groupby("unit")["at_risk"].transform("mean")
    return rates


@pytest.mark.parametrize(("period", "by", "outcome"), [("month", ("department", "location"), "exited_voluntary"),
                                                     ("quarter", ("department",), "promoted")])
def test_rollout_rates_from_spells_equal_those_from_the_panel(demo_dir, period, by, outcome):
    ds = me.load(demo_dir)
    found = rollout_panel(ds, period, by, outcome)
    expected = _rollout_panel_from_the_panel(ds, period, by, outcome)
    expected[list(by)] = expected[list(by)].astype(str)
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)
    assert (found["first_period"] > 0).any() and (found["first_period"] == 0).any()


def test_integer_membership_by_hashing_equals_numpy():
    from mentoring_eval.panels import contains

    rng = np.random.default_rng(3)
    values, keys = rng.integers(-5, 5000, 20000), rng.integers(0, 5000, 700)
    assert contains(values, keys).tolist() == np.isin(values, keys).tolist()
    assert contains(values, keys).sum() > 1000 and not contains(values, np.array([], dtype=np.int64)).any()


def test_latest_record_as_of_a_day_equals_a_search_by_hand_with_old_and_undated_records():
    """Records from before 1970 (negative day numbers) and undated ones (sorted last) must not
    leak into the employee before: the employee-and-day key keeps them apart."""
    from mentoring_eval.panels import as_of_position, day_numbers

    rng = np.random.default_rng(11)
    n = 3000
    rec_emp = rng.integers(0, 200, n)
    rec_dates = pd.Series(pd.to_datetime("1900-01-01") + pd.to_timedelta(rng.integers(0, 50000, n), unit="D"))
    rec_dates[rng.random(n) < 0.05] = pd.NaT
    rec_day = day_numbers(rec_dates)
    assert (rec_day < 0).sum() > 1000
    keys_emp = rng.integers(-1, 205, 4000)
    keys_day = day_numbers(pd.Series(pd.to_datetime("1899-06-01") + pd.to_timedelta(rng.integers(0, 52000, 4000), unit="D")))
    for strictly in (False, True):
        found = as_of_position(keys_emp, keys_day, rec_emp, rec_day, strictly_before=strictly)
        expected = []
        for e, d in zip(keys_emp, keys_day):
            ok = (rec_emp == e) & ((rec_day < d) if strictly else (rec_day <= d))
            idx = np.flatnonzero(ok)
            expected.append(-1 if idx.size == 0 else idx[np.lexsort((idx, rec_day[idx]))[-1]])
        assert found.tolist() == expected
        assert (found >= 0).sum() > 2000 and (found == -1).sum() > 50


def test_career_events_equal_a_groupby_over_the_job_records_sorted_by_id(demo_dir):
    """job_events (from the records sorted once by employee position and date) finds the same
    promotions, grade changes and moves as comparing each record with the one before it in the
    job history sorted by employee id and date, with each event's employee position."""
    from mentoring_eval.panels import job_events

    ds = me.load(demo_dir)
    jobs = ds.job_history.sort_values(["employee_id", "effective_date"], ignore_index=True)
    before = jobs.groupby("employee_id")[["job_level", "salary_grade", "department"]].shift()
    expected = jobs.assign(promoted=(jobs["job_level"] > before["job_level"]).to_numpy(bool),
                           grade_changed=(before["salary_grade"].notna() & jobs["salary_grade"].notna()
                                          & (jobs["salary_grade"] != before["salary_grade"])).to_numpy(bool),
                           moved=(before["department"].notna() & (jobs["department"] != before["department"])).to_numpy(bool))
    expected = expected[expected["promoted"] | expected["grade_changed"] | expected["moved"]]
    found = job_events(ds).sort_values(["employee_id", "effective_date"], ignore_index=True)
    columns = ["employee_id", "effective_date", "promoted", "grade_changed", "moved"]
    pd.testing.assert_frame_equal(found[columns], expected[columns].reset_index(drop=True), check_dtype=False)
    assert found[["promoted", "grade_changed", "moved"]].sum().min() > 50
    assert (ds.employees["employee_id"].to_numpy()[found["employee"]] == found["employee_id"].to_numpy()).all()


def test_unique_sorted_equals_numpy_unique_in_and_out_of_order():
    from mentoring_eval.panels import _unique_sorted

    rng = np.random.default_rng(3)
    keys = rng.integers(-5, 40, 500).astype(np.int64)
    for case in (keys, np.sort(keys), keys[:1], keys[:0]):
        assert np.array_equal(_unique_sorted(case), np.unique(case))
