"""Where a data directory lives: a local folder, or an fsspec URL (s3://, gs://, file://, ...).

A URL is read through fsspec, with pathlib's methods from universal-pathlib, so that a Dask worker
reads the tables itself and nothing is copied to the machine that submits the run. s3:// needs
s3fs and gs:// needs gcsfs (the `cloud` extra); credentials come from the usual places (the
environment, ~/.aws, the instance's role), never from params files.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ArgumentError, ParamsError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
             "abfss": "adlfs"}


def is_url(value) -> bool:
    """True for 'scheme://...' (a URL fsspec reads), False for a local path."""
    return bool(_SCHEME.match(str(value))) if isinstance(value, str) else is_remote(value)


def is_remote(path) -> bool:
    """True for a data directory read through fsspec (a URL), False for a local Path."""
    return not isinstance(path, Path) and hasattr(path, "protocol") and hasattr(path, "fs")


def data_path(value):
    """A local Path, or for a URL a pathlib-like UPath read through fsspec. A URL whose scheme needs a
    package that is not installed is an ArgumentError (a ValueError) naming it."""
    if is_remote(value):
        return value
    if isinstance(value, Path) or not is_url(value):
        return Path(value)
    from upath import UPath

    scheme = _SCHEME.match(value).group(1).lower()
    path = UPath(value)
    try:
        path.fs  # noqa: B018 - opens the scheme's filesystem: a missing package is said here, once
    except ImportError:
        package = _PACKAGES.get(scheme, f"the fsspec filesystem for {scheme}://")
        raise ArgumentError(f"{value}: reading {scheme}:// URLs needs {package} installed "
                            f"(pip install 'mentoring-eval[cloud]')") from None
    except ValueError as exc:
        raise ArgumentError(f"{value}: not a URL fsspec can read ({exc})") from None
    return path


def place(path) -> str:
    """One name per data directory, whichever way it was written: the resolved local path, or the
    URL without a trailing slash."""
    path = data_path(path)
    return str(path).rstrip("/") if is_remote(path) else str(path.resolve())


def file_digest(file, digest) -> None:
    """Feed a table file's identity to a hash: a local file's bytes; a URL's fsspec key (size,
    modification time and the store's ETag or checksum), so that a cloud bucket is not downloaded
    only to learn whether it changed."""
    if is_remote(file):
        digest.update(str(file.fs.ukey(file.path)).encode())
        return
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)



def is_folder(path) -> bool:
    """Whether a data directory exists. A store that cannot be reached (no credentials, no network,
    access denied) is a ParamsError saying so, not a traceback from deep inside fsspec."""
    try:
        return data_path(path).is_dir()
    except ArgumentError as exc:
        raise ParamsError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - each filesystem raises its own kinds
        raise ParamsError(f"data_dir {path} could not be reached ({type(exc).__name__}: {exc})") from None
