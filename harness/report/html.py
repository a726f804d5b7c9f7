"""A self-contained HTML report page: headings, tables, notes and embedded PNG plots.

One file with no external assets (images inline as data URIs), so it can be opened from
a CI artifact as it is. Every text is escaped; only :meth:`Page.raw` takes markup.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
.pass { color: #1a7f37; font-weight: 600; } .fail { color: #cf222e; font-weight: 600; }
.muted { color: #666; } img { max-width: 100%; }
.badge { display: inline-block; padding: 0.2em 0.7em; border-radius: 1em; color: #fff; }
.badge.pass { background: #1a7f37; } .badge.fail { background: #cf222e; }
"""


@dataclass(frozen=True)
class Cell:
    """A table cell with a CSS class (``num`` right-aligns; ``pass``/``fail`` colour it)."""

    text: object
    css: str = ""


@dataclass
class Page:
    title: str
    parts: list[str] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> Page:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def paragraph(self, text: str, css: str = "") -> Page:
        attr = f' class="{html.escape(css)}"' if css else ""
        self.parts.append(f"<p{attr}>{html.escape(text)}</p>")
        return self

    def badge(self, text: str, passed: bool) -> Page:
        kind = "pass" if passed else "fail"
        self.parts.append(f'<p><span class="badge {kind}">{html.escape(text)}</span></p>')
        return self

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[object | Cell]]) -> Page:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = []
        for row in rows:
            cells = []
            for value in row:
                item = value if isinstance(value, Cell) else Cell(value)
                css = f' class="{html.escape(item.css)}"' if item.css else ""
                text = "—" if item.text is None else str(item.text)
                cells.append(f"<td{css}>{html.escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self.parts.append(
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )
        return self

    def image(self, png: bytes, alt: str) -> Page:
        data = base64.b64encode(png).decode("ascii")
        self.parts.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">')
        return self

    def link(self, href: str, text: str) -> Page:
        self.parts.append(f'<p><a href="{html.escape(href)}">{html.escape(text)}</a></p>')
        return self

    def raw(self, markup: str) -> Page:
        """Markup we generated ourselves (never user text)."""
        self.parts.append(markup)
        return self

    def render(self) -> str:
        title = html.escape(self.title)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{_STYLE}</style></head>\n<body>\n"
            f"<h1>{title}</h1>\n" + "\n".join(self.parts) + "\n</body></html>\n"
        )
