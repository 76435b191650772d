"""The command line: exit status 0 on success, 1 with a one-line message (never a traceback) on bad input."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path


from mentoring_eval.cli import main
from tests.conftest import ROOT, read_raw, write_raw

EXE = Path(sys.executable).with_name("mentoring-eval")


def _cli(*args, cwd=None):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_validate_valid_directory_prints_a_summary(demo_dir, capsys):
    assert main(["validate", str(demo_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{demo_dir}: valid" in out
    assert "employees" in out and "rows" in out


def test_validate_bad_directory_lists_problems_and_exits_1(data_copy):
    enr = read_raw(data_copy, "enrollments")
    enr.loc[0, "role"] = "mentorr"
    write_raw(data_copy, "enrollments", enr)
    r = _cli("validate", data_copy)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "enrollments.csv, column role, 1 row (row 2: 'mentorr'): expected one of mentee, mentor" in r.stderr


def test_missing_directory_is_one_line(tmp_path):
    r = _cli("validate", tmp_path / "nowhere")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{tmp_path / 'nowhere'}: 1 data problem\n  - no such directory: expected a directory holding the data tables" in r.stderr


def test_simulate_writes_data_and_rejects_nonsense(tmp_path):
    r = _cli("simulate", tmp_path / "d", "--employees", 300, "--seed", 4)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "d" / "truth.json").is_file() and (tmp_path / "d" / "employees.csv").is_file()
    assert "naive gap" in r.stdout and "true effect" in r.stdout
    bad = _cli("simulate", tmp_path / "e", "--employees", 10)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == ["mentoring-eval: error: n_employees must be at least 200 for a usable demo (got 10)"]


def test_run_isolates_a_bad_params_file_and_bad_data(tmp_path, demo_dir, data_copy):
    enr = read_raw(data_copy, "enrollments")
    enr.loc[0, "role"] = "mentorr"
    write_raw(data_copy, "enrollments", enr)
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    (params / "bad.yaml").write_text("cohort_id: 2023-spring\nperiod: fortnight\n")
    (params / "2024-spring.yaml").write_text(f"cohort_id: 2024-spring\ndata_dir: {data_copy}\n")
    out = tmp_path / "reports"
    nbs = [ROOT / "notebooks" / "00_data_overview.ipynb", ROOT / "notebooks" / "01_baseline.ipynb",
           ROOT / "notebooks" / "07_cohorts_compared.ipynb"]
    r = _cli("run", "--params", params, "--out", out, "--jobs", 2, "--notebooks", *nbs)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert ("failed: bad.yaml / 2 notebooks (00_data_overview to 01_baseline): "
            f"{params / 'bad.yaml'}, key period: Input should be 'month' or 'quarter' (got 'fortnight')") in r.stdout
    assert ("failed: 2024-spring / 2 notebooks (00_data_overview to 01_baseline): DataValidationError: "
            f"{data_copy}: enrollments.csv, column role, 1 row (row 2: 'mentorr'): expected one of mentee, mentor") in r.stdout
    assert re.search(r"^\[4/7\] failed 2024-spring / 2 notebooks .* DataValidationError", r.stderr, re.M)
    assert not (out / "2024-spring").exists()  # bad data is refused once, before any notebook starts
    assert sorted(p.name for p in (out / "2023-spring").glob("*.html")) == ["00_data_overview.html", "01_baseline.html"]
    # the cross-cohort notebook compares the cohorts that could run
    compared = (out / "all-cohorts" / "07_cohorts_compared.html").read_text()
    assert "no cohort has an honest estimate" in compared and "2024-spring" not in compared
    index = (out / "index.html").read_text()
    assert "2023-spring/00_data_overview.html" in index and "fortnight" in index
    assert "DataValidationError" in index and "column role, 1 row (row 2: &#x27;mentorr&#x27;)" in index


def test_an_unknown_cohort_fails_once_before_any_kernel_starts(tmp_path, demo_dir):
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    (params / "typo.yaml").write_text(f"cohort_id: 2023-sprign\ndata_dir: {demo_dir}\n")
    out = tmp_path / "reports"
    nbs = [ROOT / "notebooks" / "00_data_overview.ipynb", ROOT / "notebooks" / "01_baseline.ipynb",
           ROOT / "notebooks" / "07_cohorts_compared.ipynb"]
    r = _cli("run", "--params", params, "--out", out, "--jobs", 2, "--notebooks", *nbs)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    failed = [line for line in r.stdout.splitlines() if line.startswith("  failed:")]
    assert failed == [f"  failed: 2023-sprign / 2 notebooks (00_data_overview to 01_baseline): ParamsError: "
                      f"{params / 'typo.yaml'}, key cohort_id: '2023-sprign' is not in {demo_dir / 'cohorts.csv'} "
                      f"(known: 2023-autumn, 2023-spring, 2024-autumn, 2024-spring)"]
    assert "running 2023-sprign" not in r.stderr and not (out / "2023-sprign").exists()  # no kernel started for it
    assert sorted(p.name for p in (out / "2023-spring").glob("*.html")) == ["00_data_overview.html", "01_baseline.html"]
    compared = (out / "all-cohorts" / "07_cohorts_compared.html").read_text()
    assert "2023-spring" in compared and "2023-sprign" not in compared
    # a rerun with nothing changed starts no kernel at all
    again = _cli("run", "--params", params, "--out", out, "--jobs", 2, "--notebooks", *nbs)
    assert again.returncode == 1 and "running" not in again.stderr
    assert "3 of 5 reports ok (3 unchanged, not rerun), 2 failed" in again.stdout


def test_every_notebook_for_every_demo_params_file_then_resume(rendered_demo):
    import pandas as pd

    import mentoring_eval as me

    params, out, stdout = rendered_demo  # `run --pdf` over the demo's four params files
    cohorts = [pf.stem for pf in sorted(params.glob("*.yaml"))]
    assert len(cohorts) == 4
    assert "29 of 29 reports ok (0 unchanged, not rerun), 0 failed" in stdout
    assert "4 PDFs beside the HTML pages (printed by Chromium)" in stdout
    notebooks = [p.stem for p in sorted((ROOT / "notebooks").glob("0[0-6]_*.ipynb"))]
    for cohort in cohorts:
        assert sorted(p.stem for p in (out / cohort).glob("*.html")) == notebooks
    for page in out.glob("*/*.html"):
        text = page.read_text()
        assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", text), page  # opens offline
        assert "open_study" not in text and "import mentoring_eval" not in text, page  # stakeholders see no code
        assert not re.search(r"\bE\d{6}\b", text), page  # nor any employee id
        assert "Provenance" in text and "fingerprint" in text and ".yaml (sha256" in text, page
    index = (out / "index.html").read_text()
    assert index.count('class="ok"') == 29 and "Every report ran." in index
    # pooled first, then the cohorts by start date (the demo's ids sort otherwise), with names and dates
    assert re.findall(r"<tr id='([^']+)'>", index) == ["all-cohorts", "2023-spring", "2023-autumn", "2024-spring",
                                                       "2024-autumn"]
    assert "<b>Spring 2023: Engineering and Sales</b><br><span class='me-dates'>2023-04-01 to 2023-12-31</span>" in index
    # the program's first screen on top (tiles, then sentences), each cohort's in one paragraph
    assert "<h2>The program so far, all cohorts pooled</h2><div class='me-tiles'>" in index
    assert "<div class='me-label'>Verdict</div>" in index and "<p><b>Verdict: " in index
    for c in cohorts:
        cell = index.split(f"<tr id='{c}'>", 1)[1].split("<td class='head'>", 1)[1].split("</td>", 1)[0]
        assert re.match(r"<b>(Pays back|Does not pay back|Cannot tell yet)\.</b> ", cell), cell
        assert "Platform figure: " in cell and "Pays back above a " in cell, cell
    # the summary recomputes what the detailed notebooks wrote, and agrees with every figure
    written = pd.read_csv(out / "2023-spring" / "estimates.csv")
    summary = me.summary.build(me.open_study(params / "2023-spring.yaml")).estimates.to_frame()
    both = summary.merge(written, on=["role", "estimand", "method"], suffixes=("", "_written"))
    assert len(both) == len(summary)
    assert (both["design"] == both["design_written"]).all() and (both["unit"] == both["unit_written"]).all()
    pd.testing.assert_series_equal(both["estimate"], both["estimate_written"], check_names=False, rtol=1e-9)
    # a rerun with nothing changed executes nothing
    again = _cli("run", "--params", params, "--out", out, "--jobs", 2, cwd=ROOT)
    assert again.returncode == 0
    assert "29 of 29 reports ok (29 unchanged, not rerun), 0 failed" in again.stdout
    assert "running" not in again.stderr
    # editing one params file reruns that cohort and the comparison across cohorts, nothing else
    edited = params / "2024-autumn.yaml"
    edited.write_text(edited.read_text() + "# reviewed with HR\n")
    changed = _cli("run", "--params", params, "--out", out, "--jobs", 2, cwd=ROOT)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    ran = sorted(re.findall(r"\] done   (\S+) / (\S+)", changed.stderr))
    assert ran == [("2024-autumn", nb) for nb in notebooks] + [("all-cohorts", "07_cohorts_compared")]
    assert "29 of 29 reports ok (21 unchanged, not rerun), 0 failed" in changed.stdout


def test_cross_cohort_notebooks_run_once_after_the_cohorts(tmp_path, demo_dir):
    params = tmp_path / "params"
    params.mkdir()
    for cohort_id in ("2023-spring", "2024-spring"):
        (params / f"{cohort_id}.yaml").write_text(
            f"cohort_id: {cohort_id}\ndata_dir: {demo_dir}\nmentee_eligibility:\n  levels: [1, 2, 3]\n"
            f"  departments: [Engineering, Sales, Marketing, Customer Support]\n  min_tenure_months: 6\n")
    out = tmp_path / "reports"
    r = _cli("run", "--params", params, "--out", out, "--jobs", 1, "--notebooks",
             ROOT / "notebooks" / "00_data_overview.ipynb", ROOT / "notebooks" / "07_cohorts_compared.ipynb")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) == [
        "2023-spring", "2024-spring", "all-cohorts"]
    assert not (out / "2023-spring" / "07_cohorts_compared.html").exists()
    page = (out / "all-cohorts" / "07_cohorts_compared.html").read_text()
    assert "in the only cohort compared, 2023-spring" in page  # 2024-spring reached 4 departments against 2
    assert r.stderr.strip().splitlines()[-1].startswith("[3/3] done   all-cohorts / 07_cohorts_compared")


def _notebook(path: Path, *cells: str) -> Path:
    """A notebook with the runner's parameters cell and the given code cells."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('params_file = None\noutput_dir = None\naudience = None')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, *map(nbformat.v4.new_code_cell, cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _leaky_notebook(path: Path) -> Path:
    return _notebook(path, "import mentoring_eval as me\nparams = me.load_params(params_file)\n"
                           "print('top performer:', me.load(params.data_dir).employees['employee_id'].iloc[3])")


def _fragile_notebook(path: Path) -> Path:
    """Sleeps SLEEP seconds and raises when BREAK is set (the kernel inherits the runner's environment)."""
    return _notebook(path, "import os\nimport time\n\ntime.sleep(float(os.environ.get('SLEEP', '0')))",
                     "# the data export\nif os.environ.get('BREAK'):\n    raise ValueError('the export has no Q3 rows')\n"
                     "print('all quarters present')")


def _one_cohort(tmp_path: Path, demo_dir: Path) -> Path:
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    return params


def _run_env(**env):
    import os

    return {**os.environ, "SLEEP": "0", "BREAK": "", **env}


def test_a_failing_notebook_names_its_cell_and_keeps_the_last_good_report(tmp_path, demo_dir):
    params = _one_cohort(tmp_path, demo_dir)
    out = tmp_path / "reports"
    nbs = [ROOT / "notebooks" / "00_data_overview.ipynb", _fragile_notebook(tmp_path / "08_fragile.ipynb")]
    cmd = [str(EXE), "run", "--params", str(params), "--out", str(out), "--jobs", "2", "--notebooks", *map(str, nbs)]
    first = subprocess.run(cmd, capture_output=True, text=True, env=_run_env(), timeout=600)
    assert first.returncode == 0, first.stderr
    good = (out / "2023-spring" / "08_fragile.html").read_bytes()
    assert b"all quarters present" in good
    broken = subprocess.run([*cmd, "--force"], capture_output=True, text=True, env=_run_env(BREAK="1"), timeout=600)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    # In [4]: the parameters cell, the injected parameters, the sleep, then the failing cell
    assert ("failed: 2023-spring / 08_fragile (In [4], line 3: raise ValueError('the export has no Q3 rows')): "
            "ValueError: the export has no Q3 rows") in broken.stdout
    assert re.search(r"^2023-spring\s+ok \d+s\s+FAILED$", broken.stdout, re.M)  # the summary grid
    assert "done   2023-spring / 00_data_overview" in broken.stderr  # the other report went on
    assert (out / "2023-spring" / "08_fragile.html").read_bytes() == good  # the last good report stays
    private = out.with_name(out.name + "-private")  # beside the published folder, not inside it
    kept = (private / "2023-spring" / "08_fragile.failed.ipynb").read_text()
    assert "the export has no Q3 rows" in kept  # the executed notebook with the error, for analysts
    assert not list(out.rglob("*.failed.ipynb")) and not (out / ".cache").exists()
    assert not (out / ".kernels.log").exists()
    assert (private / "cache").is_dir() and (private / "kernels.log").exists()
    index = (out / "index.html").read_text()
    assert "failed.ipynb" not in index and f"kept for analysts in {private.name}/ beside this folder" in index
    assert '<a href="2023-spring/08_fragile.html">last good</a>' in index
    assert ("at <code>In [4], line 3: raise ValueError(&#x27;the export has no Q3 rows&#x27;)</code>: "
            "ValueError: the export has no Q3 rows") in index
    # the fixed rerun runs only the failed report
    fixed = subprocess.run(cmd, capture_output=True, text=True, env=_run_env(), timeout=600)
    assert fixed.returncode == 0, fixed.stderr
    assert "skipped 2023-spring / 00_data_overview inputs unchanged" in fixed.stderr
    assert "done   2023-spring / 08_fragile" in fixed.stderr
    assert not (private / "2023-spring" / "08_fragile.failed.ipynb").exists()


def test_a_killed_run_leaves_the_previous_reports_intact(tmp_path, demo_dir):
    import os
    import signal
    import time

    params = _one_cohort(tmp_path, demo_dir)
    out = tmp_path / "reports"
    nbs = [ROOT / "notebooks" / "00_data_overview.ipynb", _fragile_notebook(tmp_path / "08_fragile.ipynb")]
    cmd = [str(EXE), "run", "--params", str(params), "--out", str(out), "--jobs", "1", "--notebooks", *map(str, nbs)]
    assert subprocess.run(cmd, capture_output=True, text=True, env=_run_env(), timeout=600).returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and ".cache" not in p.parts}
    slow = subprocess.Popen([*cmd, "--force"], env=_run_env(SLEEP="120"), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = out.with_name(out.name + "-private") / "2023-spring" / ".08_fragile.running.ipynb"
    deadline = time.monotonic() + 300
    while not running.exists() and time.monotonic() < deadline and slow.poll() is None:
        time.sleep(0.2)
    assert running.exists(), "the second report never started"
    os.killpg(slow.pid, signal.SIGKILL)
    slow.wait()
    after = {p.relative_to(out): p for p in out.rglob("*") if p.is_file() and ".cache" not in p.parts}
    assert (out / "2023-spring" / "08_fragile.html").read_bytes() == before[Path("2023-spring/08_fragile.html")]
    assert (out / "index.html").read_bytes() == before[Path("index.html")]
    for name, path in after.items():  # every visible file is whole: the rewritten overview too
        if not name.name.startswith("."):
            assert name in before, f"{name} appeared"
            if name.suffix == ".html":
                assert path.read_text().rstrip().endswith("</html>"), name
    # the next run clears what the killed one left and finds the reports current
    again = subprocess.run(cmd, capture_output=True, text=True, env=_run_env(), timeout=600)
    assert again.returncode == 0, again.stderr
    assert "skipped 2023-spring / 08_fragile inputs unchanged" in again.stderr
    assert not running.exists()


def test_privacy_gate_provenance_and_force(tmp_path, demo_dir):
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    leaky = _leaky_notebook(tmp_path / "09_leaky.ipynb")
    out = tmp_path / "reports"
    nbs = [ROOT / "notebooks" / "00_data_overview.ipynb", leaky]
    r = _cli("run", "--params", params, "--out", out, "--jobs", 1, "--notebooks", *nbs)
    assert r.returncode == 1
    assert ("failed: 2023-spring / 09_leaky: PrivacyGateError: privacy gate: the stakeholder report shows 1 employee "
            "id, name or e-mail address from the data; it was not published") in r.stdout
    assert not re.search(r"\bE\d{6}\b", r.stdout + r.stderr)  # the refusal does not echo the ids it found
    assert not (out / "2023-spring" / "09_leaky.html").exists()
    page = (out / "2023-spring" / "00_data_overview.html").read_text()
    assert "Provenance" in page and "fingerprint" in page and "2023-spring.yaml (sha256" in page
    # --force reruns a report whose inputs are unchanged
    forced = _cli("run", "--params", params, "--out", out, "--jobs", 1, "--force", "--notebooks", nbs[0])
    assert forced.returncode == 0 and "done   2023-spring / 00_data_overview" in forced.stderr


def test_analyst_reports_keep_the_code_and_may_show_ids(tmp_path, demo_dir):
    params = _one_cohort(tmp_path, demo_dir)
    out = tmp_path / "analyst"
    r = _cli("run", "--params", params, "--out", out, "--jobs", 1, "--audience", "analyst",
             "--notebooks", _leaky_notebook(tmp_path / "09_leaky.ipynb"))
    assert r.returncode == 0, r.stdout + r.stderr
    import html

    private = out.with_name(out.name + "-private") / "2023-spring--analyst"  # never in the shared folder
    page = html.unescape(re.sub(r"<[^>]+>", "", (private / "09_leaky.html").read_text()))
    assert "params = me.load_params(params_file)" in page  # the code is shown
    assert re.search(r"top performer: E\d{6}", page)  # row-level detail is for analysts only
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["index.html"]
    index = (out / "index.html").read_text()
    assert "09_leaky.html" not in index, re.findall(r".{150}09_leaky.html.{50}", index)
    assert "(analyst pages)</b>" in index
    assert f"analyst page, kept in {out.name}-private/2023-spring--analyst/ (not for sharing)" in index


def test_ctrl_c_stops_the_run_at_once_and_indexes_what_finished(tmp_path, demo_dir):
    import os
    import signal
    import time

    params = _one_cohort(tmp_path, demo_dir)
    out = tmp_path / "reports"
    nbs = [_fragile_notebook(tmp_path / "08_fragile.ipynb"), _fragile_notebook(tmp_path / "09_fragile.ipynb")]
    # as a terminal's foreground job: Ctrl-C's default action, even when the tests themselves were
    # started in the background of a script (which starts them with SIGINT ignored, inherited on exec)
    run = subprocess.Popen([str(EXE), "run", "--params", str(params), "--out", str(out), "--jobs", "1",
                            "--notebooks", *map(str, nbs)], env=_run_env(SLEEP="120"), start_new_session=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running = out.with_name(out.name + "-private") / "2023-spring" / ".08_fragile.running.ipynb"
    deadline = time.monotonic() + 300
    while not running.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    assert running.exists(), "the first report never started"
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    start = time.monotonic()
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130 and time.monotonic() - start < 30
    assert err.rstrip().endswith("mentoring-eval: interrupted") and "Traceback" not in err
    assert not list((out / "2023-spring").glob("*.html"))  # the queued report never started
    assert "running 2023-spring / 09_fragile" not in err
    assert (out / "index.html").exists()


def test_bare_command_prints_help_with_examples(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mentoring-eval") and "examples:" in out
    assert "mentoring-eval run --params params --out reports" in out


def test_a_refused_rerun_keeps_the_estimates_published_with_the_last_good_report(tmp_path, demo_dir):
    """The index reads estimates.csv: a rerun the privacy gate refuses must not leave its new figures
    beside the old page."""
    params = tmp_path / "params"
    params.mkdir()
    (params / "2023-spring.yaml").write_text(f"cohort_id: 2023-spring\ndata_dir: {demo_dir}\n")
    nb = _notebook(tmp_path / "10_figure.ipynb",
                   "import os\nimport mentoring_eval as me\nparams = me.load_params(params_file)\n"
                   "value = float(os.environ.get('VALUE', '1'))",
                   "me.Estimates([me.estimates.make(cohort_id='2023-spring', role='mentee', estimand='retention_12m', "
                   "method='naive', estimate=value, design='naive', unit='pp')]).write(output_dir)",
                   "if os.environ.get('LEAK'):\n    print(me.load(params.data_dir).employees['employee_id'].iloc[3])")
    out = tmp_path / "reports"
    first = _cli("run", "--params", params, "--out", out, "--jobs", 1, "--notebooks", nb)
    assert first.returncode == 0, first.stdout + first.stderr
    page = (out / "2023-spring" / "10_figure.html").read_bytes()
    import os

    import pandas as pd

    refused = subprocess.run([str(EXE), "run", "--params", str(params), "--out", str(out), "--jobs", "1", "--force",
                              "--notebooks", str(nb)], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "VALUE": "2", "LEAK": "1"})
    assert refused.returncode == 1 and "privacy gate" in refused.stdout
    assert (out / "2023-spring" / "10_figure.html").read_bytes() == page  # the last good page stays
    written = pd.read_csv(out / "2023-spring" / "estimates.csv")
    assert written["estimate"].tolist() == [1.0]  # and so do the figures published with it


def test_a_full_disk_leaves_no_temporary_files_and_no_stale_index(tmp_path, demo_dir, monkeypatch, capsys):
    import errno

    params = _one_cohort(tmp_path, demo_dir)
    out = tmp_path / "reports"
    args = ["run", "--params", str(params), "--out", str(out), "--jobs", "1", "--force",
            "--notebooks", str(ROOT / "notebooks" / "00_data_overview.ipynb")]
    assert main(args) == 0 and (out / "index.html").exists()
    page = (out / "2023-spring" / "00_data_overview.html").read_bytes()
    capsys.readouterr()
    real = Path.write_text

    def full_disk(self, data, *more, **options):  # the disk fills up halfway through every file written
        if ".tmp-" in self.name:
            real(self, data[: len(data) // 2], *more, **options)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data, *more, **options)

    monkeypatch.setattr(Path, "write_text", full_disk)  # the pool's workers are forked: they see it too
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == (f"mentoring-eval: error: {out}: the index could not be written (OSError: "
                                            f"[Errno 28] No space left on device); free space and run again")
    private = out.with_name(out.name + "-private")
    assert not [p for p in [*out.rglob("*"), *private.rglob("*")] if ".tmp-" in p.name]
    assert not (out / "index.html").exists()  # no index that shows a run without its failure
    assert (out / "2023-spring" / "00_data_overview.html").read_bytes() == page  # the last good page stands
    monkeypatch.setattr(Path, "write_text", real)
    assert main(args) == 0 and "Every report ran." in (out / "index.html").read_text()


def test_running_out_of_memory_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    import importlib

    from mentoring_eval import cli

    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 377. MiB for an array with shape (6, 8240864)")

    monkeypatch.setattr(importlib.import_module("mentoring_eval.simulate"), "simulate", too_big)
    assert cli.main(["simulate", str(tmp_path / "big"), "--employees", "5000000"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of memory (Unable to allocate 377. MiB" in err
    assert "Traceback" not in err
