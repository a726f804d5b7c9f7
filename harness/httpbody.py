"""A response body, reported to a person whatever it is: JSON, HTML, plain text or bytes.

Fleets not written for the harness answer errors with framework pages (Flask's and
Werkzeug's HTML, a proxy's plain text): quoting 300 characters of ``<!doctype html>`` says
nothing, and calling ``.json()`` on them raises. :func:`describe_body` gives one line:
compact JSON, an HTML page's title and text, or the text itself; :func:`json_or_none`
parses only what is JSON.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx

__all__ = ["describe_body", "json_or_none"]

_LIMIT = 300
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SKIP = re.compile(r"<(script|style|head)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def json_or_none(response: httpx.Response) -> Any | None:
    """The parsed JSON body, or None when the body is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_body(response: httpx.Response, limit: int = _LIMIT) -> str:
    """One line about the body: ``(empty)``, compact JSON, ``HTML "title": text``, or text."""
    if not response.content:
        return "(empty body)"
    content_type = response.headers.get("content-type", "").lower()
    parsed = json_or_none(response)
    if parsed is not None and "html" not in content_type:
        return _shorten(json.dumps(parsed, separators=(",", ":"), ensure_ascii=False), limit)
    try:
        text = response.text
    except UnicodeDecodeError:
        return f"({len(response.content)} bytes of {content_type or 'unknown type'})"
    looks_html = "html" in content_type or text.lstrip()[:15].lower().startswith(
        ("<!doctype html", "<html")
    )
    if looks_html:
        title_match = _TITLE.search(text)
        title = _SPACE.sub(" ", html.unescape(title_match.group(1))).strip() if title_match else ""
        body = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", _SKIP.sub(" ", text)))).strip()
        if title and body.startswith(title):
            body = body[len(title) :].strip()
        line = f'HTML "{title}": {body}' if title else f"HTML: {body}"
        return _shorten(line, limit)
    return _shorten(_SPACE.sub(" ", text).strip(), limit)
