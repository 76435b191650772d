"""Run one function over many simulated companies in a process pool, with progress on stderr."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def run(one_seed, tasks: list[tuple], jobs: int, every: int = 10) -> list[dict]:
    """Every record of `one_seed(*task)` over the tasks, in completion order."""
    start = time.perf_counter()
    found: list[dict] = []
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(one_seed, *task) for task in tasks]
        for done, future in enumerate(as_completed(futures), 1):
            found += future.result()
            if done % every == 0 or done == len(futures):
                print(f"{done}/{len(futures)} companies ({time.perf_counter() - start:.0f} s)", file=sys.stderr,
                      flush=True)
    return found
