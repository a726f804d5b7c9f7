"""Contract and chaos testing harness for microservice fleets.

Entry points: the `harness` command (the harness.cli package), the pytest plugin
(harness.pytest_plugin) and, for code, `harness.fleet.launch` with the `Fleet` handle.
Importing this package imports nothing else, so the plugin costs nothing until used.
"""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("harness")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"
