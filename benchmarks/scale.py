"""How each step of the data path grows with the company: seconds and peak memory per step, each
step in a fresh process (peak = that process's max RSS, loading included where the step needs the
data), at several sizes. "read the validated cache" and the analysis after it read the data as the
batch runner's notebooks do: validated once into a cache beside the company (in a process of its
own, untimed), then read back typed. A cohort's window is validated into an empty cache and read
back from it, as a first `mentoring-eval run` does.

Run:  .venv/bin/python benchmarks/scale.py [--sizes 100000 1000000] [--data /tmp/scale] [--steps ...] [--plot x.png]
Companies are simulated once into --data/<size> (CSV, or Parquet with --format parquet; rollout
design; --years 10 for ten years of records, into <size>-10y-parquet) and reused. Figures go to
docs/performance.md with the date and the machine; nothing here is asserted."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

# every analysis the notebooks 01-06 run for one cohort, after `study.cohort`
ANALYSIS = ("for by in (None, 'department'):\n    me.workforce.baseline(study, by=by)\n"
            "for role in ('mentee', 'mentor'):\n    me.retention.analyze(study, role)\n    me.promotion.analyze(study, role)\n"
            "for outcome in ('exited_voluntary', 'promoted'):\n    me.effects.staggered(study, outcome)\n"
            "me.roi.attempt(study)\nme.summary.what_it_takes(study)\nme.program_health.analyze(study)\n"
            "me.summary.build(study)")

# a cohort's retention and promotion analyses, mentees and mentors (the 5M x ten-year target)
SURVIVAL = ("study.cohort\nfor role in ('mentee', 'mentor'):\n    me.retention.analyze(study, role)\n"
            "    me.promotion.analyze(study, role)")

STEPS = {
    "load + validate": "ds = me.load(DATA)",
    "read the validated cache": "ds = me.load(DATA, cache=CACHE)",
    "at-risk panel (person x month), grouped by unit": (
        "ds = me.load(DATA)\nT0()\npanel = at_risk(ds)\n"
        "panel.groupby(['department', 'location', 'period']).agg(n=('exited', 'size'), v=('exited_voluntary', 'sum'))"),
    "unit x month counts from spells": (
        "ds = me.load(DATA)\nT0()\nsegment_counts(ds, 'month', ('department', 'location'), ('exited_voluntary',))"),
    "rollout unit rates (from spells)": "ds = me.load(DATA)\nT0()\nrollout_panel(ds, 'month')",
    "one cohort's full analysis (after loading)": (
        "study = open_cohort(DATA)\nT0()\nstudy.cohort\n" + ANALYSIS),
    "one cohort's full analysis (after reading the validated cache)": (
        "study = open_cohort(DATA, me.load(DATA, cache=CACHE))\nT0()\nstudy.cohort\n" + ANALYSIS),
    "read one cohort's window (load + validate)": "study = open_cohort(DATA, since='window', fresh_cache=True)",
    "one cohort's retention and promotion, its window read and validated first": (
        "study = open_cohort(DATA, since='window', fresh_cache=True)\n" + SURVIVAL),
}


RUNNER = """
import json, resource, sys, time
import mentoring_eval as me
from mentoring_eval.effects import rollout_panel
from mentoring_eval.panels import at_risk, segment_counts
DATA, CACHE = sys.argv[1], sys.argv[2]  # the validated cache: where `mentoring-eval run` puts it for its notebooks
start = [time.perf_counter()]
def open_cohort(data, dataset=None, cohort="2023-spring", since=None, fresh_cache=False):
    # the demo's params for one cohort, pointed at the benchmark's company; with fresh_cache, validated
    # into an empty cache and read back from it, as `mentoring-eval run` does on a first run
    import atexit, os, pathlib, shutil, tempfile
    if fresh_cache:
        folder = tempfile.mkdtemp(prefix="scale-cache-", dir=pathlib.Path(CACHE).parent)
        atexit.register(shutil.rmtree, folder, True)
        os.environ[me.data.CACHE_ENV] = folder
    root = pathlib.Path(me.__file__).resolve().parent.parent
    return me.open_study(root / "params" / (cohort + ".yaml"), data_dir=data, dataset=dataset, since=since)
def T0():
    start[0] = time.perf_counter()
{code}
print(json.dumps({{"seconds": time.perf_counter() - start[0],
                  "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}}))
"""


def measure(code: str, data: Path) -> dict:
    cache = data.parent / (data.name + "-validated")
    done = subprocess.run([sys.executable, "-c", RUNNER.format(code=code), str(data), str(cache)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return {"seconds": float("nan"), "peak_gib": float("nan"), "error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--data", type=Path, default=Path("/tmp/mentoring-eval-scale"))
    parser.add_argument("--steps", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv", help="how the company is written")
    parser.add_argument("--years", type=int, default=4, help="years of records the company has (default 4)")
    parser.add_argument("--plot", type=Path, help="also draw seconds and peak memory against employees, log-log, "
                        "to this PNG (from --table when given, else from this run)")
    parser.add_argument("--table", type=Path, help="a table this script printed before: plot it, measure nothing")
    args = parser.parse_args()
    if args.table:
        plot(read_table(args.table.read_text()), args.plot or args.table.with_suffix(".png"))
        return
    import mentoring_eval as me

    print(f"# {time.strftime('%Y-%m-%d')} {platform.node()} {platform.machine()} python {platform.python_version()}")
    print("| employees at start | step | seconds | peak GiB |")
    print("|---:|---|---:|---:|")
    lines = []
    for n in args.sizes:
        span = "" if args.years == 4 else f"-{args.years}y"
        data = args.data / (f"{n}{span}" if args.format == "csv" else f"{n}{span}-parquet")
        if not (data / f"employees.{args.format}").exists():
            t0 = time.perf_counter()
            me.simulate(data, n_employees=n, seed=0, design="rollout", file_format=args.format, years=args.years)
            print(f"<!-- simulated {n:,} employees in {time.perf_counter() - t0:.1f} s -->", flush=True)
        if any("CACHE" in STEPS[step] for step in args.steps):
            measure("me.load(DATA, cache=CACHE)", data)  # validated into the cache in a process of its own
        for step in args.steps:
            got = measure(STEPS[step], data)
            note = f" ({got['error']})" if "error" in got else ""
            line = f"| {n:,} ({args.format}{', ' + str(args.years) + ' years' if span else ''}) | {step} | " \
                   f"{got['seconds']:.1f} | {got['peak_gib']:.2f} |{note}"
            lines.append(line)
            print(line, flush=True)
    if args.plot:
        plot(read_table("\n".join(lines)), args.plot)


def read_table(text: str) -> list[tuple[int, str, float, float]]:
    """(employees, step, seconds, peak GiB) from the rows of a table this script printed."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0][:1].isdigit():
            rows.append((int(cells[0].split()[0].replace(",", "")), cells[1], float(cells[2]), float(cells[3])))
    return rows


def plot(rows: list[tuple[int, str, float, float]], path: Path) -> None:
    """Seconds and peak GiB of each step against employees, both axes logarithmic: a step whose line
    is steeper than the others is the next bottleneck."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for step in dict.fromkeys(r[1] for r in rows):
        mine = sorted(r for r in rows if r[1] == step)
        sizes = [r[0] for r in mine]
        left.plot(sizes, [r[2] for r in mine], marker="o", label=step)
        right.plot(sizes, [r[3] for r in mine], marker="o", label=step)
    for ax, label in ((left, "seconds"), (right, "peak memory (GiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("employees at start")
        ax.set_ylabel(label)
        ax.spines[["top", "right"]].set_visible(False)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=120)
    print(f"<!-- plot written to {path} -->")


if __name__ == "__main__":
    main()
