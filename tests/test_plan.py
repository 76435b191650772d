"""The next cohort's lottery: drawn deterministically, balanced within strata, refusing bad
applicants with one line each, preregistered with a hash, and checked against what the cohort
then recorded."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import yaml

import mentoring_eval as me
from mentoring_eval import preregistration
from tests.conftest import ROOT
from tests.test_cli import _cli


@pytest.fixture
def next_cohort(demo_dir, tmp_path):
    """Params for a lottery in departments Engineering, Sales and Product, strata by department and
    level, and 120 eligible applicants (as of 2024-10-01)."""
    raw = yaml.safe_load((ROOT / "params" / "2024-autumn.yaml").read_text())
    raw.update(cohort_id="2025-spring", data_dir=str(demo_dir), design="lottery",
               assignment_strata=["department", "job_level"], seed=5)
    params = tmp_path / "2025-spring.yaml"
    params.write_text(yaml.safe_dump(raw))
    study = me.Study(me.load_params(ROOT / "params" / "2024-autumn.yaml", data_dir=str(demo_dir)), me.load(demo_dir))
    people = study.cohort.people
    eligible = people.loc[people["mentee_eligible"], "employee_id"].sort_values()
    applicants = tmp_path / "applicants.csv"
    eligible.sample(120, random_state=4).to_frame().to_csv(applicants, index=False)
    return params, applicants, people


def test_plan_is_deterministic_and_balanced_within_strata(next_cohort, tmp_path):
    params, applicants, people = next_cohort
    first = preregistration.plan(params, applicants, tmp_path / "a", share=0.5, start="2024-10-01")
    again = preregistration.plan(params, applicants, tmp_path / "b", share=0.5, start="2024-10-01")
    other = preregistration.plan(params, applicants, tmp_path / "c", share=0.5, seed=6, start="2024-10-01")
    one, two = (tmp_path / "a" / "assignment.csv").read_bytes(), (tmp_path / "b" / "assignment.csv").read_bytes()
    assert one == two and one != (tmp_path / "c" / "assignment.csv").read_bytes()
    assert (tmp_path / "a" / "preregistration.json").read_bytes() == (tmp_path / "b" / "preregistration.json").read_bytes()
    assert again.preregistration == first.preregistration
    # the file's order does not matter, only the seed
    shuffled = tmp_path / "shuffled.csv"
    pd.read_csv(applicants).iloc[::-1].to_csv(shuffled, index=False)
    backwards = preregistration.plan(params, shuffled, tmp_path / "d", start="2024-10-01")
    assert backwards.assignment.set_index("employee_id")["offered"].sort_index().equals(
        first.assignment.set_index("employee_id")["offered"].sort_index())
    a = first.assignment
    by = people.set_index("employee_id").loc[a["employee_id"]]
    expected = "department=" + by["department"].astype(str) + " | job_level=" + by["job_level"].astype(str)
    assert (a["stratum"].to_numpy() == expected.to_numpy()).all()
    counts = a.groupby("stratum")["offered"].agg(["size", "sum"])
    assert ((counts["sum"] - 0.5 * counts["size"]).abs() < 1).all()  # within one person of the share, every stratum
    assert len(counts) >= 6 and 0 < other.assignment["offered"].sum() < 120
    record = json.loads((tmp_path / "a" / "preregistration.json").read_text())
    assert record["assignment_sha256"] == hashlib.sha256(one).hexdigest()
    assert record["design"] == "lottery" and record["strata"] == ["department", "job_level"] and record["seed"] == 5
    assert record["alpha"] == 0.05 and record["primary_estimand"] == "voluntary_exit_12m"
    n1 = int(a["offered"].sum())
    rate = record["base_rate_pct"]["voluntary_exit_12m"]
    assert record["mde_pp"]["voluntary_exit_12m"] == pytest.approx(me.power.mde(n1, 120 - n1, 100 - rate), abs=1e-4)


def test_plan_on_the_command_line_prints_the_mde_in_one_line(next_cohort, tmp_path):
    params, applicants, _ = next_cohort
    r = _cli("plan", "--params", params, "--applicants", applicants, "--out", tmp_path / "out", "--share", "0.3",
             "--start", "2024-10-01", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and "can detect a" in lines[0] and "pp cut in 12-month voluntary exits" in lines[0]
    a = pd.read_csv(tmp_path / "out" / "assignment.csv")
    assert list(a.columns) == ["employee_id", "stratum", "offered"] and a["offered"].sum() in range(30, 42)


@pytest.mark.parametrize("case, message", [
    ("stranger", "column employee_id, rows 3: 'E999999' not in "),
    ("twice", "column employee_id, rows 2, 4: listed more than once ("),
    ("outside", "outside the mentee eligibility rule of "),
    ("no_column", "no employee_id column (columns: person)"),
])
def test_plan_refuses_bad_applicants_with_one_line(next_cohort, tmp_path, case, message):
    params, applicants, people = next_cohort
    ids = pd.read_csv(applicants)["employee_id"].tolist()
    if case == "stranger":
        ids[1] = "E999999"
    elif case == "twice":
        ids[2] = ids[0]
    elif case == "outside":
        senior = people.loc[~people["mentee_eligible"] & (people["job_level"] >= 5), "employee_id"].iloc[0]
        ids[5] = senior
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"person" if case == "no_column" else "employee_id": ids}).to_csv(bad, index=False)
    r = _cli("plan", "--params", params, "--applicants", bad, "--out", tmp_path / "out", "--start", "2024-10-01",
             cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert not (tmp_path / "out" / "assignment.csv").exists()


def test_the_run_reports_every_deviation_from_the_preregistration(tmp_path):
    """A lottery cohort preregistered with its own recorded offers, then two flipped and one
    applicant dropped from the draw: three deviations, listed."""
    data = tmp_path / "data"
    me.simulate(data, n_employees=1000, seed=11, design="mix")  # 2023-spring: offers recorded
    enr = pd.read_csv(data / "enrollments.csv", dtype=str, keep_default_na=False)
    lottery = me.load(data)
    mine = enr[(enr["cohort_id"] == "2023-spring") & (enr["role"] == "mentee")]
    assert (mine["offered"] != "").all()
    drawn = mine[["employee_id"]].assign(stratum="all", offered=mine["offered"].str.lower().eq("true"))
    flipped = drawn["employee_id"].iloc[[0, 1]].tolist()
    drawn.loc[drawn["employee_id"].isin(flipped), "offered"] = ~drawn.loc[drawn["employee_id"].isin(flipped), "offered"]
    dropped = drawn["employee_id"].iloc[2]
    drawn = drawn[drawn["employee_id"] != dropped]
    folder = tmp_path / "prereg"
    folder.mkdir()
    text = preregistration._csv(drawn)
    (folder / "assignment.csv").write_text(text)
    (folder / "preregistration.json").write_text(json.dumps({
        "assignment_file": "assignment.csv", "assignment_sha256": hashlib.sha256(text.encode()).hexdigest()}))
    study = me.Study(me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(data),
                                    preregistration=str(folder / "preregistration.json")), lottery)
    found = preregistration.check(study)
    table = found.to_frame().set_index("employee_id")
    assert found.count == 3 and set(table.index) == {*flipped, dropped}
    assert table.loc[dropped, "deviation"] == "enrolled but not in the draw"
    assert {table.loc[e, "deviation"] for e in flipped} <= {"offered though not drawn", "not offered though drawn"}
    assert found.summary().startswith("3 deviations from the preregistered lottery")
    # a changed assignment file is refused: its hash no longer matches
    (folder / "assignment.csv").write_text(text.replace("false", "true", 1))
    with pytest.raises(me.ParamsError, match="has changed since it was drawn"):
        preregistration.check(study)
