"""pytest-specific collection code of the plugin (the only place besides
``harness/pytest_plugin.py`` that imports pytest)."""
