"""Hostile values in the data and the params: rendered escaped, written to CSV without a live
formula, and never used to build a path outside the output folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mentoring_eval.files import folder_name
from tests.conftest import ROOT

EXE = Path(sys.executable).with_name("mentoring-eval")
SCRIPT = "Sales<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
FORMULA = "=1+2"


@pytest.mark.parametrize("cohort_id", ["../../escape1", "/srv/abs", "a/b", "..", ".hidden", "all-cohorts", "=1+2",
                                       "Spring 2023 (Zürich)", "x" * 300])
def test_a_folder_name_never_leaves_the_output_folder(tmp_path, cohort_id):
    name = folder_name(cohort_id)
    assert "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")
    assert len(name) <= 64
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_plain_cohort_ids_keep_their_folder_and_different_ids_never_share_one():
    assert folder_name("2023-spring") == "2023-spring" and folder_name("cohort_7.b") == "cohort_7.b"
    assert folder_name("a/b") != folder_name("a-b") and folder_name("a/b") != folder_name("a:b")
    assert folder_name("all-cohorts") != "all-cohorts"  # the cross-cohort report's folder is taken


def _hostile_copy(data_copy: Path, tmp_path: Path) -> Path:
    """The small company with one cohort named like a formula, one department named like a script,
    and a goal described like an image tag; returns its params file."""
    for path in data_copy.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "cohort_id" in frame:
            frame["cohort_id"] = frame["cohort_id"].replace("2023-spring", FORMULA)
        if "department" in frame:
            frame["department"] = frame["department"].replace("Sales", SCRIPT)
        frame.to_csv(path, index=False)
    params = yaml.safe_load((ROOT / "params" / "2023-spring.yaml").read_text())
    params.update(cohort_id=FORMULA, data_dir=str(data_copy))
    for role in ("mentee_eligibility", "mentor_eligibility"):
        params[role]["departments"] = ["Engineering", SCRIPT]
    params["goals"][0]["description"] = IMAGE
    folder = tmp_path / "params"
    folder.mkdir()
    (folder / "hostile.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder / "hostile.yaml"


def test_hostile_names_are_escaped_neutralised_and_stay_inside_out(data_copy, tmp_path):
    pf = _hostile_copy(data_copy, tmp_path)
    out = tmp_path / "out"
    before = {p for p in tmp_path.rglob("*")}
    nbs = [ROOT / "notebooks" / f"{nb}.ipynb" for nb in ("01_baseline", "04_program_health", "06_summary")]
    run = subprocess.run([str(EXE), "run", "--params", str(pf), "--out", str(out), "--jobs", "2", "--notebooks",
                          *map(str, nbs)], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    written = {p for p in tmp_path.rglob("*")} - before
    assert written and all(out.resolve() in p.resolve().parents or p == out for p in written), sorted(written)[:5]
    folder = out / folder_name(FORMULA)
    pages = {p.stem: p.read_text() for p in folder.glob("*.html")}
    assert sorted(pages) == ["01_baseline", "04_program_health", "06_summary"]
    for name, page in pages.items():
        assert "<script>alert(1)" not in page and "<img src=x onerror" not in page, name
    escaped = "Sales&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaped in pages["01_baseline"] and escaped in pages["04_program_health"]
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages["06_summary"]
    index = (out / "index.html").read_text()
    assert "<script>alert(1)" not in index and f"href=\"{folder.name}/06_summary.html\"" in index
    raw = pd.read_csv(folder / "estimates.csv", dtype=str, keep_default_na=False)
    assert (raw["cohort_id"] == "'" + FORMULA).all()  # no live formula in a spreadsheet
    assert pd.to_numeric(raw["estimate"].replace("", None)).notna().any()  # numbers stay numbers
