"""Shared fixtures: a small simulated company, written once per test session, and helpers to
copy it and break one thing at a time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import mentoring_eval as me

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    me.simulate(out, n_employees=1000, seed=11)
    return out


@pytest.fixture
def data_copy(demo_dir, tmp_path) -> Path:
    """A private copy of the demo data that a test may corrupt."""
    target = tmp_path / "data"
    shutil.copytree(demo_dir, target)
    return target


def read_raw(directory: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(directory / f"{table}.csv", dtype=str, keep_default_na=False, na_values=[""])


def write_raw(directory: Path, table: str, frame: pd.DataFrame) -> None:
    frame.to_csv(directory / f"{table}.csv", index=False)


@pytest.fixture(scope="session")
def rendered_demo(tmp_path_factory, demo_dir):
    """The demo's params files on the small test company, every report run once with `--pdf`
    (the command a user types); (params folder, output folder, the run's stdout)."""
    import subprocess
    import sys

    import yaml

    root = tmp_path_factory.mktemp("rendered")
    params = root / "params"
    params.mkdir()
    for pf in sorted((ROOT / "params").glob("*.yaml")):
        (params / pf.name).write_text(pf.read_text().replace("data_dir: ../data/demo", f"data_dir: {demo_dir}"))
        assert yaml.safe_load((params / pf.name).read_text())["data_dir"] == str(demo_dir)
    out = root / "reports"
    exe = Path(sys.executable).with_name("mentoring-eval")
    run = subprocess.run([str(exe), "run", "--params", str(params), "--out", str(out), "--jobs", "2", "--pdf"],
                         capture_output=True, text=True, cwd=ROOT, timeout=1200)
    assert run.returncode == 0, run.stdout + run.stderr
    return params, out, run.stdout
