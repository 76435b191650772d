"""The run log of a batch run: progress while it runs (plain lines, or a table updated in place in
a terminal), the summary grid it ends with, and failures grouped by cohort and cause."""

from __future__ import annotations

import sys
import time

import pandas as pd

COLUMNS = ["cohort_id", "notebook", "status", "seconds", "html", "cell", "message"]


class Progress:
    """What a run is doing, one line per cohort x notebook: queued, running (seconds so far), done
    (seconds), skipped or failed. Plain lines as things happen, or a table updated in place."""

    def __init__(self, finished: list[dict], queued: list, echo=print, live: bool = False):
        self.rows = {(r["cohort_id"], r["notebook"]): {"status": r["status"], "seconds": r["seconds"],
                                                       "message": r["message"]} for r in finished}
        for job in queued:
            self.rows[job.key] = {"status": "queued", "seconds": 0.0, "message": "", "since": None}
        self.total = len(self.rows)
        self.count = 0
        self.echo = echo or (lambda line: None)
        self.live = None
        if live:
            self.count = len(finished)
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), get_renderable=self._table, refresh_per_second=4,
                             transient=True)
        else:
            for r in finished:
                if r["status"] == "skipped":
                    self.count += 1
                    self._line(r["status"], r["cohort_id"], r["notebook"], r["message"])
            before = pd.DataFrame(finished, columns=COLUMNS)
            for cohort, notebooks, _, message in failures(before):
                self.count += len(notebooks)
                self._line("failed", cohort, notebook_list(notebooks), message)

    def __enter__(self):
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.stop()

    def _line(self, status: str, cohort: str, notebook: str, tail: str = "", counted: bool = True) -> None:
        where = f"[{self.count}/{self.total}]" if counted else " " * len(f"[{self.count}/{self.total}]")
        self.echo(f"{where} {status:<6} {cohort} / {notebook} {tail}".rstrip())

    def started(self, key: tuple[str, str]) -> None:
        if self.rows[key]["status"] != "queued":  # the start signal came after the result
            return
        self.rows[key].update(status="running", since=time.perf_counter())
        if self.live is None:
            self._line("running", *key, counted=False)
        self.refresh()

    def finished(self, result: dict) -> dict:
        self.count += 1
        key = (result["cohort_id"], result["notebook"])
        self.rows[key].update(status=result["status"], seconds=result["seconds"], message=result["message"])
        if self.live is None:
            tail = f"({result['seconds']:.1f} s)" if result["status"] == "done" else result["message"]
            self._line(result["status"], *key, tail)
        self.refresh()
        return result

    def refresh(self) -> None:
        if self.live is not None:
            self.live.refresh()

    def _table(self):
        from rich.table import Table

        table = Table(title=f"mentoring-eval run: {self.count} of {self.total} reports", title_justify="left",
                      box=None, pad_edge=False)
        for name in ("cohort", "notebook", "status", "seconds", ""):
            table.add_column(name, justify="right" if name == "seconds" else "left", no_wrap=name != "")
        styles = {"done": "green", "skipped": "dim", "failed": "bold red", "running": "yellow", "queued": "dim"}
        height = (self.live.console.size.height if self.live is not None else 60) - 4
        rows = list(self.rows.items())
        if len(rows) > height:  # too many for the screen: finished ones are counted, not listed
            hidden = [k for k, r in rows if r["status"] in ("done", "skipped")]
            rows = [(k, r) for k, r in rows if r["status"] not in ("done", "skipped")]
            table.add_row("", f"{len(hidden)} finished", "", "", "")
        now = time.perf_counter()
        for (cohort, notebook), r in rows:
            seconds = now - r["since"] if r["status"] == "running" else r["seconds"]
            shown = f"{seconds:.0f}" if r["status"] in ("running", "done", "failed") else ""
            table.add_row(cohort, notebook, f"[{styles[r['status']]}]{r['status']}[/]", shown,
                          r["message"][:120] if r["status"] == "failed" else "")
        return table


def summary_text(results: pd.DataFrame) -> str:
    """The table a run ends with: cohorts by notebook (ok with seconds, unchanged, FAILED), then each
    failure with its cell and message."""
    if results.empty:
        return "no reports"
    label = {"done": lambda r: f"ok {r.seconds:.0f}s", "skipped": lambda r: "unchanged", "failed": lambda r: "FAILED"}
    grid = results.assign(shown=[label[r.status](r) for r in results.itertuples()])
    grid = grid.pivot(index="cohort_id", columns="notebook", values="shown").fillna("")
    grid.columns = [c.split("_", 1)[0] for c in grid.columns]
    lines = grid.to_string(index_names=False).splitlines()
    failed = results[results["status"] == "failed"]
    skipped = int((results["status"] == "skipped").sum())
    lines.append(f"{len(results) - len(failed)} of {len(results)} reports ok ({skipped} unchanged, not rerun), "
                 f"{len(failed)} failed")
    for cohort, notebooks, cell, message in failures(results):
        where = f" ({cell})" if cell else ""
        lines.append(f"  failed: {cohort} / {notebook_list(notebooks)}{where}: {message}")
    return "\n".join(lines)


def notebook_list(notebooks: list[str]) -> str:
    """'02_retention', or '7 notebooks (00_data_overview to 06_summary)'."""
    return notebooks[0] if len(notebooks) == 1 else f"{len(notebooks)} notebooks ({notebooks[0]} to {notebooks[-1]})"


def failures(results: pd.DataFrame) -> list[tuple[str, list[str], str, str]]:
    """Failed reports grouped by cohort and cause: (cohort_id, notebooks, cell, message), so that a
    bad params file or data set reads as one failure, not one per notebook."""
    failed = results[results["status"] == "failed"].fillna({"cell": "", "message": ""})
    grouped = failed.groupby(["cohort_id", "cell", "message"], sort=False)["notebook"].agg(list)
    return [(cohort, notebooks, cell, message) for (cohort, cell, message), notebooks in grouped.items()]


def default_echo(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
