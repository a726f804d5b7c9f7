"""Fixtures shared by every suite live in tests/fixtures/, registered here."""

pytest_plugins = ["tests.fixtures.servers"]
