"""Program-health metrics on hand-made fixtures with answers worked out by hand, and the planted
skills gain recovered from the simulator."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval import program_health, workforce
from mentoring_eval.params import load_params
from tests.conftest import ROOT

COMPANY = {
    "employees": """employee_id,hire_date,termination_date,termination_reason,department,location,gender
A1,2020-01-01,,,Sales,Berlin,woman
A2,2020-01-01,,,Sales,Berlin,man
A3,2020-01-01,,,Sales,Berlin,woman
A4,2020-01-01,2023-06-15,voluntary,Sales,Berlin,man
A5,2020-01-01,,,Sales,Berlin,woman
A6,2020-01-01,,,Sales,Berlin,man
M1,2015-01-01,,,Sales,Berlin,woman
M2,2015-01-01,,,Sales,Berlin,man
""",
    "job_history": """employee_id,effective_date,job_level,department
A1,2020-01-01,1,Sales
A2,2020-01-01,2,Sales
A3,2020-01-01,2,Sales
A4,2020-01-01,1,Sales
A5,2020-01-01,1,Sales
A6,2020-01-01,3,Sales
A6,2023-03-01,4,Sales
M1,2015-01-01,5,Sales
M2,2015-01-01,5,Sales
""",
    "cohorts": "cohort_id,name,start_date,end_date\nC1,First,2024-01-01,2024-09-30\n",
    "enrollments": """employee_id,cohort_id,role,signup_date,status,withdrawal_date
A1,C1,mentee,2023-12-01,completed,
A2,C1,mentee,2023-12-01,completed,
A3,C1,mentee,2023-12-01,withdrawn,2024-03-01
A5,C1,mentee,2023-12-02,applied,
M1,C1,mentor,2023-12-01,completed,
""",
    "matches": """match_id,cohort_id,mentor_id,mentee_id,matched_date,ended_date
X1,C1,M1,A1,2023-12-20,2024-09-30
X2,C1,M1,A2,2024-01-10,2024-09-30
X3,C1,M1,A3,2024-01-10,2024-03-01
""",
    "meetings": "match_id,meeting_date,duration_minutes\nX1,2024-01-05,60\nX2,2024-02-01,30\n",
    "goals": """goal_id,cohort_id,owner_id,owner_role,horizon,smart_specific,smart_measurable,smart_achievable,smart_relevant,smart_time_bound,created_date,target_date,status,achieved_date,parent_goal_id
P1,C1,,program,long,true,true,true,true,true,2023-12-01,2024-12-01,open,,
G1,C1,A1,mentee,short,true,true,true,true,true,2024-01-05,2024-04-05,achieved,2024-03-30,P1
G2,C1,A1,mentee,short,true,false,true,true,true,2024-01-05,2024-04-05,achieved,2024-05-01,P1
G3,C1,A2,mentee,long,true,true,true,true,true,2024-01-20,2024-09-20,missed,,
G4,C1,A2,mentee,short,true,true,true,true,true,2024-01-20,2024-04-20,achieved,2024-04-01,
G5,C1,A2,mentee,short,true,true,true,true,true,2024-01-20,2024-04-20,achieved,2024-04-10,
G6,C1,A2,mentee,short,true,true,true,true,true,2024-01-20,2024-04-20,abandoned,,
""",
    "surveys": """respondent_id,subject_id,cohort_id,wave,respondent_role,instrument,item,score
A1,A1,C1,baseline,mentee,skills,a,2
A1,A1,C1,baseline,mentee,skills,b,3
A1,A1,C1,end,mentee,skills,a,4
A1,A1,C1,end,mentee,skills,b,4
A2,A2,C1,baseline,mentee,skills,a,3
A2,A2,C1,baseline,mentee,skills,b,3
A2,A2,C1,end,mentee,skills,a,3
A2,A2,C1,end,mentee,skills,b,4
A3,A3,C1,baseline,mentee,skills,a,1
A3,A3,C1,baseline,mentee,skills,b,1
A1,A1,C1,end,mentee,nps,recommend,10
A2,A2,C1,end,mentee,nps,recommend,6
""",
}


@pytest.fixture
def company(tmp_path):
    for name, text in COMPANY.items():
        (tmp_path / f"{name}.csv").write_text(text)
    return me.Study(me.CohortParams(cohort_id="C1", data_dir=tmp_path), me.load(tmp_path))


def test_funnel_counts_by_hand(company):
    f = program_health.funnel(company).set_index(["role", "stage"])["count"]
    # eligible mentees at 2024-01-01: levels 1-3, 6+ months' tenure: A1, A2, A3, A5 (A4 left, A6 now level 4)
    assert [f[("mentee", s)] for s in me.populations.POPULATIONS] == [4, 4, 3, 2, 2, 1]  # enrolled = signed up
    assert [f[("mentor", s)] for s in me.populations.POPULATIONS] == [3, 1, 1, 1, 1, 0]


def test_goals_by_hand(company):
    g = program_health.goals(company).set_index("owner_role")
    assert g.loc["mentee", "goals"] == 6
    assert g.loc["mentee", "smart_complete_pct"] == pytest.approx(100 * 5 / 6)  # G2 is not measurable
    assert g.loc["mentee", "aligned_pct"] == pytest.approx(100 * 2 / 6)
    # all due by the data's end (2024-09-30, the last recorded match end); on time: G1, G4, G5 of six
    assert g.loc["mentee", "achieved_by_target_pct"] == pytest.approx(50.0)
    per = program_health.goals_per_participant(company).set_index(["role", "goals"])
    assert per.loc[("mentee", 2), "participants"] == 1 and per.loc[("mentee", 4), "outside_2_3"]
    assert per.loc[("mentee", 0), "participants"] == 2  # A3 and A5 set none


def test_paired_skills_change_by_hand(company):
    s = program_health.skills(company).set_index(["role", "view"]).loc[("mentee", "self")]
    # A1: 2.5 -> 4.0 (+1.5); A2: 3.0 -> 3.5 (+0.5); A3 has no end wave
    assert s["pairs"] == 2
    assert s["change"] == pytest.approx(1.0)
    sd = np.std([1.5, 0.5], ddof=1)
    assert s["effect_size"] == pytest.approx(1.0 / sd)
    assert s["ci_high"] - s["change"] == pytest.approx(12.7062 * sd / np.sqrt(2), rel=1e-4)  # t(1) 97.5%


def test_nps_of_a_known_distribution():
    scores = np.array([10] * 50 + [8] * 30 + [3] * 20)  # 50% promoters, 20% detractors
    value, se, lo, hi = program_health.nps(scores)
    assert value == pytest.approx(30.0)
    assert se == pytest.approx(100 * np.sqrt((0.5 + 0.2 - 0.3**2) / 100))
    assert (lo, hi) == pytest.approx((30 - 1.959964 * se, 30 + 1.959964 * se))


def test_baseline_turnover_by_hand(company):
    b = workforce.baseline(company).set_index("group").loc["all employees"]
    # 2023-01 .. 2023-12: 8 at risk Jan-Jun, 7 Jul-Dec (A4 left in June): average 7.5; 1 separation
    assert b["average_headcount"] == pytest.approx(7.5)
    assert b["turnover_rate"] == pytest.approx(100 / 7.5)
    assert b["promotion_rate"] == pytest.approx(100 / 7.5)  # A6, March 2023


def test_planted_skills_gain_is_recovered(tmp_path):
    """Pooled over the four cohorts, the mentees' paired self-rated change lands within 0.1 points of
    the true average effect in truth.json (respondents completed more of the program than the
    average participant, so it sits slightly above), and every cohort's interval excludes zero."""
    truth = me.simulate(tmp_path, n_employees=12000, seed=8)
    ds = me.load(tmp_path)
    changes, truths = [], []
    for params_file in sorted((ROOT / "params").glob("*.yaml")):
        study = me.Study(load_params(params_file, data_dir=str(tmp_path)), ds)
        s = program_health.skills(study).set_index(["role", "view"]).loc[("mentee", "self")]
        assert s["ci_low"] > 0
        changes.append(s["change"])
        truths.append(truth.value(study.cohort_id, "mentee", "skills_change"))
    assert np.mean(changes) == pytest.approx(np.mean(truths), abs=0.1)


def test_early_warnings_show_counts_to_stakeholders_and_matches_to_analysts(company):
    warnings = program_health.early_warning(company)
    counts = me.display.early_warnings(warnings, me.Disclosure("stakeholder")).data
    assert list(counts.columns) == ["matches checked", "no meeting recently", "low mid-program satisfaction",
                                    "at risk (either)"]
    exact = [len(warnings), int(warnings["no_recent_meeting"].sum()), int(warnings["low_mid_satisfaction"].sum()),
             int(warnings["at_risk"].sum())]
    assert max(exact) < 5  # the hand-made company has a handful of matches: every count is blanked
    assert counts.iloc[0].isna().tolist() == [n > 0 for n in exact]
    rows = me.display.early_warnings(warnings, me.Disclosure("analyst")).data
    assert "mentee id" in rows and len(rows) == len(warnings)  # the row-level listing, in readers' names


def test_segment_tables_carry_benjamini_hochberg_q_values(demo_dir):
    """Representation by department: each segment's exact binomial p-value of parity, and BH
    q-values across the segments (statsmodels' step-up rule)."""
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    study = me.Study(load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(demo_dir)), me.load(demo_dir))
    rep = program_health.representation(study, by="job_level")
    n = int(rep["participants"].sum())
    first = rep.iloc[0]
    assert first["p_value"] == pytest.approx(stats.binomtest(int(first["participants"]), n,
                                                             first["share_of_eligible"] / 100).pvalue)
    ok = rep["p_value"].notna()
    np.testing.assert_allclose(rep.loc[ok, "q_value"], multipletests(rep.loc[ok, "p_value"], method="fdr_bh")[1])
    assert (rep.loc[ok, "q_value"] >= rep.loc[ok, "p_value"] - 1e-12).all()


def test_early_warning_counts_below_the_cell_size_are_blanked_for_stakeholders():
    warnings = pd.DataFrame({"match_id": [f"M{i}" for i in range(20)], "no_recent_meeting": [i < 3 for i in range(20)],
                             "low_mid_satisfaction": [i >= 12 for i in range(20)], "at_risk": [i < 3 or i >= 12
                                                                                                  for i in range(20)]})
    html = me.display.early_warnings(warnings, me.Disclosure("stakeholder", 5)).to_html()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["20", "\u2014", "\u2014", "11"]  # 3 blanked, and the next smallest so it cannot be worked back


def test_baseline_by_department_equals_the_person_month_panel(demo_dir):
    """The baseline's cells give what the person-month panel of the 12 months before the start
    gives, department by department."""
    from mentoring_eval.cohorts import eligible
    from mentoring_eval.panels import at_risk

    study = me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=demo_dir)
    found = workforce.baseline(study, by="department").set_index(["group", "department"])
    panel = at_risk(study.dataset, "month", start=study.start - pd.DateOffset(months=12),
                    end=study.start - pd.Timedelta(days=1))
    mentees = panel[eligible(panel, study.params.mentee_eligibility).to_numpy()]
    for department, rows in mentees.groupby("department"):
        got = found.loc[("eligible mentees", department)]
        assert got["average_headcount"] == pytest.approx(rows.groupby("period").size().mean(), rel=1e-12)
        assert got["separations"] == rows["exited"].sum()
        assert got["mean_engagement"] == pytest.approx(rows["last_engagement"].mean(), rel=1e-12)
    with pytest.raises(ValueError, match="department, location, job_level"):
        workforce.baseline(study, by="gender")
