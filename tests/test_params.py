"""Cohort params: the demo files load, and every kind of mistake is named by file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval.params import load_params
from tests.conftest import ROOT

GOOD = """cohort_id: 2023-spring
data_dir: ../data
period: quarter
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params" / "c.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_every_demo_params_file_loads():
    files = sorted((ROOT / "params").glob("*.yaml"))
    assert len(files) == 4
    for f in files:
        p = load_params(f)
        assert p.cohort_id == f.stem
        assert p.data_dir == (ROOT / "data" / "demo").resolve()
        assert p.min_cell_size == 5 and p.turnover_cost_multiplier == (0.5, 2.0)


def test_defaults_and_relative_data_dir(tmp_path):
    p = load_params(_write(tmp_path, GOOD))
    assert p.data_dir == (tmp_path / "data").resolve()
    assert p.period == "quarter" and p.pre_periods == 12 and p.comparison == "matched"
    assert p.audience == "stakeholder" and p.mentor_hourly_cost is None and p.goals == ()


def test_overrides_replace_keys_and_none_keeps_them(tmp_path):
    p = load_params(_write(tmp_path, GOOD), audience="analyst", cohort_id=None)
    assert p.audience == "analyst" and p.cohort_id == "2023-spring"


@pytest.mark.parametrize(
    "extra, message",
    [
        ("colour: blue\n", "key colour: unknown key"),
        ("pre_periods: twelve\n", "key pre_periods: Input should be a valid integer"),
        ("period: week\n", "key period: Input should be 'month' or 'quarter'"),
        ("min_cell_size: 0\n", "key min_cell_size: Input should be greater than or equal to 3"),
        ("min_cell_size: 1\n", "key min_cell_size: Input should be greater than or equal to 3"),
        ("turnover_cost_multiplier: [2.0, 0.5]\n", "key turnover_cost_multiplier: Value error, must be [low, high]"),
        ("goals:\n  - metric: nps\n    deadline: someday\n", "key goals.0.deadline: Input should be a valid date"),
        ("mentee_eligibility:\n  level: [1]\n", "key mentee_eligibility.level: unknown key"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path, extra, message):
    path = _write(tmp_path, GOOD + extra)
    with pytest.raises(me.ParamsError) as info:
        load_params(path)
    assert str(info.value).startswith(f"{path}, key")
    assert message in str(info.value)


def test_missing_cohort_id_and_bad_yaml(tmp_path):
    with pytest.raises(me.ParamsError, match="key cohort_id: required but missing"):
        load_params(_write(tmp_path, "period: month\n"))
    with pytest.raises(me.ParamsError, match="not valid YAML"):
        load_params(_write(tmp_path, "cohort_id: [unclosed\n"))
    with pytest.raises(me.ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_a_study_refuses_a_cohort_missing_from_the_data(tmp_path, demo_dir):
    path = _write(tmp_path, f"cohort_id: 2031-autumn\ndata_dir: {demo_dir}\n")
    with pytest.raises(me.ParamsError) as info:
        me.open_study(path)
    assert str(info.value) == (f"{path}, key cohort_id: '2031-autumn' is not in {demo_dir / 'cohorts.csv'} "
                               "(known: 2023-autumn, 2023-spring, 2024-autumn, 2024-spring)")
    # the same with the cohort given as an override, and a study of a cohort the data have
    with pytest.raises(me.ParamsError, match="key cohort_id: '2031-spring' is not in"):
        me.open_study(path, cohort_id="2031-spring")
    study = me.open_study(path, cohort_id="2024-spring", audience="analyst")
    assert (study.cohort_id, study.disclosure) == ("2024-spring", me.Disclosure("analyst", 5))
    assert study.start == pd.Timestamp(study.dataset.cohorts.set_index("cohort_id").loc["2024-spring", "start_date"])


def test_readme_documents_every_params_key():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Params reference", 1)[1].split("\n## ", 1)[0]
    for key in me.CohortParams.model_fields:
        assert f"| {key} |" in section, key


@pytest.mark.parametrize("cohort_id", ["../../etc", "2024/spring", "..", ".hidden", "a\\b", "c:x", "tab\there", " "])
def test_a_cohort_id_that_is_not_a_plain_folder_name_is_refused(tmp_path, cohort_id):
    path = _write(tmp_path, f"cohort_id: {json.dumps(cohort_id)}\n")  # a JSON string is a YAML string
    with pytest.raises(me.ParamsError) as info:
        load_params(path)
    assert str(info.value).startswith(f"{path}, key cohort_id: Value error, must be a plain name (no /, \\, :, "
                                      "leading dot or control characters), since it names the cohort's report folder")


def test_a_cohort_id_override_never_borrows_another_cohorts_params_file(tmp_path, demo_dir):
    spring = _write(tmp_path, f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    autumn = spring.parent / "autumn.yaml"  # beside it
    autumn.write_text(f"cohort_id: 2023-autumn\ndata_dir: {demo_dir}\n")
    with pytest.raises(me.ParamsError) as info:
        me.open_study(spring, cohort_id="2023-autumn")
    assert str(info.value) == (f"{spring}: cohort_id '2023-autumn' has its own params file {autumn.resolve()}; open "
                               f"that file instead (this one would study it with {spring.name}'s eligibility, goals "
                               f"and costs)")
    assert me.open_study(spring, cohort_id="2023-spring").cohort_id == "2023-spring"  # its own id is fine
