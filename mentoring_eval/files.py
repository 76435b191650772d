"""Output files: an exclusive lock for a read-modify-write that several processes share, a write
that never leaves half a file, text cells a spreadsheet will not run as formulas, and folder
names that stay inside the output folder whatever a cohort id holds."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting so as a formula


RESERVED = {"all-cohorts", "cache"}  # the cross-cohort report's folder; the private folder's data cache
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def folder_name(name: str) -> str:
    """A folder name for a cohort's reports: the id itself when it is a plain name (letters, digits,
    '.', '_', '-'; not a reserved folder), else a slug of it with a short hash of the whole id, so
    that no id ('../../x', '/srv/abs', 'a/b') can name a path outside the output folder and two ids
    never share a folder."""
    text = str(name)
    if _PLAIN.fullmatch(text) and text not in RESERVED and ".." not in text:
        return text
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "cohort"
    return f"{slug}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def private_dir(out: Path) -> Path:
    """The private folder beside a published one (reports -> reports-private): the validated-data
    cache (row-level), the kernels' log and failed reports' executed notebooks, which may show rows
    and ids; never inside what people share, never linked from the index."""
    out = Path(out).resolve()
    return out.with_name(f"{out.name}-private")


SCRATCH_ENV = "MENTORING_EVAL_SCRATCH"


def scratch_dir() -> Path:
    """Where a notebook run on its own (Jupyter, papermill) writes its estimates: $MENTORING_EVAL_SCRATCH,
    else mentoring-eval-scratch in the system's temporary folder; never the published reports, which
    only `mentoring-eval run` writes."""
    return Path(os.environ.get(SCRATCH_ENV) or Path(tempfile.gettempdir()) / "mentoring-eval-scratch")


def spreadsheet_safe(value):
    """A text cell that a spreadsheet would run as a formula, with a quote in front (OWASP's CSV
    injection rule); anything else unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def spreadsheet_text(value):
    """The inverse of spreadsheet_safe on read: the quote taken off again."""
    return value[1:] if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_START) else value


def atomic_write(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` through a temporary file beside it, so a reader never sees
    half of it."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(tmp)` on a temporary path beside `path`, then rename it into place; if writing
    fails (a full disk) the temporary file is removed and the error raised, `path` untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` for the length of the block (POSIX; no lock elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
