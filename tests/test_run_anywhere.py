"""Running from anywhere: the notebooks ship with the package, params files are found from the
working directory or a folder above it, notebooks run on their own write to a scratch folder, and
report folders are keyed by params file and `--set` settings so that variants do not collide."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import mentoring_eval as me
from mentoring_eval.batch import report_ids, shipped_notebooks
from mentoring_eval.errors import ParamsError
from mentoring_eval.params import SET_ENV, locate, parse_settings
from tests.conftest import ROOT

EXE = Path(sys.executable).with_name("mentoring-eval")


def test_the_package_finds_its_notebooks_and_a_wheel_carries_them(tmp_path):
    assert shipped_notebooks() == ROOT / "notebooks"  # a checkout: notebooks/ beside the package
    source = tmp_path / "source"  # a copy: a build writes build/ and *.egg-info beside what it builds
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for name in ("mentoring_eval", "notebooks"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w",
                            str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("mentoring_eval-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert len(shipped) == 8
    assert {f"mentoring_eval/notebooks/{n}" for n in shipped} <= names
    assert "mentoring_eval/templates/offline/index.html.j2" in names


def test_run_from_another_directory_with_params_and_data_outside_the_checkout(tmp_path, data_copy):
    company = tmp_path / "company"
    (company / "params").mkdir(parents=True)
    shutil.move(data_copy, company / "data")
    (company / "params" / "2023-spring.yaml").write_text("cohort_id: 2023-spring\ndata_dir: ../data\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run([str(EXE), "run", "--params", str(company / "params"), "--out", "out", "--jobs", "2"],
                       capture_output=True, text=True, timeout=900, cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "8 of 8 reports ok" in r.stdout
    pages = sorted(p.stem for p in (elsewhere / "out" / "2023-spring").glob("*.html"))
    assert pages == sorted(p.stem for p in shipped_notebooks().glob("0[0-6]*.ipynb"))
    assert (elsewhere / "out" / "all-cohorts" / "07_cohorts_compared.html").is_file()
    assert "2023-spring/06_summary.html" in (elsewhere / "out" / "index.html").read_text()


def test_papermill_from_the_root_finds_the_params_and_writes_to_scratch(tmp_path, monkeypatch):
    import papermill as pm

    monkeypatch.setenv("MENTORING_EVAL_SCRATCH", str(tmp_path / "scratch"))
    published = ROOT / "reports" / "2023-spring" / "estimates.csv"
    before = published.read_bytes() if published.exists() else None
    pm.execute_notebook(str(ROOT / "notebooks" / "04_program_health.ipynb"), str(tmp_path / "04.ipynb"),
                        cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    written = pd.read_csv(tmp_path / "scratch" / "2023-spring" / "estimates.csv")
    study = me.open_study(ROOT / "params" / "2023-spring.yaml")
    matched, enrolled = (me.populations.count(study, "mentee", p) for p in ("matched", "enrolled"))
    rate = written.query("role == 'mentee' and estimand == 'match_rate'")["estimate"]
    assert rate.tolist() == pytest.approx([100 * matched / enrolled])
    assert (published.read_bytes() if published.exists() else None) == before


def test_a_params_path_is_found_from_a_folder_below_it(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "x.yaml").write_text("cohort_id: x\n")
    (tmp_path / "notebooks" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "notebooks" / "deeper")
    assert locate("params/x.yaml") == tmp_path / "params" / "x.yaml"
    assert me.load_params("params/x.yaml").cohort_id == "x"
    with pytest.raises(ParamsError) as caught:
        me.load_params("params/y.yaml")
    assert str(caught.value) == (f"params/y.yaml: params file not found (looked from {tmp_path / 'notebooks' / 'deeper'} "
                                 f"and the folders above it)")


def test_set_replaces_keys_and_keeps_the_rest_of_a_section(monkeypatch):
    settings = parse_settings(["period=quarter", "mentee_eligibility.min_tenure_months=12",
                               "matching_variables=[department, job_level]", "mentor_hourly_cost=null"])
    assert settings == {"period": "quarter", "mentee_eligibility.min_tenure_months": 12,
                        "matching_variables": ["department", "job_level"], "mentor_hourly_cost": None}
    plain = me.load_params(ROOT / "params" / "2023-spring.yaml")
    monkeypatch.setenv(SET_ENV, '{"period": "quarter", "mentee_eligibility.min_tenure_months": 12}')
    varied = me.load_params(ROOT / "params" / "2023-spring.yaml")
    assert (plain.period, varied.period) == ("month", "quarter")
    assert varied.mentee_eligibility.min_tenure_months == 12
    assert varied.mentee_eligibility.levels == plain.mentee_eligibility.levels == (1, 2, 3)
    assert varied.model_copy(update={"period": "month", "mentee_eligibility": plain.mentee_eligibility}) == plain
    monkeypatch.setenv(SET_ENV, '{"period": "week"}')
    with pytest.raises(ParamsError, match=r"2023-spring.yaml, key period \(from --set\): Input should be 'month' or "
                                          r"'quarter' \(got 'week'\)"):
        me.load_params(ROOT / "params" / "2023-spring.yaml")


@pytest.mark.parametrize("item, message", [
    ("perod=quarter", "--set perod: unknown key (allowed: cohort_id, data_dir, period,"),
    ("period", "--set 'period': expected key=value, e.g. --set period=quarter"),
    ("cohort_id=2024-spring", "--set cohort_id: a params file is one cohort's; name that cohort's params file instead"),
    ("matching_variables=[a, b", "--set matching_variables: '[a, b' is not a YAML value"),
])
def test_set_refuses_what_it_cannot_mean(item, message):
    with pytest.raises(ParamsError) as caught:
        parse_settings([item])
    assert str(caught.value).startswith(message)


def test_report_folders_are_keyed_by_params_file_and_settings(tmp_path, monkeypatch):
    p = me.load_params(ROOT / "params" / "2023-spring.yaml")
    own, variant = ROOT / "params" / "2023-spring.yaml", tmp_path / "quarterly.yaml"
    twin_a, twin_b = tmp_path / "a" / "quarterly.yaml", tmp_path / "b" / "quarterly.yaml"
    ids = report_ids([(own, p), (variant, p)])
    assert ids == {own: "2023-spring", variant: "2023-spring--quarterly"}
    twins = report_ids([(twin_a, p), (twin_b, p)])  # two companies' files of one name: told apart by path
    assert len(set(twins.values())) == 2 and all(v.startswith("2023-spring--quarterly--") for v in twins.values())
    monkeypatch.setenv(SET_ENV, '{"period": "quarter"}')
    assert report_ids([(own, p)]) == {own: "2023-spring--period-quarter"}


def test_a_run_with_set_writes_its_own_folder(tmp_path, demo_dir):
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    out = tmp_path / "reports"
    r = subprocess.run([str(EXE), "run", "--params", str(params), "--out", str(out), "--jobs", "1", "--set",
                        "period=quarter", "--notebooks", str(ROOT / "notebooks" / "00_data_overview.ipynb")],
                       capture_output=True, text=True, timeout=600, env={**os.environ, SET_ENV: ""})
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["2023-spring--period-quarter"]
    bad = subprocess.run([str(EXE), "run", "--params", str(params), "--out", str(out), "--set", "perod=quarter"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("mentoring-eval: error: --set perod: unknown key")
