"""Wall time of the batch runner on the demo: every notebook for every params file with --jobs 1
and --jobs 2 (forced), then a rerun with nothing changed.

Run:  .venv/bin/python benchmarks/batch.py
Figures go to docs/performance.md."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).with_name("mentoring-eval")


def timed(*args) -> float:
    start = time.perf_counter()
    subprocess.run([str(EXE), "run", *map(str, args)], cwd=ROOT, check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reports"
        one = timed("--out", out, "--jobs", 1, "--force")
        two = timed("--out", out, "--jobs", 2, "--force")
        again = timed("--out", out, "--jobs", 2)
        reports = len(list(out.rglob("*.html"))) - 1
        size = sum(p.stat().st_size for p in out.rglob("*.html")) / 2**20
    print(f"# {time.strftime('%Y-%m-%d')}: {reports} reports, {size:.1f} MiB of HTML")
    print("| run | seconds |\n|---|---:|")
    print(f"| --jobs 1 (forced) | {one:.1f} |\n| --jobs 2 (forced) | {two:.1f} |\n| no-change rerun | {again:.1f} |")
    print(f"speed-up of --jobs 2: {one / two:.2f}x")


if __name__ == "__main__":
    main()
