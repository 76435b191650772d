"""Speed and peak memory of the causal engine on simulated employee-month panels (36 periods,
staggered cohorts), with csdid and pyfixest timed on the same data where they are installed.

Run:  .venv/bin/python benchmarks/did.py [--units 100000 1000000] [--reference-timeout 900]
Each workload runs in its own process so that its peak memory (max RSS) is its own. Figures go to
docs/performance.md with the date and the machine."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import time

WORKLOADS = ("att_gt", "att_gt_bootstrap", "twfe", "event_study", "cem_balance", "csdid", "pyfixest")


def _panel(n_units: int):
    from mentoring_eval.simulate import staggered_panel

    return staggered_panel(n_units, 36, cohorts=(7, 13, 19, 25), never_share=0.4, seed=0)[0]


def _run(workload: str, n_units: int, queue) -> None:
    import numpy as np
    import pandas as pd

    panel = _panel(n_units)
    start = time.perf_counter()
    if workload == "att_gt":
        from mentoring_eval.did import att_gt
        r = att_gt(panel, "y", "unit", "time", "cohort")
        r.aggregate("dynamic")
    elif workload == "att_gt_bootstrap":
        from mentoring_eval.did import att_gt
        att_gt(panel, "y", "unit", "time", "cohort", bootstrap=999, seed=1)
    elif workload == "twfe":
        from mentoring_eval.did import twfe
        twfe(panel, "y", "unit", "time", "treated")
    elif workload == "event_study":
        from mentoring_eval.did import event_study
        event_study(panel, "y", "unit", "time", "cohort", window=(-12, 12))
    elif workload == "cem_balance":
        from mentoring_eval.matching import balance_table, cem
        rng = np.random.default_rng(0)
        units = pd.DataFrame({"treated": (panel.groupby("unit")["cohort"].first() > 0).astype(int).to_numpy(),
                              "level": rng.integers(1, 7, n_units), "tenure": rng.exponential(4, n_units),
                              "department": rng.choice(list("ABCDEFGHI"), n_units)})
        start = time.perf_counter()
        units["w"] = cem(units, "treated", {"level": None, "department": None, "tenure": [1, 2, 5, 10]}).data["cem_weight"]
        balance_table(units, "treated", ["level", "tenure", "department"], weights="w")
    elif workload == "csdid":
        import warnings

        from csdid.att_gt import ATTgt
        warnings.simplefilter("ignore")
        ATTgt(yname="y", gname="cohort", idname="unit", tname="time", data=panel).fit(est_method="dr", bstrap=False)
    elif workload == "pyfixest":
        import warnings

        import pyfixest as pf
        warnings.simplefilter("ignore")
        pf.feols("y ~ treated | unit + time", data=panel, vcov={"CRV1": "unit"}).se()
    seconds = time.perf_counter() - start
    queue.put({"workload": workload, "units": n_units, "seconds": seconds,
               "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20})


def measure(workload: str, n_units: int, timeout: float) -> dict:
    queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(target=_run, args=(workload, n_units, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return {"workload": workload, "units": n_units, "seconds": None, "peak_gib": None, "note": f"> {timeout:.0f} s"}
    if proc.exitcode != 0 or queue.empty():
        return {"workload": workload, "units": n_units, "seconds": None, "peak_gib": None,
                "note": f"failed (exit {proc.exitcode})"}
    return queue.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per workload of ours")
    parser.add_argument("--reference-timeout", type=float, default=900, help="seconds for csdid / pyfixest")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d')} {platform.machine()} python {platform.python_version()}, 36 periods")
    print("| workload | units | rows | seconds | peak GiB |")
    print("|---|---:|---:|---:|---:|")
    rows = []
    for n in args.units:
        for w in args.workloads:
            if w in ("att_gt_bootstrap", "csdid") and n > 100_000:
                continue  # targets are set for 100k units only
            limit = args.reference_timeout if w in ("csdid", "pyfixest") else args.timeout
            r = measure(w, n, limit)
            rows.append(r)
            secs = f"{r['seconds']:.2f}" if r["seconds"] is not None else r["note"]
            peak = f"{r['peak_gib']:.2f}" if r["peak_gib"] is not None else ""
            print(f"| {w} | {n:,} | {n * 36:,} | {secs} | {peak} |", flush=True)
    by = {(r["workload"], r["units"]): r["seconds"] for r in rows}
    for ours, theirs in (("att_gt", "csdid"), ("twfe", "pyfixest")):
        for n in args.units:
            if by.get((ours, n)) and by.get((theirs, n)):
                print(f"{theirs} / {ours} at {n:,} units: {by[(theirs, n)] / by[(ours, n)]:.1f}x")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
