"""Wall time of the batch runner on the demo: every notebook for every params file with --jobs 1
and --jobs 2 (forced), a rerun with nothing changed, and the runner's overhead per notebook.

Overhead is measured two ways: (a) in the --jobs 1 run, each report's wall time minus the time
its cells took inside the kernel (papermill records it per cell); (b) the wall time per report of
a notebook whose only cell is `pass`, over every cohort.

Run:  .venv/bin/python benchmarks/batch.py
Figures go to docs/performance.md."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).with_name("mentoring-eval")


def timed(*args) -> float:
    start = time.perf_counter()
    subprocess.run([str(EXE), "run", *map(str, args)], cwd=ROOT, check=False, capture_output=True)
    return time.perf_counter() - start


def kernel_seconds(executed: Path) -> float:
    """Seconds the notebook's cells ran in the kernel, from papermill's per-cell records."""
    cells = json.loads(executed.read_text())["cells"]
    return sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0 for c in cells)


def empty_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("params_file = None\noutput_dir = None\naudience = None")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("pass")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reports"
        one = timed("--out", out, "--jobs", 1, "--force")
        status = pd.DataFrame(json.loads((out / ".status.json").read_text()))
        status["kernel"] = [kernel_seconds(out / Path(h).with_suffix(".ipynb")) for h in status["html"]]
        status["overhead"] = status["seconds"] - status["kernel"]
        two = timed("--out", out, "--jobs", 2, "--force")
        again = timed("--out", out, "--jobs", 2)
        # a params folder that also holds a cohort the data do not have: it fails at plan time
        broken = Path(tmp) / "params"
        broken.mkdir()
        for pf in (ROOT / "params").glob("*.yaml"):
            text = pf.read_text().replace("data_dir: ../data/demo", f"data_dir: {ROOT / 'data' / 'demo'}")
            (broken / pf.name).write_text(text)
        (broken / "zz-typo.yaml").write_text((broken / "2024-spring.yaml").read_text()
                                             .replace("cohort_id: 2024-spring", "cohort_id: 2025-typo"))
        first_broken = timed("--params", broken, "--out", out, "--jobs", 2)
        again_broken = timed("--params", broken, "--out", out, "--jobs", 2)
        reports = len(list(out.rglob("*.html"))) - 1
        size = sum(p.stat().st_size for p in out.rglob("*.html")) / 2**20
        per_report = {nb: sum(p.stat().st_size for p in out.glob(f"*/{nb}.html")) / len(list(out.glob(f"*/{nb}.html")))
                      for nb in sorted(status["notebook"].unique())}
        empty_out = Path(tmp) / "empty"
        nb = empty_notebook(Path(tmp) / "00_empty.ipynb")
        empty = timed("--out", empty_out, "--jobs", 1, "--notebooks", nb)
        empty_each = pd.DataFrame(json.loads((empty_out / ".status.json").read_text()))["seconds"]
    print(f"# {time.strftime('%Y-%m-%d')}: {reports} reports, {size:.1f} MiB of HTML")
    print("| run | seconds |\n|---|---:|")
    print(f"| --jobs 1 (forced) | {one:.1f} |\n| --jobs 2 (forced) | {two:.1f} |\n| no-change rerun | {again:.1f} |")
    print(f"| params/ plus an unknown cohort, first run | {first_broken:.1f} |\n"
          f"| params/ plus an unknown cohort, no-change rerun | {again_broken:.1f} |")
    print(f"speed-up of --jobs 2: {one / two:.2f}x")
    print("\nper notebook, --jobs 1 (mean over cohorts): wall, in-kernel, overhead seconds; mean HTML KiB")
    by_nb = status.groupby("notebook")[["seconds", "kernel", "overhead"]].mean()
    for name, r in by_nb.iterrows():
        print(f"| {name} | {r.seconds:.2f} | {r.kernel:.2f} | {r.overhead:.2f} | {per_report[name] / 1024:.0f} |")
    print(f"overhead per report: mean {status['overhead'].mean():.2f} s, max {status['overhead'].max():.2f} s; largest:")
    print(status.nlargest(3, "overhead")[["cohort_id", "notebook", "seconds", "kernel", "overhead"]].round(2).to_string())
    print(f"empty notebook x {len(empty_each)} cohorts: {empty:.1f} s in all, {empty_each.mean():.2f} s per report "
          f"(max {empty_each.max():.2f})")


if __name__ == "__main__":
    main()
