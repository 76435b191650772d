"""Workforce metrics and small-cell suppression, checked against answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval.workforce import cohort_sizes, headcount_by_period
from mentoring_eval.privacy import suppress

TINY = {
    "employees": """employee_id,hire_date,termination_date,termination_reason,department,location
E1,2020-01-10,,,Sales,Berlin
E2,2020-05-01,2022-02-15,voluntary,Sales,Berlin
E3,2022-01-20,2022-03-05,involuntary,HR,Berlin
E4,2022-02-01,,,HR,London
E5,2019-03-01,2022-01-31,voluntary,Sales,London
""",
    "job_history": """employee_id,effective_date,job_level,department
E1,2020-01-10,1,Sales
E2,2020-05-01,2,Sales
E3,2022-01-20,1,HR
E4,2022-02-01,4,HR
E5,2019-03-01,3,Sales
""",
    "cohorts": "cohort_id,name,start_date,end_date\nC1,First,2022-02-01,2022-06-30\n",
    "enrollments": """employee_id,cohort_id,role,signup_date,status,withdrawal_date
E1,C1,mentee,2022-01-15,applied,
E2,C1,mentee,2022-01-16,withdrawn,2022-02-15
E4,C1,mentor,2022-01-20,completed,
""",
}


@pytest.fixture
def tiny(tmp_path):
    for name, text in TINY.items():
        (tmp_path / f"{name}.csv").write_text(text)
    return me.Study(me.CohortParams(cohort_id="C1", data_dir=tmp_path), me.load(tmp_path))


def test_monthly_headcount_exits_and_turnover_by_hand(tiny):
    h = headcount_by_period(tiny, "month").set_index("period")
    assert list(h.index) == ["2022-01", "2022-02", "2022-03"]
    assert h["headcount_start"].tolist() == [3, 3, 3]
    assert h["hires"].tolist() == [1, 1, 0]
    assert h["exits_voluntary"].tolist() == [1, 1, 0]
    assert h["exits_involuntary"].tolist() == [0, 0, 1]
    assert h["headcount_end"].tolist() == [3, 3, 2]
    # SHRM: separations / average headcount, in percent
    assert h.loc["2022-01", "turnover_rate"] == pytest.approx(100 * 1 / 3)
    assert h.loc["2022-03", "turnover_rate"] == pytest.approx(100 * 1 / 2.5)


def test_quarterly_headcount_by_hand(tiny):
    q = headcount_by_period(tiny, "quarter").iloc[0]
    assert (q["period"], q["headcount_start"], q["hires"], q["headcount_end"]) == ("2022Q1", 3, 2, 2)
    assert q["turnover_rate"] == pytest.approx(100 * 3 / 2.5)
    assert q["voluntary_turnover_rate"] == pytest.approx(100 * 2 / 2.5)


def test_unknown_period_is_a_clear_error(tiny):
    with pytest.raises(ValueError, match="period must be one of month, quarter, year, got 'week'"):
        headcount_by_period(tiny, "week")


def test_cohort_sizes_by_hand(tiny):
    sizes = cohort_sizes(tiny.dataset, "C1").set_index("role")
    assert sizes.loc["mentee", ["applied", "withdrawn", "completed", "enrolled"]].tolist() == [1, 1, 0, 2]
    assert sizes.loc["mentor", ["completed", "enrolled"]].tolist() == [1, 1]


def test_suppression_on_a_worked_example():
    table = pd.DataFrame({"a": [10, 8, 15], "b": [3, 9, 1], "c": [12, 20, 30]})
    out = suppress(table, ["a", "b", "c"], 5)
    hidden = out[["a", "b", "c"]].isna().to_numpy()
    # primary: 3 and 1; complementary: the smallest other cell in rows 0 and 2 (10 and 15)
    assert hidden.tolist() == [[True, True, False], [False, False, False], [True, True, False]]
    assert out.loc[1, ["a", "b", "c"]].tolist() == [8, 9, 20]


@pytest.mark.parametrize("seed", range(25))
def test_no_suppressed_cell_is_alone_in_its_row_or_column(seed):
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(rng.integers(0, 14, size=(rng.integers(2, 6), rng.integers(2, 6))))
    table.columns = [f"c{i}" for i in table.columns]
    out = suppress(table, list(table.columns), 5)
    hidden = out.isna().to_numpy()
    values = table.to_numpy()
    assert hidden[(values > 0) & (values < 5)].all()  # every small cell is blank
    assert (out.to_numpy()[~hidden] == values[~hidden]).all()  # shown cells are unchanged
    assert not (hidden.sum(axis=1) == 1).any() and not (hidden.sum(axis=0) == 1).any()


def test_suppression_blanks_derived_rates_in_touched_rows():
    table = pd.DataFrame({"stage": ["a", "b", "c"], "count": [100, 3, 40], "pct": [70.0, 2.1, 27.9]})
    out = suppress(table, ["count"], 5, derived=["pct"])
    assert out["count"].isna().tolist() == [False, True, True]  # 3 (primary) and 40 (complementary)
    assert out["pct"].isna().tolist() == [False, True, True]
    assert out.loc[0, "pct"] == 70.0


def test_complementary_suppression_picks_a_nonzero_cell_before_a_zero():
    table = pd.DataFrame({"a": [3, 10], "b": [0, 12], "c": [20, 8]})
    out = suppress(table, ["a", "b", "c"], 5)
    # row 0: 3 is small; blanking the 0 beside it would protect nothing, so 20 goes with it
    assert out.isna().to_numpy().tolist() == [[True, False, True], [True, False, True]]
    assert out.loc[0, "b"] == 0


def test_cells_summed_by_codes_equal_pandas_groupby_with_missing_keys():
    """The baseline's cells (bincount over combined integer codes) equal DataFrame.groupby(...).sum()
    with dropna=False, observed categoricals and sorted groups: missing job levels and departments
    are groups of their own, sorted last, and the key columns keep their dtypes."""
    from mentoring_eval.workforce import _summed_cells

    rng = np.random.default_rng(5)
    n = 5000
    level = pd.array(rng.integers(1, 5, n), dtype="Int64")
    level[rng.random(n) < 0.1] = pd.NA
    dept = pd.Categorical(rng.choice(["Sales", "Ops", "Eng", None], n), categories=["Eng", "HR", "Ops", "Sales"])
    keys = {"mentee": rng.random(n) < 0.3, "job_level": pd.Series(level), "department": pd.Series(dept),
            "period": pd.Series(rng.integers(24300, 24312, n))}
    values = {"people": None, "exited": rng.random(n) < 0.05, "score": rng.normal(3.5, 1, n)}
    found = _summed_cells(keys, values, integer=["people", "exited"])
    frame = pd.DataFrame({**keys, "people": 1, "exited": values["exited"].astype(int), "score": values["score"]})
    expected = frame.groupby(list(keys), dropna=False, observed=True, sort=True).sum().reset_index()
    pd.testing.assert_frame_equal(found, expected, check_dtype=False, rtol=1e-12)
    assert found["job_level"].isna().any() and found["department"].isna().any()
    assert isinstance(found["department"].dtype, pd.CategoricalDtype) and found["job_level"].dtype == "Int64"
    assert found["people"].sum() == n
