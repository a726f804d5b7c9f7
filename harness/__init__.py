"""Contract and chaos testing harness for microservice fleets.

Entry points: the `harness` command (the harness.cli package), the pytest plugin
(harness.pytest_plugin) and, for code, `harness.fleet.launch` with the `Fleet` handle.
Importing this package imports nothing else, so the plugin costs nothing until used (even
``__version__`` is read from the installed metadata only when asked for).
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("harness")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0+unknown"
