"""The `harness` command (console script ``harness = "harness.cli:app"``): an adapter like
``harness.pytest``, and the only package that imports rich or typer.

``app`` (the typer app), ``fleet``, ``contracts``, ``fuzz``, ``load`` (one module per command
group), ``progress`` (the live line of a load run), ``options`` (shared options, the
configuration and project they resolve to), ``exits`` (every exit code, in one place).
"""

from harness.cli.app import app

__all__ = ["app"]
