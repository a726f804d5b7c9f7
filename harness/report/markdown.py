"""Markdown pieces for reports read on GitHub: tables, collapsible sections, hidden markers.

GitHub-flavoured Markdown: a pipe inside a table cell must be escaped, a newline ends the
row, and HTML comments are invisible (a bot finds its own comment again by one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Align = Literal["left", "right", "center"]
_RULE = {"left": "---", "right": "---:", "center": ":---:"}


def cell(value: object) -> str:
    """Text safe inside a table cell: pipes escaped, newlines as <br>, None as an em dash."""
    if value is None:
        return "—"
    text = str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def code(text: object) -> str:
    """Inline code; backticks inside are kept by a longer fence."""
    value = str(text)
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    align: Sequence[Align] | None = None,
) -> str:
    """A GitHub table; ``align`` per column (left by default)."""
    if align is not None and len(align) != len(headers):
        raise ValueError("align needs one entry per column")
    aligns = list(align or ["left"] * len(headers))
    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join(_RULE[a] for a in aligns) + "|",
    ]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"row has {len(row)} cells, the table {len(headers)} columns")
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def details(summary: str, body: str, *, open_: bool = False) -> str:
    """A collapsible section; the blank lines let GitHub render Markdown inside it."""
    tag = "<details open>" if open_ else "<details>"
    return f"{tag}<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


def marker(name: str) -> str:
    """A hidden comment identifying a report (``<!-- harness:load:checkout -->``)."""
    if "--" in name:
        raise ValueError("a marker cannot contain '--'")
    return f"<!-- {name} -->"


def bullet_list(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def document(*blocks: str) -> str:
    """Blocks separated by blank lines (empty blocks skipped), ending with a newline."""
    return "\n\n".join(block.strip("\n") for block in blocks if block and block.strip()) + "\n"
