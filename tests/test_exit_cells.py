"""The rollout's exit cells equal the person-period rows they replace: the same people at risk and
exits per cell, and the same difference-in-differences, wild cluster bootstrap, CR2 interval,
randomization test, event study and trend bounds, whether fed one row per person per period or
one weighted row per cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval.assignment import assigned_did
from mentoring_eval.effects import exit_panel, population_event_study, segments, trend_sensitivity

from .conftest import ROOT


def _person_rows(study, role):
    """The person-period rows, built from the at-risk panel as the design defines them: each person's
    segment fixed at the start period, else the last before it, else the first after it."""
    cohort, s, panel = study.cohort, study.cohort.start_period, study.panel
    rule = getattr(cohort.params, f"{role}_eligibility")
    distance = np.where(panel["period"] <= s, s - panel["period"], 10**6 + panel["period"] - s)
    order = np.lexsort((distance, pd.factorize(panel["employee_id"])[0]))
    ids = panel["employee_id"].to_numpy()[order]
    reference = panel.iloc[order[np.r_[True, ids[1:] != ids[:-1]]]].reset_index(drop=True)
    inside, outside = segments(reference, rule, cohort.treated_departments)
    arm = pd.DataFrame({"employee_id": reference["employee_id"], "treated": inside.astype(int).to_numpy(),
                        "keep": (inside | outside).to_numpy(), "department": reference["department"].to_numpy(),
                        "location": reference["location"].to_numpy()})
    rows = panel[["employee_id", "period", "exited_voluntary"]].merge(arm[arm["keep"]].drop(columns="keep"),
                                                                     on="employee_id")
    rows["post"] = (rows["period"] >= s).astype(int)
    rows["rel_time"] = rows["period"] - s
    rows["exit_pct"] = 100.0 * rows.pop("exited_voluntary").astype(float)
    rows["participant"] = rows["employee_id"].isin(set(cohort.participants(role)["employee_id"]))
    return rows


@pytest.fixture(scope="module")
def study(demo_dir):
    return me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=demo_dir)


@pytest.mark.parametrize("role", ["mentee", "mentor"])
def test_cells_count_the_person_period_rows(study, role):
    cells, people = exit_panel(study, role), _person_rows(study, role)
    keys = ["department", "location", "treated", "participant", "period"]
    grouped = people.groupby(keys).agg(weight=("exit_pct", "size"), exit_pct=("exit_pct", "mean")).reset_index()
    found = cells[keys + ["weight", "exit_pct"]].astype({"department": str, "location": str})
    grouped = grouped.astype({"department": str, "location": str, "weight": float})
    pd.testing.assert_frame_equal(found.sort_values(keys, ignore_index=True), grouped.sort_values(keys, ignore_index=True),
                                  check_dtype=False, rtol=1e-12)
    assert cells["weight"].sum() == len(people) > 3_000


@pytest.mark.parametrize("unit", [("department",), ("department", "location")])
def test_inference_on_cells_equals_inference_on_people(study, unit):
    cells, people = exit_panel(study, "mentee"), _person_rows(study, "mentee")
    a, b = assigned_did(cells, "exit_pct", unit, seed=5), assigned_did(people, "exit_pct", unit, seed=5)
    for got, want in ((a.bootstrap, b.bootstrap), (a.small_sample, b.small_sample)):
        for name in ("estimate", "std_error", "ci_low", "ci_high"):
            assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-8, abs=1e-10), name
    assert a.bootstrap.pvalue == b.bootstrap.pvalue and a.small_sample.df == pytest.approx(b.small_sample.df, rel=1e-8)
    assert a.randomization_p == pytest.approx(b.randomization_p, abs=1e-12)
    assert (a.treated, a.comparison) == (b.treated, b.comparison)
    es_cells, es_people = population_event_study(cells, unit=unit), population_event_study(people, unit=unit)
    pd.testing.assert_frame_equal(es_cells.table, es_people.table, rtol=1e-8, atol=1e-10)
    assert (es_cells.n_obs, es_cells.n_clusters) == (es_people.n_obs, es_people.n_clusters)
    assert es_cells.n_obs == len(people)
    np.testing.assert_allclose(es_cells.vcov, es_people.vcov, rtol=1e-8, atol=1e-12)


def test_trend_bounds_on_cells_equal_those_on_people(study):
    unit = ("department", "location")
    try:
        want = trend_sensitivity(_person_rows(study, "mentee"), unit)
    except me.errors.NotEstimable:
        pytest.fail("the test company should support the trend bounds at department x location")
    got = trend_sensitivity(exit_panel(study, "mentee"), unit)
    assert got.width == want.width and got.estimate == pytest.approx(want.estimate, rel=1e-8)
    pd.testing.assert_frame_equal(got.relative_magnitudes, want.relative_magnitudes, rtol=1e-6, atol=1e-8)
    pd.testing.assert_frame_equal(got.smoothness, want.smoothness, rtol=1e-6, atol=1e-8)
