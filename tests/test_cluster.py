"""Reports on a Dask distributed cluster: a real LocalCluster on 127.0.0.1 with two workers runs the
batch, whose estimates equal the local run's; a failing cohort fails alone; the cluster is closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mentoring_eval import batch
from mentoring_eval.data import data_fingerprint
from mentoring_eval.errors import MentoringEvalError
from tests.conftest import ROOT

distributed = pytest.importorskip("distributed")  # a test dependency: pyproject's test extra installs it


def _picky_notebook(path: Path) -> Path:
    """A report that fails for the 2023-autumn cohort only (its params file is in its parameters)."""
    cells = [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
         "source": "params_file = None\noutput_dir = None\naudience = None"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "if '2023-autumn' in str(params_file):\n    raise ValueError('the export has no Q3 rows')\n"
                   "print('all quarters present')"},
    ]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                      "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_a_dask_cluster_runs_the_batch_as_the_local_pool_does(tmp_path, demo_dir):
    """The cluster's params name the data by a file:// URL, which the workers read through fsspec."""
    params, by_url = tmp_path / "params", tmp_path / "params-url"
    for folder, data in ((params, str(demo_dir)), (by_url, Path(demo_dir).resolve().as_uri())):
        folder.mkdir()
        for cohort in ("2023-spring", "2023-autumn"):
            (folder / f"{cohort}.yaml").write_text(f"cohort_id: {cohort}\ndata_dir: {data}\nmin_cell_size: 3\n")
    notebooks = [ROOT / "notebooks" / "04_program_health.ipynb", _picky_notebook(tmp_path / "08_picky.ipynb")]
    local = batch.run(params, notebooks, tmp_path / "local", jobs=2, echo=None)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        lines: list[str] = []
        remote = batch.run(by_url, notebooks, tmp_path / "remote", echo=lines.append, executor="dask",
                           scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    assert cluster.status.name == "closed"
    for results in (local, remote):
        status = results.set_index(["cohort_id", "notebook"])["status"].to_dict()
        assert status == {("2023-autumn", "04_program_health"): "done", ("2023-autumn", "08_picky"): "failed",
                          ("2023-spring", "04_program_health"): "done", ("2023-spring", "08_picky"): "done"}
    failed = remote.set_index(["cohort_id", "notebook"]).loc[("2023-autumn", "08_picky")]
    assert failed["message"] == "ValueError: the export has no Q3 rows"
    for cohort in ("2023-spring", "2023-autumn"):
        assert (tmp_path / "remote" / cohort / "estimates.csv").read_bytes() == \
               (tmp_path / "local" / cohort / "estimates.csv").read_bytes()
    assert any(line.startswith("running") or "running" in line for line in lines)  # progress from the workers
    index = (tmp_path / "remote" / "index.html").read_text()
    assert "the export has no Q3 rows" in index and "2023-spring/08_picky.html" in index
    by_url_print = data_fingerprint(Path(demo_dir).resolve().as_uri())  # fsspec's keys, not the bytes
    assert by_url_print != data_fingerprint(demo_dir)
    assert f"(fingerprint {by_url_print})" in (tmp_path / "remote" / "2023-spring" / "04_program_health.html").read_text()


def test_dask_needs_a_scheduler_that_answers(tmp_path):
    with pytest.raises(MentoringEvalError, match="--executor dask needs --scheduler ADDRESS"):
        batch.run(tmp_path, executor="dask")
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {ROOT / 'data' / 'demo'}\n")
    with pytest.raises(MentoringEvalError, match=r"--scheduler tcp://127.0.0.1:9: no Dask scheduler answered"):
        batch.run(params, [ROOT / "notebooks" / "00_data_overview.ipynb"], tmp_path / "out", echo=None,
                  executor="dask", scheduler="tcp://127.0.0.1:9", force=True)
