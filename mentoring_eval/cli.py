"""The `mentoring-eval` command: simulate demo data, validate a data directory, run the reports.

Every error caused by input (bad data, bad params, missing files) ends in one line on stderr and
exit status 1; a traceback means a bug in mentoring-eval."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import MentoringEvalError
from .version import __version__


def _simulate(args) -> int:
    from .simulate import Effects, simulate

    truth = simulate(args.out, n_employees=args.employees, seed=args.seed,
                     effects=Effects.null() if args.null_effects else None, design=args.design,
                     shocks=args.shocks, plan=args.plan, file_format=args.format, years=args.years)
    t = truth.table
    mentees = t[(t.role == "mentee") & t.estimand.isin(["retention_12m", "promotion_12m"]) & t.kind.isin(["att", "naive"])]
    print(f"wrote the demo data set and truth.json to {args.out} ({args.employees:,} employees at start, seed {args.seed})")
    for (estimand, kind), v in mentees.groupby(["estimand", "kind"])["value"].mean().items():
        print(f"  mentees, {estimand}, {'true effect' if kind == 'att' else 'naive gap'}: {v:+.1f} pp (mean over cohorts)")
    return 0


def _follow(args) -> None:
    """--follow-symlinks reaches every load of the run, the notebooks' kernels included."""
    if getattr(args, "follow_symlinks", False):
        from .data import FOLLOW_ENV

        os.environ[FOLLOW_ENV] = "1"


def _validate(args) -> int:
    from .data import DataValidationError, load

    _follow(args)
    try:
        ds = load(args.data_dir)
    except DataValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    summary = ds.summary()
    summary = summary[summary["rows"] > 0]
    print(f"{args.data_dir}: valid")
    for r in summary.itertuples():
        span = "" if r.first_date is None or str(r.first_date) == "NaT" else \
            f"  {r.first_date:%Y-%m-%d} .. {r.last_date:%Y-%m-%d}"
        print(f"  {r.table:<20} {r.rows:>10,} rows{span}")
    from .sanity import warnings

    found = warnings(ds)
    if len(found):
        print(f"{len(found)} sanity warning{'s' if len(found) != 1 else ''} (allowed, but worth a look):")
        for w in found.itertuples():
            print(f"  - {w.check}: {w.rows_affected:,} row{'s' if w.rows_affected != 1 else ''} ({w.examples}); "
                  f"{w.consequence}")
    return 0


def _run(args) -> int:
    from .batch import run
    from .runlog import default_echo, summary_text

    from .params import parse_settings

    _follow(args)
    results = run(params=args.params, notebooks=args.notebooks, out=args.out, jobs=args.jobs,
                  audience=args.audience, timeout=args.timeout, force=args.force, echo=default_echo,
                  live=sys.stderr.isatty(), settings=parse_settings(args.set or []), executor=args.executor,
                  scheduler=args.scheduler)
    print(summary_text(results))
    print(f"index at {Path(args.out) / 'index.html'}")
    if args.pdf:
        from . import pdf

        made = pdf.write(args.out, args.pdf, echo=lambda line: print(line, file=sys.stderr))
        print(f"{len(made)} PDF{'s' if len(made) != 1 else ''} beside the HTML pages (printed by Chromium)")
    return 1 if (results["status"] == "failed").any() else 0


def _plan(args) -> int:
    from .preregistration import plan

    drawn = plan(args.params, args.applicants, args.out, share=args.share, seed=args.seed, start=args.start)
    print(f"{drawn.summary()}; wrote {args.out / 'assignment.csv'} and {args.out / 'preregistration.json'}")
    return 0


EXAMPLES = """examples:
  mentoring-eval simulate data/demo                      write the demo company (5,000 employees)
  mentoring-eval validate data/acme                      check your exports against the data contract
  mentoring-eval run --params params --out reports       every report for every params file
  mentoring-eval run --params params/2024-spring.yaml --pdf
                                                         one cohort, with its summary as a PDF
  mentoring-eval run --params params/2024-spring.yaml --set period=quarter
                                                         a variant, in reports/2024-spring--period-quarter
  mentoring-eval plan --params params/2025-spring.yaml --applicants applicants.csv --out lottery
                                                         draw the next cohort's lottery
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mentoring-eval", description=__doc__.splitlines()[0], epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mentoring-eval {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="write the synthetic demo data set with its planted truth")
    s.add_argument("out", type=Path, help="output directory, e.g. data/demo")
    s.add_argument("--employees", type=int, default=5000, help="headcount at the start of the simulation (default 5000)")
    s.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes identical files (default 0)")
    s.add_argument("--null-effects", action="store_true", help="plant no effect of mentoring (self-selection only)")
    s.add_argument("--design", choices=["rollout", "lottery", "capacity", "observational", "mix"], default="rollout",
                   help="how places are given out: rollout across departments (default), a lottery among applicants, "
                        "scarce places by department and level (capacity), everyone matched (observational), or "
                        "mix (the demo company: a lottery, a capacity cohort and two rollouts)")
    s.add_argument("--shocks", type=float, default=0.0, metavar="SD",
                   help="SD of department x half-year shocks to the log hazards of voluntary exit and promotion "
                        "(default 0: none; 0.2 moderate, 0.4 large)")
    s.add_argument("--plan", choices=["demo", "wide"], default="demo",
                   help="which departments each cohort invites: the demo's two or three (default), or wide: three per "
                        "cohort, re-invited a year later, three never invited")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv",
                   help="write the tables as CSV (default) or as Parquet with typed columns, as large exports come")
    s.add_argument("--years", type=int, default=4,
                   help="years of records, ending on 2025-12-31 (default 4, from 2022; 10 starts in 2016). The "
                        "cohorts keep their dates; a longer span gives the analyses more history to read")
    s.set_defaults(func=_simulate)

    v = sub.add_parser("validate", help="check a data directory against the data contract")
    v.add_argument("data_dir", help="directory with <table>.csv or <table>.parquet files, or an fsspec URL "
                                    "(s3://bucket/hr, gs://..., file:///...)")
    v.add_argument("--follow-symlinks", action="store_true",
                   help="read table files that link outside the data directory (refused by default)")
    v.set_defaults(func=_validate)

    p = sub.add_parser("plan", help="draw the next cohort's lottery among its applicants and preregister it")
    p.add_argument("--params", type=Path, required=True, help="the next cohort's params file (eligibility, strata, data)")
    p.add_argument("--applicants", type=Path, required=True, help="CSV with an employee_id column: who applied")
    p.add_argument("--out", type=Path, required=True, help="folder for assignment.csv and preregistration.json")
    p.add_argument("--share", type=float, default=0.5, help="share of each stratum offered a place (default 0.5)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the params' seed); the same seed "
                   "writes the same files")
    p.add_argument("--start", default=None, metavar="YYYY-MM-DD",
                   help="the cohort's start, when cohorts.csv does not list it yet (default: its start there, else "
                        "the data's last date); eligibility is judged on this day")
    p.set_defaults(func=_plan)

    r = sub.add_parser("run", help="execute every notebook for every params file and render HTML reports")
    r.add_argument("--params", type=Path, nargs="+", default=[Path("params")],
                   help="params files or directories of them (default params/)")
    r.add_argument("--notebooks", type=Path, nargs="+", default=None,
                   help="notebooks or directories of them (default: every numbered notebook shipped with the package, "
                        "whatever the working directory)")
    r.add_argument("--out", type=Path, default=Path("reports"), help="output directory (default reports/)")
    r.add_argument("--jobs", type=int, default=None, help="notebooks run in parallel (default: CPU count)")
    r.add_argument("--audience", choices=["stakeholder", "analyst"], default=None,
                   help="override every params file's audience (stakeholder hides code and small cells)")
    r.add_argument("--timeout", type=float, default=None, help="seconds allowed per notebook cell (default: none)")
    r.add_argument("--follow-symlinks", action="store_true",
                   help="read table files that link outside the data directory (refused by default)")
    r.add_argument("--force", action="store_true",
                   help="rerun every report, even those whose notebook, params, data and package are unchanged")
    r.add_argument("--executor", choices=["local", "dask"], default="local",
                   help="where reports run: local processes (default) or a Dask distributed cluster (--scheduler)")
    r.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="the Dask scheduler for --executor dask, e.g. tcp://10.0.0.5:8786; its workers must see the "
                        "same notebooks, params, data and output folder")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="replace one key of every params file for this run, e.g. --set period=quarter or "
                        "--set mentee_eligibility.min_tenure_months=12 (repeatable); its reports get folders of "
                        "their own (2023-spring--period-quarter)")
    r.add_argument("--pdf", nargs="?", const="summary", choices=["summary", "all"], default=None,
                   help="also print PDFs with headless Chromium: every cohort's summary (--pdf) or every page "
                        "(--pdf all)")
    r.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):  # bare `mentoring-eval`: the help, with examples
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MentoringEvalError as exc:
        text = exc.one_line() if hasattr(exc, "one_line") else str(exc)
        print(f"mentoring-eval: error: {text}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        print(f"mentoring-eval: error: out of memory ({str(exc)[:120] or 'MemoryError'}); a smaller company or "
              "cohort window, or a machine with more memory (docs/performance.md lists what each size needs)",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mentoring-eval: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`mentoring-eval validate DIR | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
