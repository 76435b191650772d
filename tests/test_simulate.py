"""The simulator is the ground truth every estimator is judged against: it must be reproducible,
plant exactly what it says, and plant self-selection that fools naive comparisons."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me

ESTIMANDS = {"retention_12m", "exit_rate", "promotion_12m", "skills_change", "performance_rating", "voluntary_exit_12m"}


def _digest(directory) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path, demo_dir):
    me.simulate(tmp_path / "again", n_employees=1000, seed=11)
    assert _digest(tmp_path / "again") == _digest(demo_dir)
    me.simulate(tmp_path / "other", n_employees=1000, seed=12)
    assert _digest(tmp_path / "other")["employees.csv"] != _digest(demo_dir)["employees.csv"]


@pytest.fixture(scope="module")
def null_world(tmp_path_factory):
    out = tmp_path_factory.mktemp("null")
    return me.simulate(out, n_employees=5000, seed=0, effects=me.Effects.null()), out


def test_null_effects_plant_exactly_zero(null_world):
    truth, out = null_world
    att = truth.table[truth.table["kind"] == "att"]
    assert set(att["estimand"]) == ESTIMANDS
    assert len(att) == 4 * 2 * len(ESTIMANDS)  # four cohorts, two roles
    assert (att["value"] == 0.0).all()
    design = truth.table[truth.table["kind"] == "tot"]  # the rollout design's applicants, each cohort and pooled
    assert set(design["design"]) == {"rollout"} and len(design) == 5 * 4 and (design["value"] == 0.0).all()
    written = json.loads((out / "truth.json").read_text())
    assert all(r["value"] == 0.0 for r in written["estimates"] if r["kind"] in ("att", "tot", "itt_offer"))


def test_null_effects_still_show_naive_gaps_from_self_selection(null_world):
    truth, _ = null_world
    naive = truth.table[(truth.table["kind"] == "naive") & (truth.table["role"] == "mentee")]
    pooled = naive.groupby("estimand").apply(lambda g: np.average(g["value"], weights=g["n_participants"]))
    # participant-weighted over the four cohorts, in percentage points
    assert pooled["retention_12m"] > 3.0
    assert pooled["promotion_12m"] > 3.0


def test_participants_self_select_on_engagement(null_world):
    _, out = null_world
    ds = me.load(out)
    pulses = ds.engagement_surveys
    before = pulses[pulses["survey_date"] < "2023-04-01"].groupby("employee_id")["score"].mean()
    spring = ds.enrollments[(ds.enrollments["cohort_id"] == "2023-spring") & (ds.enrollments["role"] == "mentee")]
    eligible = ds.job_history.sort_values("effective_date").groupby("employee_id").last()
    eng_sales = eligible.index[eligible["department"].isin(["Engineering", "Sales"]) & (eligible["job_level"] <= 3)]
    others = before.index.intersection(eng_sales).difference(spring["employee_id"])
    gap = before.reindex(spring["employee_id"]).mean() - before.reindex(others).mean()
    assert gap > 0.3  # points on the 1-5 engagement scale


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    out = tmp_path_factory.mktemp("planted")
    return me.simulate(out, n_employees=20000, seed=3), out


def test_planted_effects_have_the_planted_sign_and_size(planted):
    truth, _ = planted
    t = truth.table
    mentee_att = t[(t.role == "mentee") & (t.kind == "att")].pivot(index="cohort_id", columns="estimand", values="value")
    assert (mentee_att["exit_rate"] < 0).all()
    assert (mentee_att["retention_12m"] > 0).all()
    assert (mentee_att["promotion_12m"] > 0).all()
    # skills: gain 0.5 points for a full dose, 0.25 for withdrawers, 0 for the unmatched
    assert mentee_att["skills_change"].between(0.25, 0.5).all()
    assert mentee_att["performance_rating"].between(0.05, 0.25).all()


def test_exit_rate_truth_scales_with_the_planted_hazard_multiplier(tmp_path):
    """The exit-rate ATT is (multiplier - 1) x the treated months' untreated hazard: halving the
    multiplier from 0.7 to 0.4 doubles the effect (the at-risk sets differ only slightly)."""
    def pooled(multiplier):
        truth = me.simulate(tmp_path / str(multiplier), n_employees=5000, seed=5,
                            effects=me.Effects(mentee_exit_hazard=multiplier))
        t = truth.table
        rows = t[(t.role == "mentee") & (t.kind == "att") & (t.estimand == "exit_rate")]
        return np.average(rows["value"], weights=rows["n_participants"])

    mild, strong = pooled(0.7), pooled(0.4)
    assert mild < 0 and strong < 0
    assert strong / mild == pytest.approx(2.0, rel=0.1)


def test_truth_json_names_the_estimands_and_definitions(planted):
    _, out = planted
    payload = json.loads((out / "truth.json").read_text())
    assert ESTIMANDS <= set(payload["definitions"])
    assert payload["effects"]["mentee_exit_hazard"] == 0.70
    assert {r["estimand"] for r in payload["estimates"]} == ESTIMANDS


def test_demo_has_the_structure_later_analyses_need(demo_dir):
    ds = me.load(demo_dir)
    cohorts = ds.cohorts.sort_values("start_date")
    assert len(cohorts) >= 4 and cohorts["start_date"].is_unique  # staggered
    depts = set(ds.job_history["department"])
    invited = {"Engineering", "Sales", "Operations", "Finance", "Marketing", "Customer Support", "Product"}
    assert depts - invited  # never-treated departments exist (HR, Legal)
    assert {"withdrawn", "completed", "applied"} <= set(ds.enrollments["status"])
    mentors = ds.enrollments[ds.enrollments["role"] == "mentor"]["employee_id"]
    levels = ds.job_history.groupby("employee_id")["job_level"].max()
    assert (levels.reindex(mentors) >= 4).all()
    per_mentee = ds.goals[ds.goals["owner_role"] == "mentee"].groupby("owner_id").size()
    assert per_mentee.between(2, 3).mean() > 0.6 and (~per_mentee.between(2, 3)).any()
    assert ds.goals["parent_goal_id"].notna().any()
    assert set(ds.surveys["respondent_role"]) == {"mentee", "mentor", "manager"}
    assert {"skills", "satisfaction", "nps", "participate_again"} <= set(ds.surveys["instrument"])
    assert set(ds.program_costs["category"]) == {"software", "administration", "training", "mentor_time", "other"}


def test_too_small_a_company_is_refused(tmp_path):
    with pytest.raises(ValueError, match="n_employees must be at least 200"):
        me.simulate(tmp_path, n_employees=50)


def test_department_shocks_move_whole_departments_and_leave_a_null_world_null(tmp_path):
    """With shocks, voluntary-exit rates by department and half-year spread far beyond the binomial
    noise of a world without them; the replayed truth sees the same shocks, so no effect stays zero."""
    def spread(out):
        ds = me.load(out)
        emp = ds.employees[ds.employees["termination_reason"] == "voluntary"]
        half = emp["termination_date"].dt.year * 2 + (emp["termination_date"].dt.month > 6)
        counts = emp.groupby([emp["department"], half]).size().unstack(fill_value=0)
        shares = counts.div(counts.sum(axis=0), axis=1)  # each department's share of the half-year's quits
        return float(shares.std(axis=1).mean())

    calm = me.simulate(tmp_path / "calm", n_employees=3000, seed=5, effects=me.Effects.null())
    shaken = me.simulate(tmp_path / "shaken", n_employees=3000, seed=5, effects=me.Effects.null(), shocks=0.4)
    assert spread(shaken.out_dir) > 1.5 * spread(calm.out_dir)
    att = shaken.table[shaken.table["kind"].isin(["att", "tot"])]
    assert (att["value"] == 0.0).all()
    assert json.loads((shaken.out_dir / "truth.json").read_text())["shocks"] == 0.4
    with pytest.raises(me.ArgumentError, match="shocks"):
        me.simulate(tmp_path / "bad", n_employees=300, shocks=-1)


def test_effects_can_differ_by_cohort(tmp_path):
    """by_cohort raises each cohort's hazard multipliers to a power: 0 plants nothing in that cohort,
    and its true effects are exactly zero while the others keep theirs."""
    effects = me.Effects(by_cohort=(1.0, 0.0, 1.0, 2.0))
    assert effects.hazard("exit", "mentee", 1) == 1.0 and effects.hazard("exit", "mentee", 3) == pytest.approx(0.49)
    truth = me.simulate(tmp_path, n_employees=1500, seed=3, effects=effects)
    att = truth.table[(truth.table["kind"] == "att") & truth.table["estimand"].isin(["retention_12m", "promotion_12m"])]
    by_cohort = att.groupby("cohort_id")["value"].apply(lambda v: (v == 0).all())
    assert by_cohort.to_dict() == {"2023-spring": False, "2023-autumn": True, "2024-spring": False, "2024-autumn": False}


def test_parquet_simulation_loads_as_the_csv_one_and_reads_only_contract_columns(tmp_path):
    me.simulate(tmp_path / "csv", n_employees=300, seed=5)
    me.simulate(tmp_path / "pq", n_employees=300, seed=5, file_format="parquet")
    assert sorted(p.suffix for p in (tmp_path / "pq").iterdir()) == [".json"] + [".parquet"] * 11
    text, typed = me.load(tmp_path / "csv"), me.load(tmp_path / "pq")
    for name in text.tables:
        pd.testing.assert_frame_equal(text.tables[name], typed.tables[name], check_dtype=False)
    employees = pd.read_parquet(tmp_path / "pq" / "employees.parquet")
    wide = employees.rename(columns={"employee_id": "Employee_ID"}).assign(email="someone@example.com")
    wide.to_parquet(tmp_path / "pq" / "employees.parquet", index=False)
    again = me.load(tmp_path / "pq")
    assert "email" not in again.employees and again.employees["employee_id"].tolist() == text.employees["employee_id"].tolist()
    assert ("employees.parquet", "employee_id", len(employees), "header 'Employee_ID' read as employee_id") in again.cleaned


def test_a_ten_year_span_ends_at_the_same_date_with_the_cohorts_on_their_dates(tmp_path):
    """`years` reaches back from the extraction date: ten years of reviews and pulses from January
    2016, the cohorts on the four-year company's dates, the large tables written a wave per Parquet
    row group, and a null world still exactly null."""
    import pyarrow.parquet as pq

    four = me.load(me.simulate(tmp_path / "four", n_employees=400, seed=4).out_dir)
    truth = me.simulate(tmp_path / "ten", n_employees=400, seed=4, years=10, effects=me.Effects.null(),
                        file_format="parquet")
    ten = me.load(tmp_path / "ten")  # validates: every leaver has a termination date, whenever they left
    pd.testing.assert_frame_equal(ten.cohorts, four.cohorts, check_dtype=False)
    reviews, pulses = ten.performance_reviews["review_date"], ten.engagement_surveys["survey_date"]
    assert (reviews.min(), reviews.max()) == (pd.Timestamp("2016-01-15"), pd.Timestamp("2025-07-15"))
    assert (pulses.min(), pulses.max()) == (pd.Timestamp("2016-01-11"), pd.Timestamp("2025-10-11"))
    assert reviews.nunique() == 20 and pq.ParquetFile(tmp_path / "ten" / "performance_reviews.parquet").num_row_groups == 20
    left = ten.employees["termination_date"]
    assert left.min() < pd.Timestamp("2017-01-01") and left.notna().sum() > four.employees["termination_date"].notna().sum()
    assert (truth.table.loc[truth.table["kind"].isin(["att", "tot"]), "value"] == 0.0).all()
    assert json.loads((tmp_path / "ten" / "truth.json").read_text())["years"] == 10
    for bad in (3, 21, 4.5):
        with pytest.raises(me.ArgumentError, match="years must be a whole number from 4 to 20"):
            me.simulate(tmp_path / "bad", n_employees=300, years=bad)
