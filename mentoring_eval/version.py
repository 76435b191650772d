"""The installed package version, for provenance and cache keys (imports nothing of the package)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mentoring-eval")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
