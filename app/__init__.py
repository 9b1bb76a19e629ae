"""Langhouse: LLM tracing, prompt management and evaluation on ClickHouse.

The package root holds only the version; every subpackage documents what it may import.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("langhouse")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
