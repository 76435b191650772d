"""Batch runs: every notebook for every cohort's params file, executed with papermill in a process
pool and rendered to HTML under `reports/<cohort_id>/`; cross-cohort notebooks run once after.

A failing notebook, params file or data set fails only the reports that depend on it. Reports are
written to a temporary path and renamed, so an interrupted or failed rerun keeps the last good
one; a rerun skips reports whose inputs are unchanged. The data are validated once per run (once per
cohort's window for params with `history: window`) and handed to the notebooks as Parquet (see
`data.load`)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from html import escape as html_escape
from pathlib import Path

import pandas as pd

from .errors import MentoringEvalError, ParamsError
from .estimates import SOURCE_ENV
from .files import atomic_write, folder_name, private_dir
from .data import FOLLOW_ENV, RESULTS_DIR
from .params import SET_ENV, CohortParams, active_settings, find_files, load_params, unknown_cohort_message
from .runlog import COLUMNS, Progress
from .storage import data_path, is_folder
from .publish import ALL_COHORTS, PrivateValues
from .version import __version__, code_fingerprint

STATUS_FILE = ".status.json"
COHORTS_FILE = ".cohorts.json"
KERNEL_LOG = "kernels.log"  # what the notebooks' kernels print about themselves, kept for debugging (private)



@dataclass(frozen=True)
class Job:
    """One notebook for one cohort, or for a cross-cohort notebook, for all of them."""

    cohort_id: str
    notebook: Path
    params_files: tuple[Path, ...]
    out_dir: Path
    audience: str | None = None
    timeout: float | None = None
    stamp: str = ""  # fingerprint of the inputs; empty = never counted as unchanged
    private: Path | None = None  # where a failed report's executed notebook goes (default: beside the report)
    cohort: tuple[str, str, str] = ("", "", "")  # the cohort's name, start and end (YYYY-MM-DD), for the page header
    pages: tuple[str, ...] = ()  # every page of the run (notebook names), for the page header's links
    published: bool = True  # False for analyst reports: out_dir is then in the private folder, never linked

    @property
    def name(self) -> str:
        return self.notebook.stem

    @property
    def key(self) -> tuple[str, str]:
        return self.cohort_id, self.name

    def result(self, status: str, seconds: float = 0.0, cell: str = "", message: str = "",
               html: str | None = None) -> dict:
        """A row of the run's results; html is the report's path relative to the output directory
        (empty for an analyst report, which the index names but never links)."""
        if html is None:
            html = f"{self.out_dir.name}/{self.name}.html" if self.published else ""
            if not self.published and status != "failed":
                message = f"analyst page, kept in {self.out_dir.parent.name}/{self.out_dir.name}/ (not for sharing)"
        return {"cohort_id": self.cohort_id, "notebook": self.name, "status": status, "seconds": seconds,
                "html": html, "cell": cell, "message": message}


def across_cohorts(notebook: Path) -> bool:
    """True for notebooks that run once over every cohort (metadata mentoring_eval.scope = all_cohorts)."""
    meta = json.loads(Path(notebook).read_text()).get("metadata", {}).get("mentoring_eval", {})
    return meta.get("scope") == "all_cohorts"


def shipped_notebooks() -> Path:
    """The notebooks that come with the package: mentoring_eval/notebooks in an installed wheel,
    notebooks/ beside the package in a checkout; whatever the working directory."""
    here = Path(__file__).resolve().parent
    for folder in (here / "notebooks", here.parent / "notebooks"):
        if any(folder.glob("[0-9]*.ipynb")):
            return folder
    raise MentoringEvalError(f"no notebooks shipped with the package (looked in {here / 'notebooks'} and "
                             f"{here.parent / 'notebooks'}); name them with --notebooks")


def _notebooks(notebooks: Path | str | list | None) -> list[Path]:
    if notebooks is None:
        notebooks = shipped_notebooks()
    items = notebooks if isinstance(notebooks, list | tuple) else [notebooks]
    found: list[Path] = []
    for item in map(Path, items):
        found.extend(sorted(item.glob("[0-9]*.ipynb")) if item.is_dir() else [item])
    missing = [p for p in found if not p.is_file()]
    if missing or not found:
        raise MentoringEvalError(f"no notebook at {', '.join(map(str, missing or items))}")
    return found


# ---------------------------------------------------------------- one report

_worker = None  # in a pool worker: (queue of start signals to the parent, the parent's stop event)


def _listen(events, stop, kernel_log: Path | None = None) -> None:
    """Set up a pool worker: report starts to the parent; leave Ctrl-C to the parent, which sets
    `stop` and sends SIGTERM (papermill then shuts the kernel down, and the worker exits). The
    worker's stderr, which its kernels inherit, goes to `kernel_log`: what a kernel prints about
    itself (e.g. a socket closed under it at shutdown) belongs in a log, not in the run's output."""
    import signal

    global _worker
    _worker = (events, stop)
    if kernel_log is not None:
        with open(kernel_log, "a") as log:
            os.dup2(log.fileno(), 2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def _stopping() -> bool:
    return _worker is not None and _worker[1].is_set()


def _execute(job: Job) -> dict:
    """Run one notebook with papermill and render it. Never raises: failures become a status."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .publish import navigation, page_name, provenance, render_html

    if _stopping():
        os._exit(130)
    if _worker is not None:
        _worker[0].put(job.key)
    start = time.perf_counter()
    job.out_dir.mkdir(parents=True, exist_ok=True)
    work = job.private or job.out_dir  # executed notebooks hold code and every output: kept privately
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / f".{job.name}.running.ipynb"
    failed_copy = work / f"{job.name}.failed.ipynb"
    stamp_path = job.out_dir / f".{job.name}.fingerprint"
    if len(job.params_files) == 1 and job.cohort_id != ALL_COHORTS:
        parameters = {"params_file": str(job.params_files[0].resolve())}
    else:
        parameters = {"params_files": [str(p.resolve()) for p in job.params_files],
                      "params_dir": str(job.params_files[0].parent.resolve())}
    parameters["output_dir"] = str(job.out_dir.resolve())
    if job.audience:
        parameters["audience"] = job.audience
    cell = message = ""
    published = _published_estimates(job)  # this report's rows as published, put back if it fails
    try:
        params = [load_params(p) for p in job.params_files]
        for attempt in (1, 2):
            try:
                with _environment({SOURCE_ENV: job.name}):  # the kernel's estimates replace this report's own
                    pm.execute_notebook(str(job.notebook), str(tmp), parameters=parameters, kernel_name="python3",
                                        cwd=str(job.notebook.parent), progress_bar=False, log_output=False,
                                        execution_timeout=job.timeout, extra_arguments=["--log-level=CRITICAL"])
                break
            except PapermillExecutionError:
                raise
            except Exception:  # a kernel that failed to start (e.g. a port taken meanwhile) gets one more try
                if attempt == 2 or _ran_any_cell(tmp):
                    raise
        audience = job.audience or (params[0].audience if job.cohort_id != ALL_COHORTS else "stakeholder")
        footer = provenance(job.params_files, params[0].data_dir, params[0].seed)
        render_html(tmp, job.out_dir / f"{job.name}.html", audience, footer,
                    _private_values({p.data_dir for p in params}),
                    title=f"{job.cohort[0] or job.cohort_id}: {page_name(job.name)}",
                    header=navigation(job.cohort_id, job.cohort, job.name, job.pages))
        os.replace(tmp, work / f"{job.name}.ipynb")
        if work != job.out_dir:  # where earlier versions published it
            (job.out_dir / f"{job.name}.ipynb").unlink(missing_ok=True)
        failed_copy.unlink(missing_ok=True)
        if job.stamp:
            stamp_path.write_text(job.stamp)
        else:
            stamp_path.unlink(missing_ok=True)
        status = "done"
    except KeyboardInterrupt:
        if _worker is not None:  # a pool worker told to stop
            os._exit(130)
        raise
    except Exception as exc:  # a failed notebook is reported, the others go on
        if _stopping():  # the run was stopped and the kernel shut down under the notebook
            os._exit(130)
        if tmp.exists() and _readable_notebook(tmp):
            failed_copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(tmp, failed_copy)
        else:  # a notebook cut short while being written (a full disk) is no record: removed
            tmp.unlink(missing_ok=True)
            failed_copy.unlink(missing_ok=True)
        stamp_path.unlink(missing_ok=True)
        _restore_estimates(job, published)
        status, message = "failed", _last_line(exc)
        if isinstance(exc, PapermillExecutionError):
            cell = _failing_cell(exc)
    return job.result(status, time.perf_counter() - start, cell, message)


def _published_estimates(job: Job) -> bytes | None:
    """This report's estimates rows as they stand before it runs (None: it has written none)."""
    from .estimates import source_rows

    part = source_rows(job.out_dir, job.name)
    return part.read_bytes() if part.exists() else None


def _restore_estimates(job: Job, published: bytes | None) -> None:
    """A report that failed (the privacy gate included) leaves estimates.csv as it was published
    with its last good HTML: the rows its kernel wrote meanwhile are replaced by the earlier ones."""
    from .estimates import Estimates, source_rows

    part = source_rows(job.out_dir, job.name)
    if (part.read_bytes() if part.exists() else None) == published:
        return
    earlier = Estimates()
    if published is not None:
        part.write_bytes(published)
        earlier = Estimates.read(part)
    earlier.write(job.out_dir, source=job.name)
    if published is None:
        part.unlink(missing_ok=True)


def _readable_notebook(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def _ran_any_cell(executed: Path) -> bool:
    try:
        cells = json.loads(executed.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return False
    return any(c.get("execution_count") for c in cells if c.get("cell_type") == "code")


def _failing_cell(exc) -> str:
    """'In [5], line 2: rr = me.retention.analyze(...)': the failing cell as Jupyter numbers it in the
    executed notebook (kept as <notebook>.failed.ipynb) and the line of it that raised, from the
    traceback (or the cell's first line of code when the traceback does not say)."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(exc.traceback or []))
    label = f"In [{exc.exec_count if exc.exec_count is not None else ' '}]"
    raised = re.search(r"^-+> *(\d+) (.*)$", text, re.M)
    if raised:
        label, code = f"{label}, line {raised.group(1)}", raised.group(2).strip()
    else:
        lines = [ln.strip() for ln in (exc.source or "").splitlines() if ln.strip() and not ln.strip().startswith("#")]
        code = lines[0] if lines else ""
    return f"{label}: {code if len(code) <= 80 else code[:77] + '...'}"


def _last_line(exc: BaseException) -> str:
    """One line for the index and the terminal: the notebook's own error (name, message and, for
    data problems, the first of them), not the executor's wrapper."""
    name = getattr(exc, "ename", None) or type(exc).__name__
    value = getattr(exc, "evalue", None) if hasattr(exc, "ename") else str(exc)
    lines = [ln.strip() for ln in str(value or "").splitlines() if ln.strip()]
    return f"{name}: {' '.join(lines[:2])}"[:400] if lines else name


PRIVATE_COLUMNS = ("employee_id", "name", "full_name", "display_name", "email", "work_email")


def _private_values(data_dirs) -> PrivateValues:
    """Employee ids of the data sets, and names and e-mail addresses where the employees table has
    them: what no stakeholder report may show. Read once per process for unchanged files (a batch
    renders many reports of the same data), only those columns of the files."""
    files = [f for data_dir in sorted(map(str, data_dirs)) for suffix in (".csv", ".parquet")
             if (f := data_path(data_dir) / f"employees{suffix}").exists()]
    try:
        key = tuple((str(f), f.stat().st_size, f.stat().st_mtime) for f in files)
    except (OSError, AttributeError, NotImplementedError):  # a store that cannot say when a file changed
        return PrivateValues(_private_columns(files))
    if key not in _PRIVATE:
        _PRIVATE.clear()  # one data set's values at a time: at millions of employees they are not small
        _PRIVATE[key] = PrivateValues(_private_columns(files))
    return _PRIVATE[key]


_PRIVATE: dict[tuple, PrivateValues] = {}


def _private_columns(files) -> pd.Series:
    """The PRIVATE_COLUMNS of employees files, one after another as text."""
    parts = []
    for f in files:
        with f.open("rb") as handle:  # a local file or a URL's, alike
            if f.name.endswith(".csv"):
                header = pd.read_csv(handle, nrows=0).columns
                handle.seek(0)
                frame = pd.read_csv(handle, usecols=[c for c in header if c in PRIVATE_COLUMNS], dtype="str")
            else:
                import pyarrow.parquet as pq

                table = pq.ParquetFile(handle)
                cols = [c for c in table.schema_arrow.names if c in PRIVATE_COLUMNS]
                frame = table.read(columns=cols).to_pandas().astype("str") if cols else pd.DataFrame()
        parts += [frame[c].dropna() for c in frame.columns]
    return pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype="str")


# ---------------------------------------------------------------- the run


def _fingerprint(job: Job, data_dirs: dict, data_prints: dict) -> str:
    """What a report depends on: the notebook, the params files, the data, the package version and
    its code."""
    digest = hashlib.sha256()
    for part in (job.notebook.read_bytes(), *(p.read_bytes() for p in job.params_files)):
        digest.update(hashlib.sha256(part).digest())
    for p in job.params_files:
        digest.update(data_prints[data_dirs[p]].encode())
    digest.update(f"{__version__}|{code_fingerprint()}|{job.audience}|{job.cohort}|{job.pages}|"
                  f"{os.environ.get(SET_ENV, '')}".encode())
    return digest.hexdigest()


def _unchanged(job: Job) -> bool:
    stamp_path = job.out_dir / f".{job.name}.fingerprint"
    return (bool(job.stamp) and (job.out_dir / f"{job.name}.html").exists() and stamp_path.exists()
            and stamp_path.read_text() == job.stamp)


def _data_print(data_dir) -> str:
    """The data's fingerprint, or '' when it cannot be read (`_check_data` then says why)."""
    from .data import data_fingerprint

    try:
        return data_fingerprint(data_dir)
    except Exception:  # noqa: BLE001 - a missing folder, an unreachable store: reported by _check_data
        return ""


def _check_data(data_dir: Path, cache: Path, fingerprint: str, window: tuple | None = None
                ) -> tuple[str, tuple[str, ...], dict]:
    """Validate a data directory (or its records from `window` = (since, until) on, see
    `study.history_window`) once for the whole run and cache it: ('', its cohort ids, each cohort's
    (name, start, end)) if valid, else (the reason, (), {}). A directory validated before is known by
    its cache entry, and only its cohorts table is read."""
    from .data import cache_entry, load

    since, until = window or (None, None)

    try:
        if not is_folder(data_dir):
            return f"ParamsError: data_dir {data_dir} (key data_dir of the params) does not exist", (), {}
    except ParamsError as exc:
        return f"ParamsError: {exc}", (), {}
    entry = cache / cache_entry(data_dir, since, until, fingerprint)
    try:
        cohorts = pd.read_parquet(entry / "cohorts.parquet", columns=["cohort_id", "name", "start_date", "end_date"])
    except (OSError, ValueError, KeyError):  # not validated yet, or a damaged entry: validate afresh
        try:
            cohorts = load(data_dir, cache=cache, since=since, until=until).cohorts
        except MentoringEvalError as exc:
            return f"{type(exc).__name__}: {exc.one_line() if hasattr(exc, 'one_line') else exc}", (), {}
        except Exception as exc:  # noqa: BLE001 - whatever a crafted file does, it fails its own cohorts only
            return f"{data_dir}: the data could not be read ({type(exc).__name__}: {str(exc)[:200]})", (), {}
    info = {str(c): (str(n), _day(s), _day(e)) for c, n, s, e in
            zip(cohorts["cohort_id"], cohorts["name"], cohorts["start_date"], cohorts["end_date"], strict=True)}
    return "", tuple(sorted(info)), info


def _release_memory() -> None:
    """Give the memory of the validation back to the system before the kernels start: Arrow's pool
    keeps freed blocks for reuse (1.5 GiB in the runner after validating a million employees, 0.24
    GiB once released), and every kernel needs it more than the waiting runner."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _windows(good: list[tuple[Path, CohortParams]], notebooks: list[Path], out: Path):
    """Each params file's history window: None (the whole history) or the (since, until) that its
    cohort's own analyses read, for `history: window`. A window needs its cohort in the data's
    cohorts table (read on its own): a params file whose cohort is not there fails here, and one
    whose cohorts table cannot be read has the whole data validated, which says why."""
    from .study import history_window

    results, kept, windows = [], [], {}
    for pf, p in good:
        windows[pf] = None
        if p.history == "window":
            try:
                windows[pf] = history_window(p)
            except ParamsError as exc:  # the cohort is not in the data
                results += [Job(p.cohort_id, nb, (pf,), out / folder_name(p.cohort_id)).result(
                    "failed", message=f"ParamsError: {exc}", html="") for nb in notebooks]
                continue
            except Exception:  # noqa: BLE001 - a missing or malformed table: the validation reports it
                pass
        kept.append((pf, p))
    return results, kept, windows


def _day(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One run at a time per output directory (the lock goes with the process, even when killed)."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock
        yield
        return
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MentoringEvalError(f"another mentoring-eval run is writing to {out}; wait for it to end") from None
        yield


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Variables the notebooks' kernels inherit, for the length of the run."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _kernel_environment(cache: Path, jobs: int) -> dict[str, str]:
    """The data cache, and with several notebooks at once, a share of the cores for each kernel's
    numerical libraries (unless the user set their own), so that kernels do not fight for cores."""
    from .data import CACHE_ENV

    values = {CACHE_ENV: str(cache.resolve())}
    if jobs > 1:
        share = str(max(1, (os.cpu_count() or 1) // jobs))
        values |= {name: share for name in THREAD_VARIABLES if name not in os.environ}
    return values


def _sweep(out: Path) -> None:
    """Remove what an interrupted run left half-written (never a finished report)."""
    private = private_dir(out)
    for folder, pattern in ((out, "*/.*.running.ipynb"), (out, "*/.*.tmp-*"), (out, ".*.tmp-*"),
                            (private, "*/.*.running.ipynb"), (private, "*/.*.tmp-*"), (private, "cache/.*.tmp-*")):
        for path in folder.glob(pattern):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def run(params: Path | str | list = "params", notebooks: Path | str | list | None = None, out: Path | str = "reports",
        jobs: int | None = None, audience: str | None = None, timeout: float | None = None, force: bool = False,
        echo: Callable[[str], None] | None = print, live: bool = False, settings: dict | None = None,
        executor: str = "local", scheduler: str | None = None) -> pd.DataFrame:
    """Execute and render every notebook for every params file; cross-cohort notebooks run once after
    the cohorts' own. Returns one row per cohort x notebook (cohort_id, notebook, status = done,
    skipped (inputs unchanged) or failed, seconds, html, cell, message) and writes out/index.html.

    `echo` receives a line as each report starts and ends; `live` shows a table that updates in
    place instead (for a terminal). `settings` ({key: value}, see `params.parse_settings`) replace
    those keys of every params file for this run; its reports get folders of their own.
    `executor="dask"` sends each report to the Dask distributed cluster at `scheduler` (its workers
    must see the same files: notebooks, params, data and the output folder) instead of the local
    process pool; everything else is the same."""
    if executor not in ("local", "dask"):
        raise MentoringEvalError(f"executor {executor!r}: expected local or dask")
    if executor == "dask" and not scheduler:
        raise MentoringEvalError("--executor dask needs --scheduler ADDRESS (a Dask scheduler, e.g. tcp://10.0.0.5:8786)")
    if settings:
        with _environment({SET_ENV: json.dumps(settings, sort_keys=True)}):
            return run(params, notebooks, out, jobs, audience, timeout, force, echo, live, executor=executor,
                       scheduler=scheduler)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    everything = _notebooks(notebooks)
    per_cohort = [nb for nb in everything if not across_cohorts(nb)]
    shared = [nb for nb in everything if across_cohorts(nb)]
    with _exclusive(out):
        _sweep(out)
        private = private_dir(out)
        shutil.rmtree(out / ".cache", ignore_errors=True)  # where earlier versions kept row-level data
        (out / ".kernels.log").unlink(missing_ok=True)  # and the kernels' log
        for stale in out.glob("*/*.failed.ipynb"):  # likewise: failed notebooks now live in the private folder
            stale.unlink(missing_ok=True)
        cache = private / "cache"
        shutil.rmtree(cache / RESULTS_DIR, ignore_errors=True)  # results are shared within one run only
        (private / KERNEL_LOG).unlink(missing_ok=True)  # the kernels' own messages, of this run only
        results, good = _load_params(find_files(params), per_cohort, out)
        from .data import cache_entry

        unknown, good, windows = _windows(good, per_cohort, out)
        results += unknown
        sources = {pf: (p.data_dir, windows[pf]) for pf, p in good}  # what each report reads
        data_prints = {d: _data_print(d) for d in sorted({p.data_dir for _, p in good}, key=str)}  # hashed once per run
        checked = {source: _check_data(source[0], cache, data_prints[source[0]], source[1])
                   for source in sorted(set(sources.values()), key=str)}
        _release_memory()
        unknown, good = _check_cohorts(good, {pf: checked[sources[pf]] for pf, _ in good}, per_cohort, out)
        results += unknown
        pages = tuple(nb.stem for nb in everything)
        reports = report_ids(good, audience)
        cohort_info = {reports[pf]: _named(checked[sources[pf]][2].get(p.cohort_id, ("", "", "")), pf, p,
                                           audience or p.audience) for pf, p in good}
        analyst = {pf for pf, p in good if (audience or p.audience) == "analyst"}  # their pages stay private
        cohort_jobs = [Job(reports[pf], nb, (pf,), (private if pf in analyst else out) / folder_name(reports[pf]),
                           audience, timeout, private=private / folder_name(reports[pf]),
                           cohort=cohort_info[reports[pf]], pages=pages, published=pf not in analyst)
                       for pf, p in good for nb in per_cohort]
        shared_jobs = [Job(ALL_COHORTS, nb, tuple(pf for pf, _ in good),
                           (private if audience == "analyst" else out) / ALL_COHORTS, audience, timeout,
                           private=private / ALL_COHORTS, pages=pages, published=audience != "analyst")
                       for nb in shared] if good else []
        if shared and not good:
            results += [Job(ALL_COHORTS, nb, (), out / ALL_COHORTS).result("failed", message="no valid params file",
                                                                          html="") for nb in shared]
        data_dirs = {pf: p.data_dir for pf, p in good}
        stamped = [replace(j, stamp=_fingerprint(j, data_dirs, data_prints)) for j in cohort_jobs + shared_jobs]
        todo = [j for j in stamped if force or not _unchanged(j)]
        results += [j.result("skipped", message="inputs unchanged") for j in stamped if j not in todo]
        runnable = []
        for job in todo:
            bad = [p for p in job.params_files if checked[sources[p]][0]]
            kept = tuple(p for p in job.params_files if p not in bad)
            if bad and (job.cohort_id != ALL_COHORTS or not kept):
                results.append(job.result("failed", message=checked[sources[bad[0]]][0]))
            else:  # a cross-cohort notebook compares the cohorts whose data are valid, and reruns next time
                runnable.append(replace(job, params_files=kept, stamp="") if bad else job)
        keep = {cache_entry(d, *(window or (None, None)), data_prints[d]) for d, window in checked} | {RESULTS_DIR}
        for entry in cache.glob("*") if cache.is_dir() else []:
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
        runnable = _longest_first(runnable, out)
        workers = max(1, jobs or os.cpu_count() or 1)
        display = Progress(results, runnable, echo=echo, live=live)
        try:
            environment = _kernel_environment(cache, workers)
            with _environment(environment), display:
                for batch in ([j for j in runnable if j.cohort_id != ALL_COHORTS],
                              [j for j in runnable if j.cohort_id == ALL_COHORTS]):
                    if executor == "dask":
                        results += _execute_on_cluster(batch, scheduler, display, _forwarded(environment))
                    else:
                        results += _execute_all(batch, workers, display, private / KERNEL_LOG)
        finally:
            frame = pd.DataFrame(results, columns=COLUMNS).sort_values(["cohort_id", "notebook"], ignore_index=True)
            _index_or_say_why(out, frame, cohort_info)
    return frame


def _index_or_say_why(out: Path, results: pd.DataFrame, cohorts: dict) -> None:
    """Write the index; when that fails (a full disk), no stale index may stand as if the run had
    not happened: a short one says what failed, or, if even that cannot be written, the old one is
    removed; then the error is raised in one line."""
    try:
        _write_index(out, results, cohorts)
        return
    except OSError as exc:
        reason = f"{type(exc).__name__}: {exc}"
    failed = results[results["status"] == "failed"]
    note = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Mentoring evaluation reports"
            f"</title></head><body><h1>The last run could not write its index</h1><p>{html_escape(reason)}</p>"
            f"<p>{len(failed)} of {len(results)} reports failed. Free space and run again; the reports' folders "
            f"hold their last good pages.</p></body></html>\n")
    try:
        atomic_write(out / "index.html", note)
    except OSError:
        (out / "index.html").unlink(missing_ok=True)
    raise MentoringEvalError(f"{out}: the index could not be written ({reason}); free space and run again")


def report_ids(good: list[tuple[Path, CohortParams]], audience: str | None = None) -> dict[Path, str]:
    """Each params file's report id, which names its folder: the cohort id when the file is named
    for its cohort (params/2023-spring.yaml), else the cohort id and the file's name
    (2023-spring--quarterly for params-variants/quarterly.yaml), so that a variant never replaces the
    cohort's own report; analyst reports (the params' or `audience`) end in --analyst; two files
    that would still share an id get a short hash of their path."""
    ids = {pf: p.cohort_id if pf.stem == p.cohort_id else f"{p.cohort_id}--{pf.stem}" for pf, p in good}
    ids = {pf: f"{name}--analyst" if (audience or p.audience) == "analyst" else name
           for (pf, p), name in zip(good, ids.values(), strict=True)}
    settings = active_settings()  # a run with --set is a variant too: 2023-spring--period-quarter
    if settings:
        ids = {pf: f"{name}--{'--'.join(f'{k}-{v}' for k, v in sorted(settings.items()))}" for pf, name in ids.items()}
    taken: dict[str, int] = {}
    for name in ids.values():
        taken[name] = taken.get(name, 0) + 1
    return {pf: name if taken[name] == 1 else f"{name}--{hashlib.sha256(str(pf.resolve()).encode()).hexdigest()[:6]}"
            for pf, name in ids.items()}


def _named(info: tuple[str, str, str], pf: Path, p: CohortParams, audience: str) -> tuple[str, str, str]:
    """A cohort's (name, start, end) for its pages and the index; a variant's name says its file,
    an analyst report's that it is one."""
    name, start, end = info
    name = name if pf.stem == p.cohort_id else f"{name or p.cohort_id} ({pf.name})"
    return (f"{name or p.cohort_id} (analyst pages)" if audience == "analyst" else name, start, end)


def _load_params(files: list[Path], notebooks: list[Path], out: Path):
    """Every params file that loads, with (cohort_id, notebook) failures for those that do not (a
    params file is one failure, whatever the number of its notebooks)."""
    results: list[dict] = []
    good: list[tuple[Path, CohortParams]] = []
    owner: dict[tuple[str, Path], Path] = {}
    for pf in files:
        try:
            p = load_params(pf)
            if (p.cohort_id, p.data_dir) in owner:
                raise ParamsError(f"{pf}: cohort_id {p.cohort_id} is also the cohort of "
                                  f"{owner[(p.cohort_id, p.data_dir)]} in the same data; one params file per cohort "
                                  f"in a run (run a variant on its own: its reports get their own folder)")
        except ParamsError as exc:
            results += [Job(pf.name, nb, (pf,), out / folder_name(pf.stem)).result("failed", message=str(exc), html="")
                        for nb in notebooks]
            continue
        owner[(p.cohort_id, p.data_dir)] = pf
        good.append((pf, p))
    return results, good


def _check_cohorts(good: list[tuple[Path, CohortParams]], checked: dict, notebooks: list[Path], out: Path):
    """Params files whose cohort_id is not in their (valid) data fail here, before any kernel starts,
    with the one line a Study would give; the others go on. `checked`: each params file's
    `_check_data`."""
    results, kept = [], []
    for pf, p in good:
        problem, cohort_ids, _ = checked[pf]
        if problem or p.cohort_id in cohort_ids:
            kept.append((pf, p))
            continue
        cohorts_file = next((p.data_dir / f for f in ("cohorts.csv", "cohorts.parquet") if (p.data_dir / f).exists()),
                            p.data_dir / "cohorts.csv")
        message = f"ParamsError: {unknown_cohort_message(pf, p.cohort_id, cohorts_file, cohort_ids)}"
        results += [Job(p.cohort_id, nb, (pf,), out / folder_name(p.cohort_id)).result("failed", message=message,
                                                                                         html="")
                    for nb in notebooks]
    return results, kept


def _longest_first(jobs: list[Job], out: Path) -> list[Job]:
    """Jobs in the order that keeps every worker busy to the end: the longest first, by the time each
    took last run (the cohorts' notebooks do not read each other's output, so any order is right)."""
    try:
        last = pd.DataFrame(json.loads((out / STATUS_FILE).read_text()))
        took = dict(zip(zip(last["cohort_id"], last["notebook"], strict=True), last["seconds"], strict=True))
    except (OSError, ValueError, KeyError):
        took = {}
    return sorted(jobs, key=lambda j: -took.get(j.key, 0.0))


def _execute_all(batch: list[Job], jobs: int, display: Progress, kernel_log: Path | None = None) -> list[dict]:
    """Run the jobs in a pool of worker processes (one worker for --jobs 1 too, so that Ctrl-C
    reaches the runner, not a notebook), showing progress as they start and end."""
    import multiprocessing

    if not batch:
        return []
    context = multiprocessing.get_context()
    events, stop = context.Queue(), context.Event()
    done: list[dict] = []
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(batch)), mp_context=context, initializer=_listen,
                               initargs=(events, stop, kernel_log))
    try:
        pending = {pool.submit(_execute, job) for job in batch}
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for fut in finished:
                done.append(display.finished(fut.result()))
            while not events.empty():
                display.started(events.get())
            display.refresh()
    except BaseException:  # Ctrl-C: start nothing more, stop what runs; what finished is still indexed
        stop.set()
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True)
    return done


# ---------------------------------------------------------------- on a Dask cluster

FORWARDED = (SET_ENV, FOLLOW_ENV)  # the run's settings a remote kernel must see too
_ONE_AT_A_TIME = threading.Lock()  # a worker process with several threads runs one report at a time


def _forwarded(environment: dict[str, str]) -> dict[str, str]:
    """What a report's kernel inherits on a cluster's worker: the run's kernel environment and its
    settings (the worker's own environment is not the runner's)."""
    return {**environment, **{name: os.environ[name] for name in FORWARDED if name in os.environ}}


def _execute_remotely(job: Job, environment: dict[str, str], started: str) -> dict:
    """`_execute` on a Dask worker: says it started (a distributed Queue the runner reads), then runs
    with the run's environment, one report per worker process at a time (the environment is the
    process's)."""
    from distributed import Queue

    with _ONE_AT_A_TIME, _environment(environment):
        try:
            Queue(started).put(list(job.key))
        except Exception:  # progress is a courtesy; the report still runs
            pass
        return _execute(job)


def _execute_on_cluster(batch: list[Job], scheduler: str, display: Progress, environment: dict[str, str]) -> list[dict]:
    """Run the jobs on the Dask cluster at `scheduler`, showing progress as they start and end; a
    job that raises on the worker (it never should) or whose worker died fails that report only."""
    import uuid

    from distributed import Client, Queue, as_completed

    if not batch:
        return []
    done: list[dict] = []
    try:
        client = Client(scheduler, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise MentoringEvalError(f"--scheduler {scheduler}: no Dask scheduler answered ({exc})") from None
    with client:
        started = f"mentoring-eval-started-{uuid.uuid4().hex}"
        queue = Queue(started, client=client)
        futures = {client.submit(_execute_remotely, job, environment, started, pure=False,
                                 key=f"mentoring-eval-{job.cohort_id}-{job.name}-{uuid.uuid4().hex[:8]}"): job
                   for job in batch}
        try:
            pending = as_completed(futures, loop=client.loop)
            while not pending.is_empty():
                for key in _drain(queue):
                    display.started(tuple(key))
                for fut in pending.next_batch(block=False) or []:
                    job = futures[fut]
                    try:
                        result = fut.result()
                    except Exception as exc:  # the worker died or the job could not be sent
                        result = job.result("failed", message=_last_line(exc))
                    done.append(display.finished(result))
                display.refresh()
                time.sleep(0.25)
        except BaseException:  # Ctrl-C: start nothing more; what finished is still indexed
            client.cancel(list(futures))
            raise
    return done


def _drain(queue) -> list:
    """Whatever the queue holds now, without waiting."""
    try:
        return list(queue.get(batch=True, timeout=0) or [])
    except Exception:
        return []


def _write_index(out: Path, results: pd.DataFrame, cohorts: dict | None = None) -> None:
    """reports/index.html from this run's results and, for reports this run did not touch, the last
    known state of those still on disk (so a run over one cohort keeps the others listed)."""
    from .publish import write_index

    status_path = out / STATUS_FILE
    try:
        before = pd.DataFrame(json.loads(status_path.read_text()), columns=COLUMNS)
    except (OSError, ValueError):
        before = pd.DataFrame(columns=COLUMNS)
    on_disk = [(out / h).exists() or s == "failed" for h, s in zip(before["html"], before["status"], strict=True)]
    before = before[pd.Series(on_disk, index=before.index, dtype=bool)]
    key = ["cohort_id", "notebook"]
    prior = before[[*key, "seconds"]].rename(columns={"seconds": "prior"})
    results = results.merge(prior, on=key, how="left")  # an unchanged report keeps the time it last took
    results["seconds"] = results["seconds"].where(results["status"] != "skipped",
                                                  results["prior"].astype(float).fillna(0.0))
    results = results.drop(columns="prior")
    before = before[~before.set_index(key).index.isin(results.set_index(key).index)]
    merged = pd.concat([before, results], ignore_index=True).sort_values(key, ignore_index=True)
    merged[["html", "cell", "message"]] = merged[["html", "cell", "message"]].fillna("")
    atomic_write(status_path, json.dumps(merged.to_dict("records"), indent=1))
    known_path = out / COHORTS_FILE  # names and dates of every cohort indexed so far
    try:
        known = {k: tuple(v) for k, v in json.loads(known_path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        known = {}
    known.update(cohorts or {})
    atomic_write(known_path, json.dumps(known, indent=1))
    write_index(out, merged, known)


