"""Report writers shared by the capabilities: Markdown, HTML, JUnit XML, JSON, PNG plots.

Generic pieces only (tables, collapsible sections, timeline plots with shaded windows, test
cases): what a load run or a chaos game day puts into them lives with that capability.
"""

__all__ = ["files", "github", "html", "junit", "markdown", "plots"]
