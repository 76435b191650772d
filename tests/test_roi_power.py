"""ROI arithmetic by hand, the uncertainty carried into it, and the power formulas by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mentoring_eval as me
from mentoring_eval import power, roi
from tests.conftest import ROOT


def test_roi_arithmetic_by_hand():
    r = roi.from_effect("C", cost=10_000, participants=50, salary=60_000, multiplier=(1.0, 1.0), effect=2.0,
                        effect_se=0.0, naive_effect=6.0)
    # benefit = 2% x 50 x 60,000 x 1 = 60,000; net = 50,000; ROI = 5
    assert r.net_median == pytest.approx(50_000) and r.roi_median == pytest.approx(5.0)
    assert r.break_even_effect == pytest.approx(100 * 10_000 / (50 * 60_000))
    assert r.break_even_exit_rate == pytest.approx(-r.break_even_effect / 12)
    assert r.naive_net == pytest.approx(0.06 * 50 * 60_000 - 10_000) and r.naive_roi == pytest.approx(17.0)
    assert r.prob_positive == 1.0
    table = r.to_frame().set_index(["estimand", "method"])
    assert table.loc[("roi", "causal"), "estimate"] == pytest.approx(500.0)  # percent


def test_uncertainty_in_the_effect_reaches_the_roi():
    r = roi.from_effect("C", cost=10_000, participants=50, salary=60_000, multiplier=(1.0, 1.0), effect=1.0,
                        effect_se=2.0, naive_effect=6.0, draws=40_000, seed=3)
    # P(ROI > 0) = P(effect draw > break-even)
    expected = stats.norm.sf((r.break_even_effect - 1.0) / 2.0)
    assert r.prob_positive == pytest.approx(expected, abs=0.01)
    assert r.roi_low < 0 < r.roi_high
    again = roi.from_effect("C", 10_000, 50, 60_000, (1.0, 1.0), 1.0, 2.0, 6.0, draws=40_000, seed=3)
    assert again.roi_median == r.roi_median  # seeded


def test_with_no_planted_effect_the_roi_interval_includes_losing_the_whole_cost(tmp_path):
    me.simulate(tmp_path, n_employees=6000, seed=2, effects=me.Effects.null())
    # invitations counted by department and location, so the rollout can head the report (no shocks planted)
    study = me.Study(me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(tmp_path),
                                    assignment_unit=["department", "location"]), me.load(tmp_path))
    me.retention.analyze(study, "mentee", bootstrap=20)
    r = roi.compute(study)
    assert r.effect == me.retention.analyze(study, "mentee").headline.estimate  # the headline it prices
    assert r.roi_low <= -1.0 <= r.roi_high  # -100%: the cost spent and nothing back
    assert r.naive_roi > r.roi_median  # the naive gap from self-selection alone looks like a return
    cost = roi.costs(study).set_index("category")["amount"]
    assert {"software", "mentor_time", "mentee_time"} <= set(cost.index) and (cost > 0).all()


def test_minimum_detectable_effect_matches_simulated_power():
    n, base = 600, 15.0
    effect = power.mde(n, n, base)
    rng = np.random.default_rng(0)
    p0, p1 = base / 100, base / 100 + effect / 100
    x0, x1 = rng.binomial(n, p0, 4000), rng.binomial(n, p1, 4000)
    pooled = (x0 + x1) / (2 * n)
    z = (x1 / n - x0 / n) / np.sqrt(pooled * (1 - pooled) * 2 / n)
    assert np.mean(np.abs(z) > 1.959964) == pytest.approx(0.80, abs=0.03)
    assert power.sample_size(effect, base) == n
    assert power.mde(n, n, base, participation_share=0.1) == pytest.approx(10 * effect)
    assert power.warning("12-month retention", 2.0, effect).startswith("**Too small to tell:**")


@pytest.mark.parametrize(
    "value, low, high, elapsed, direction, expected_status",
    [
        (88.0, 86.0, 90.0, 0.5, "increase", "on track"),  # expected now 87.5: reached
        (86.0, 83.0, 89.0, 0.5, "increase", "at risk"),  # below 87.5, interval reaches it
        (84.0, 82.0, 86.0, 0.5, "increase", "off track"),  # even the interval falls short
        (89.0, 87.0, 91.0, 1.5, "increase", "at risk"),  # deadline passed: expected = target 90
        (12.0, 10.0, 14.0, 1.0, "decrease", "on track"),  # a rate to bring down from 20 to 12
        (16.0, 15.0, 17.0, 1.0, "decrease", "off track"),
    ],
)
def test_scorecard_status_rule(value, low, high, elapsed, direction, expected_status):
    from mentoring_eval.scorecard import status

    baseline, target = (85.0, 90.0) if direction == "increase" else (20.0, 12.0)
    got, expected_now = status(value, low, high, baseline, target, elapsed, direction)
    assert got == expected_status
    assert expected_now == pytest.approx(baseline + (target - baseline) * min(elapsed, 1.0))


def test_scorecard_flags_goals_that_are_not_smart(demo_dir):
    card = me.scorecard.build(me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=demo_dir)).table.set_index("metric")
    assert card.loc["nps", "status"] == "not SMART (no baseline)"
    assert card.loc["retention_12m", "status"] in ("on track", "at risk", "off track")
    rate = card.loc["retention_12m"]
    assert rate["ci_low"] <= rate["value"] <= rate["ci_high"]


def test_executive_summary_leads_with_the_finding_its_interval_and_the_naive_figure(demo_dir):
    page = me.summary.build(me.open_study(ROOT / "params" / "2023-spring.yaml", data_dir=demo_dir))
    by_department = me.narrate.summary(page)
    row = page.headlines.set_index("measure").loc["still employed 12 months after the start (pp)"]
    assert row["interval"] == "cannot tell" and row["naive figure"] == page.estimates.naive("retention_12m").estimate
    assert by_department.split("\n\n")[1].startswith(
        "**What we can say.** This cohort alone cannot tell whether mentees became more or less likely to still be "
        "here 12 months after the start: the rollout reached 2 departments and compares them with 5")
    s = me.summary.build(me.Study(me.load_params(ROOT / "params" / "2023-spring.yaml", data_dir=str(demo_dir),
                                                 assignment_unit=["department", "location"]), me.load(demo_dir)))
    text = me.narrate.summary(s)
    first = text.split("\n\n")[1]  # after the cohort's heading
    r = s.estimates.headline("retention_12m")
    assert first.startswith("**What we can say.** Mentees were an estimated ")
    assert f"{abs(r.estimate):.1f} percentage points" in first
    assert f"(95% CI {r.ci_low:+.1f} to {r.ci_high:+.1f})" in first
    assert first.endswith("the data cannot tell this from no effect.") == r.includes_zero
    assert "The platforms' figures, for comparison: mentees stayed" in text
    naive = s.estimates.naive("retention_12m")
    assert "naive figure" in s.headlines.columns and naive.estimate in set(s.headlines["naive figure"])
