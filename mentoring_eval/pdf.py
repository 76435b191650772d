"""PDFs of the rendered reports, printed by headless Chromium from the same HTML readers open, so
the PDF is what the browser shows under the pages' print rules (no second layout engine to keep in
step). Chromium comes from the system (Debian: `apt-get install chromium`) or the path in
MENTORING_EVAL_CHROMIUM."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import MentoringEvalError

CHROMIUM_ENV = "MENTORING_EVAL_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SUMMARY = "06_summary"


def browser() -> str:
    """The Chromium to print with, or a one-line error saying how to get one."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        if shutil.which(named):
            return str(shutil.which(named))
        raise MentoringEvalError(f"{CHROMIUM_ENV}={named}: no such program; point it at a Chromium or Chrome binary")
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise MentoringEvalError("--pdf needs headless Chromium: install it (Debian: apt-get install chromium) or set "
                             f"{CHROMIUM_ENV} to its path")


def to_pdf(page: Path, pdf: Path | None = None, timeout: float = 120) -> Path:
    """Print one rendered HTML page to PDF (A4, the page's print styles, no browser header or
    footer) beside it or at `pdf`; written to a temporary file and renamed, so a reader never opens
    half a PDF."""
    page = Path(page).resolve()
    pdf = Path(pdf) if pdf else page.with_suffix(".pdf")
    tmp = pdf.with_name(f".{pdf.name}.tmp-{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="mentoring-eval-chromium-") as profile:
        cmd = [browser(), "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-extensions", f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={tmp}", page.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(2, "--no-sandbox")  # Chromium refuses to run as root inside its sandbox
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise MentoringEvalError(f"{page}: Chromium did not print it to PDF within {timeout:.0f} s") from None
    if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise MentoringEvalError(f"{page}: Chromium could not print it to PDF (exit {done.returncode}: {last})")
    os.replace(tmp, pdf)
    return pdf


def write(out: Path, pages: str = "summary", echo: Callable[[str], None] | None = None) -> list[Path]:
    """PDFs of a run's rendered reports: every cohort's summary (pages="summary") or every page
    ("all"); a PDF newer than its page is kept. Returns the PDFs."""
    out = Path(out)
    found = sorted(out.glob(f"*/{SUMMARY}.html" if pages == "summary" else "*/*.html"))
    made = []
    for page in found:
        pdf = page.with_suffix(".pdf")
        if not pdf.exists() or pdf.stat().st_mtime < page.stat().st_mtime:
            if echo:
                echo(f"pdf     {page.parent.name} / {page.stem}")
            to_pdf(page, pdf)
        made.append(pdf)
    return made
