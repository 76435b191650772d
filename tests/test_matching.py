"""Coarsened exact matching and balance, checked on examples worked out by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from mentoring_eval.errors import NotEstimable
from mentoring_eval.matching import balance_table, cem, love_plot

PEOPLE = pd.DataFrame({
    "treated": [1, 1, 1, 0, 0, 0, 0, 0, 1],
    "dept": ["A", "A", "B", "A", "A", "A", "B", "C", "C"],
    "age": [25, 35, 45, 22, 28, 38, 60, 30, 50],
})


def test_cem_strata_and_weights_by_hand():
    res = cem(PEOPLE, "treated", {"dept": None, "age": [30, 40]})
    out = res.data
    # strata (dept, age bin): (A,<30) (A,30-40) (B,>=40) match; (C,30-40) and (C,>=40) hold one arm only
    assert out["matched"].tolist() == [True, True, True, True, True, True, True, False, False]
    expected = [1, 1, 1, 2 / 3, 2 / 3, 4 / 3, 4 / 3, 0, 0]  # controls: (treated/control in stratum) x (4 / 3)
    np.testing.assert_allclose(out["cem_weight"], expected)
    assert out.loc[PEOPLE["treated"] == 0, "cem_weight"].sum() == pytest.approx(4)  # = matched controls
    counts = res.counts.set_index("arm")
    assert counts.loc["treated"].tolist() == [3, 1, 4] and counts.loc["control"].tolist() == [4, 1, 5]
    assert (res.n_strata, res.n_matched_strata) == (5, 3)
    assert "3 of 5 strata" in res.summary()


def test_cem_with_a_number_of_bins_and_clear_errors():
    res = cem(PEOPLE, "treated", {"age": 2})  # equal-width bins over 22..60: [22, 41) and [41, 60]
    assert res.data["stratum"].tolist() == [0, 0, 1, 0, 0, 0, 1, 0, 1]
    with pytest.raises(ValueError, match="matching variable 'dept' is not numeric"):
        cem(PEOPLE, "treated", {"dept": [1, 2]})
    with pytest.raises(NotEstimable, match="needs both treated"):
        cem(PEOPLE.assign(treated=1), "treated", {"dept": None})
    with pytest.raises(ValueError, match="has missing values"):
        cem(PEOPLE.assign(age=PEOPLE["age"].where(PEOPLE.index != 2)), "treated", {"age": [30]})
    with pytest.raises(ValueError, match="cut points must be increasing"):
        cem(PEOPLE, "treated", {"age": [40, 30]})


def test_balance_table_by_hand():
    d = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0, 0], "x": [1, 2, 3, 2, 4, 6, 8], "w": [1, 1, 1, 0, 0, 1, 1]})
    row = balance_table(d, "t", ["x"], weights="w").table.iloc[0]
    pooled_sd = np.sqrt((1 + 20 / 3) / 2)
    assert row["smd_before"] == pytest.approx((2 - 5) / pooled_sd)
    assert row["variance_ratio_before"] == pytest.approx(1 / (20 / 3))
    assert row["smd_after"] == pytest.approx((2 - 7) / pooled_sd)  # same denominator after weighting
    assert row["variance_ratio_after"] == pytest.approx(1 / 2)


def test_cem_weights_remove_imbalance_on_the_matching_variables():
    rng = np.random.default_rng(0)
    n = 4000
    level = rng.integers(1, 5, n)
    dept = rng.choice(["A", "B", "C"], n)
    treated = (rng.random(n) < 0.1 + 0.08 * level + 0.1 * (dept == "A")).astype(int)
    d = pd.DataFrame({"treated": treated, "level": level, "dept": dept})
    d["w"] = cem(d, "treated", {"level": None, "dept": None}).data["cem_weight"]
    bal = balance_table(d, "treated", ["level", "dept"], weights="w")
    assert bal.table["smd_before"].abs().max() > 0.2
    assert bal.table["smd_after"].abs().max() < 1e-12
    assert love_plot(bal).get_xlabel() == "|standardized mean difference|"
