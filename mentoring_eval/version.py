"""The installed package version and a hash of its code, for provenance and cache keys (imports
nothing of the package)."""

import functools
import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("mentoring-eval")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"


@functools.cache
def code_fingerprint() -> str:
    """A hash of the package's own source and templates: a report or cached result computed by other
    code is not reused, even when the version number is the same (an editable install, a patched copy)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".json", ".css", ".html")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
