"""Batch runs: every notebook for every cohort's params file, executed with papermill and rendered
to HTML under `reports/<cohort_id>/`. A failing notebook or params file fails only its own report."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from .errors import MentoringEvalError, ParamsError
from .params import load_params
from .report import provenance, render_html, write_index


ALL_COHORTS = "all-cohorts"


@dataclass(frozen=True)
class Job:
    """One notebook for one cohort (or, for a cross-cohort notebook, for all of them)."""

    cohort_id: str
    params_file: Path | None
    notebook: Path
    out_dir: Path
    audience: str | None
    timeout: float | None
    params_dir: Path | None = None
    force: bool = False
    stamp: str = ""  # fingerprint of the job's inputs, computed by run()


def across_cohorts(notebook: Path) -> bool:
    """True for notebooks that run once over every cohort (metadata mentoring_eval.scope = all_cohorts)."""
    import json

    meta = json.loads(notebook.read_text()).get("metadata", {}).get("mentoring_eval", {})
    return meta.get("scope") == "all_cohorts"


def _params_files(params: Path | str | list) -> list[Path]:
    items = params if isinstance(params, list | tuple) else [params]
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            files.extend(sorted(item.glob("*.yaml")) + sorted(item.glob("*.yml")))
        elif item.is_file():
            files.append(item)
        else:
            raise MentoringEvalError(f"{item}: no such params file or directory")
    if not files:
        raise MentoringEvalError(f"no params files (*.yaml) in {', '.join(map(str, items))}")
    return files


def _notebooks(notebooks: Path | str | list | None) -> list[Path]:
    if notebooks is None:
        notebooks = Path("notebooks")
    items = notebooks if isinstance(notebooks, list | tuple) else [notebooks]
    found: list[Path] = []
    for item in map(Path, items):
        found.extend(sorted(item.glob("[0-9]*.ipynb")) if item.is_dir() else [item])
    missing = [p for p in found if not p.is_file()]
    if missing or not found:
        raise MentoringEvalError(f"no notebook at {', '.join(map(str, missing or items))}")
    return found


def _execute(job: Job) -> dict:
    """Run one notebook with papermill and render it. Never raises: failures become a status."""
    import papermill as pm

    start = time.perf_counter()
    name = job.notebook.stem
    job.out_dir.mkdir(parents=True, exist_ok=True)
    executed = job.out_dir / f"{name}.ipynb"
    tmp = job.out_dir / f".{name}.running.ipynb"
    html_path = job.out_dir / f"{name}.html"
    result = {"cohort_id": job.cohort_id, "notebook": name, "status": "done", "seconds": 0.0,
              "html": f"{job.out_dir.name}/{html_path.name}", "message": ""}
    parameters = {"output_dir": str(job.out_dir.resolve())}
    if job.params_file is not None:
        parameters["params_file"] = str(job.params_file.resolve())
    else:
        parameters["params_dir"] = str(job.params_dir.resolve())
    if job.audience:
        parameters["audience"] = job.audience
    files = _job_files(job)
    stamp_path = job.out_dir / f".{name}.fingerprint"
    try:
        first = load_params(files[0])
        pm.execute_notebook(str(job.notebook), str(tmp), parameters=parameters, kernel_name="python3",
                            cwd=str(job.notebook.parent), progress_bar=False, log_output=False,
                            execution_timeout=job.timeout, extra_arguments=["--log-level=CRITICAL"])
        audience = job.audience or (first.audience if job.params_file else "stakeholder")
        footer = provenance(files, first.data_dir, first.seed)
        render_html(tmp, html_path, audience, footer, _private_ids(first.data_dir),
                    title=f"{job.cohort_id}: {name.split('_', 1)[-1].replace('_', ' ')}")
        os.replace(tmp, executed)
        stamp_path.write_text(job.stamp)
    except Exception as exc:  # a failed notebook is reported, the others go on
        if tmp.exists():
            os.replace(tmp, job.out_dir / f"{name}.failed.ipynb")
        stamp_path.unlink(missing_ok=True)
        result.update(status="failed", message=_last_line(exc))
    result["seconds"] = time.perf_counter() - start
    return result


def _job_files(job: Job) -> list[Path]:
    return [job.params_file] if job.params_file is not None else sorted(job.params_dir.glob("*.yaml"))


def _fingerprint(job: Job, data_prints: dict) -> str:
    """What a report depends on: the notebook, the params files, the data (hashed once per
    directory and run) and the package version."""
    import hashlib

    from . import __version__
    from .data import data_fingerprint

    files = _job_files(job)
    data_dir = load_params(files[0]).data_dir
    if data_dir not in data_prints:
        data_prints[data_dir] = data_fingerprint(data_dir)
    digest = hashlib.sha256()
    for part in (job.notebook.read_bytes(), *(p.read_bytes() for p in files)):
        digest.update(hashlib.sha256(part).digest())
    digest.update(f"{data_prints[data_dir]}|{__version__}|{job.audience}".encode())
    return digest.hexdigest()


def _unchanged(job: Job) -> bool:
    name = job.notebook.stem
    stamp_path = job.out_dir / f".{name}.fingerprint"
    return (not job.force and (job.out_dir / f"{name}.html").exists() and stamp_path.exists()
            and stamp_path.read_text() == job.stamp)


def _private_ids(data_dir: Path) -> set[str]:
    """Employee ids of the data set (what no stakeholder report may show)."""
    ids: set[str] = set()
    for suffix in (".csv", ".parquet"):
        f = Path(data_dir) / f"employees{suffix}"
        if f.exists():
            column = pd.read_csv(f, usecols=["employee_id"], dtype=str)["employee_id"] if suffix == ".csv" \
                else pd.read_parquet(f, columns=["employee_id"])["employee_id"].astype(str)
            ids |= set(column.dropna())
    return ids


def _last_line(exc: BaseException) -> str:
    """One line for the index and the terminal: the notebook's own error (name, message and, for
    data problems, the first of them), not the executor's wrapper."""
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None) if hasattr(exc, "ename") else str(exc)
    lines = [ln.strip() for ln in str(value or "").splitlines() if ln.strip()]
    return f"{name}: {' '.join(lines[:2])}"[:400] if lines else name


def run(params: Path | str | list = "params", notebooks: Path | str | list | None = None, out: Path | str = "reports",
        jobs: int | None = None, audience: str | None = None, timeout: float | None = None, force: bool = False,
        echo=print) -> pd.DataFrame:
    """Execute and render every notebook for every params file. Returns one row per cohort x notebook
    (cohort_id, notebook, status, seconds, html, message) and writes out/index.html."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    everything = _notebooks(notebooks)
    nbs = [nb for nb in everything if not across_cohorts(nb)]
    shared = [nb for nb in everything if across_cohorts(nb)]
    results, work = [], []
    files = _params_files(params)
    for pf in files:
        try:
            p = load_params(pf)
        except ParamsError as exc:
            for nb in nbs:
                results.append({"cohort_id": pf.stem, "notebook": nb.stem, "status": "failed", "seconds": 0.0,
                                "html": "", "message": str(exc)})
            echo(f"failed  {pf.stem}: {exc}")
            continue
        for nb in nbs:
            work.append(Job(p.cohort_id, pf, nb, out / p.cohort_id, audience, timeout, force=force))
    params_dirs = sorted({pf.parent for pf in files})
    later = [Job(ALL_COHORTS, None, nb, out / ALL_COHORTS, audience, timeout, params_dirs[0], force) for nb in shared
             if len(params_dirs) == 1]
    data_prints: dict = {}
    stamped = []
    for job in work + later:
        try:
            stamped.append(replace(job, stamp=_fingerprint(job, data_prints)))
        except Exception:  # an unreadable input: let the job itself fail with its message
            stamped.append(job)
    work, later = stamped[:len(work)], stamped[len(work):]
    jobs = max(1, jobs or os.cpu_count() or 1)
    total = len(work) + len(later)
    done = 0
    for job in [j for j in work + later if j.stamp and _unchanged(j)]:
        done += 1
        results.append(_report({"cohort_id": job.cohort_id, "notebook": job.notebook.stem, "status": "skipped",
                                "seconds": 0.0, "html": f"{job.out_dir.name}/{job.notebook.stem}.html",
                                "message": "inputs unchanged"}, done, total, echo))
    work = [j for j in work if not (j.stamp and _unchanged(j))]
    later = [j for j in later if not (j.stamp and _unchanged(j))]
    for batch in (work, later):  # cross-cohort notebooks run after every cohort's own
        if jobs == 1 or len(batch) <= 1:
            for job in batch:
                done += 1
                results.append(_report(_execute(job), done, total, echo))
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(batch))) as pool:
                futures = [pool.submit(_execute, job) for job in batch]
                for fut in as_completed(futures):
                    done += 1
                    results.append(_report(fut.result(), done, total, echo))
    frame = pd.DataFrame(results, columns=["cohort_id", "notebook", "status", "seconds", "html", "message"])
    frame = frame.sort_values(["cohort_id", "notebook"], ignore_index=True)
    write_index(out, frame)
    return frame


def _report(result: dict, i: int, total: int, echo) -> dict:
    tail = f"({result['seconds']:.1f} s)" if result["status"] == "done" else result["message"]
    echo(f"[{i}/{total}] {result['status']:<6} {result['cohort_id']} / {result['notebook']} {tail}")
    return result


def default_echo(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
