"""Several programs (data folders: companies, or programmes of one) compared and pooled: random
effects checked against statsmodels, people of different companies kept apart when cohorts are
pooled, and the cross-cohort page rendered over two companies."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

import mentoring_eval as me
from mentoring_eval import batch, pooling
from mentoring_eval.errors import NotEstimable
from tests.conftest import ROOT


@pytest.mark.parametrize(("effects", "std_errors"), [
    ([1.0, -0.5, 2.5], [0.894, 1.095, 0.707]),  # heterogeneous: tau^2 > 0
    ([-3.0, 4.0, 9.0], [2.0, 2.5, 1.5]),
])
def test_random_effects_match_statsmodels(effects, std_errors):
    ours = pooling.random_effects(effects, std_errors)
    ref = combine_effects(np.array(effects), np.array(std_errors) ** 2, method_re="dl")
    assert ref.tau2 > 0
    assert ours["tau2"] == pytest.approx(ref.tau2, abs=1e-12)
    assert ours["i2"] == pytest.approx(100 * ref.i2, abs=1e-9)
    assert ours["q"] == pytest.approx(ref.q, rel=1e-12)
    assert ours["estimate"] == pytest.approx(ref.mean_effect_re, rel=1e-12)
    assert ours["std_error_dl"] == pytest.approx(ref.sd_eff_w_re, rel=1e-12)
    assert ours["hartung_knapp_scale"] == pytest.approx(ref.scale_hksj_re, rel=1e-12)
    # the interval: Hartung-Knapp, never narrower than DerSimonian-Laird, Student t on k-1 df
    assert ours["std_error"] == pytest.approx(max(ref.sd_eff_w_re, ref.sd_eff_w_re_hksj), rel=1e-12)
    assert ours["ci_high"] - ours["estimate"] == pytest.approx(4.302652730 * ours["std_error"], rel=1e-9)  # t, 2 df


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt")  # statsmodels, on its negative tau^2
def test_random_effects_of_programs_that_agree_are_the_fixed_effect():
    effects, std_errors = np.array([2.0, 2.2, 1.9, 2.1]), np.array([1.0, 1.5, 1.2, 0.9])
    ours = pooling.random_effects(effects, std_errors)
    ref = combine_effects(effects, std_errors ** 2, method_re="dl")
    assert ref.tau2 < 0  # statsmodels leaves the DerSimonian-Laird moment estimate below zero; it is 0
    assert (ours["tau2"], ours["i2"]) == (0.0, 0.0)
    assert ours["estimate"] == pytest.approx(ref.mean_effect_fe, rel=1e-12)
    assert ours["std_error_dl"] == pytest.approx(ref.sd_eff_w_fe, rel=1e-12)
    assert ours["hartung_knapp_scale"] == pytest.approx(ref.scale_hksj_fe, rel=1e-12) and ref.scale_hksj_fe < 1
    assert ours["std_error"] == ours["std_error_dl"]  # a spread below chance never narrows the interval


@pytest.fixture(scope="module")
def two_programs(tmp_path_factory):
    root = tmp_path_factory.mktemp("programs")
    (root / "params").mkdir()
    for name, seed, cohort in (("acme", 1, "2023-spring"), ("beta", 2, "2024-autumn")):  # each one's lottery cohort
        me.simulate(root / name, n_employees=2000, seed=seed, design="lottery")
        (root / "params" / f"{name}.yaml").write_text(f"cohort_id: {cohort}\ndata_dir: ../{name}\ndesign: lottery\n")
    return root


def test_pooling_two_companies_keeps_their_people_apart(two_programs):
    studies = me.open_studies(two_programs / "params")
    acme, beta = ([s for s in studies if pooling.program_of(s).endswith(n)] for n in ("acme", "beta"))
    pick = dict(method="itt_offer", estimand="retention_12m")
    a, b = pooling.pooled(acme).estimates.first(**pick), pooling.pooled(beta).estimates.first(**pick)
    both = pooling.pooled(studies).estimates.first(**pick)
    n = a.n_treated + b.n_treated
    # both companies number their staff E000001...: an id in both analyses would be one person to a naive pool
    analysed = [set(me.retention.analyze(s, "mentee").applicants.effects[("retention_12m", "itt_offer")].ids)
                for s in (*acme, *beta)]
    assert analysed[0] & analysed[1]
    assert both.estimate == pytest.approx((a.estimate * a.n_treated + b.estimate * b.n_treated) / n, rel=1e-12)
    assert both.std_error == pytest.approx(np.hypot(a.n_treated / n * a.std_error, b.n_treated / n * b.std_error),
                                           rel=1e-12)
    assert "cohorts: acme/2023-spring, beta/2024-autumn" in both.note


def test_between_programs_pools_each_programs_own_answer(two_programs):
    studies = me.open_studies(two_programs / "params")
    found = pooling.between_programs(studies, "retention_12m")
    assert found.programs["program"].tolist() == ["acme", "beta"]
    for row in found.programs.itertuples():
        own, _ = pooling.strongest([s for s in studies if pooling.program_of(s).endswith(row.program)],
                                   ["retention_12m"])
        assert (row.estimate, row.std_error) == (own.estimate, own.std_error)
    assert found.pooled == pooling.random_effects(found.programs["estimate"], found.programs["std_error"])
    alone = [s for s in studies if pooling.program_of(s).endswith("acme")]
    with pytest.raises(NotEstimable, match=r"the cohorts come from one program \(acme\)"):
        pooling.between_programs(alone)
    assert me.display.between_programs(alone).data.startswith("The cohorts come from one program (acme); pooling")


def test_the_cross_cohort_page_renders_over_two_companies(two_programs, tmp_path):
    results = batch.run(two_programs / "params", [ROOT / "notebooks" / "07_cohorts_compared.ipynb"], tmp_path / "out",
                        jobs=1, echo=None)
    assert results["status"].tolist() == ["done"], results["message"].tolist()
    page = (tmp_path / "out" / "all-cohorts" / "07_cohorts_compared.html").read_text()
    assert "Across 2 programs" in page and "all programs (random effects)" in page
    assert "No rollout across these cohorts: the cohorts come from 2 data directories" in page
