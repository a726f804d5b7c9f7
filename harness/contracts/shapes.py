"""Does a JSON value fit an OpenAPI schema? Every misfit with its JSON path and schema path.

A general JSON Schema validator answers yes or no with its own vocabulary; the contract
checks need to say *where* a pact's example leaves the provider's documented shape, in
both documents: ``$.items[0].sku`` in the pact, ``#/components/schemas/Line/properties/sku``
in the OpenAPI. The subset of OpenAPI 3.1 schema keywords FastAPI emits is covered: $ref,
type (also lists), anyOf/oneOf/allOf, enum/const, properties/required/
additionalProperties, items, and for requests pattern, min/max and length bounds.

``direction`` matters: a response example may leave out documented fields (a consumer reads
what it needs) but must not rely on undocumented ones; a request example must carry every
required field and satisfy the constraints the provider validates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["request", "response"]
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Misfit:
    json_path: str
    schema_path: str
    message: str


def pointer(*parts: str | int) -> str:
    """A JSON pointer fragment (``~`` and ``/`` escaped)."""
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return "#/" + "/".join(escaped)


def resolve(document: Mapping[str, Any], schema: Any, at: str) -> tuple[Any, str]:
    """Follow ``$ref`` chains; returns the schema and where it lives."""
    seen: set[str] = set()
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if ref in seen or not ref.startswith("#/"):
            break
        seen.add(ref)
        target: Any = document
        for raw in ref[2:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        if target is None:
            break
        schema, at = target, ref
    return schema, at


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _type_fits(value: Any, declared: Any) -> bool:
    types = declared if isinstance(declared, list) else [declared]
    actual = json_type(value)
    return actual in types or (actual == "integer" and "number" in types)


class _Walker:
    def __init__(self, document: Mapping[str, Any], direction: Direction) -> None:
        self.document = document
        self.direction = direction

    def walk(self, value: Any, schema: Any, path: str, at: str, depth: int = 0) -> list[Misfit]:
        schema, at = resolve(self.document, schema, at)
        if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
            return []
        for word in ("anyOf", "oneOf"):
            if isinstance(schema.get(word), list):
                return self._alternatives(value, schema[word], path, f"{at}/{word}", depth)
        found: list[Misfit] = []
        for index, part in enumerate(schema.get("allOf") or []):
            found += self.walk(value, part, path, f"{at}/allOf/{index}", depth + 1)
        if "type" in schema and not _type_fits(value, schema["type"]):
            return [*found, Misfit(path, f"{at}/type", self._wrong_type(value, schema["type"]))]
        if "const" in schema and value != schema["const"]:
            found.append(Misfit(path, f"{at}/const", f"{value!r} is not {schema['const']!r}"))
        if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
            allowed = ", ".join(repr(v) for v in schema["enum"])
            found.append(Misfit(path, f"{at}/enum", f"{value!r} is not one of {allowed}"))
        if isinstance(value, Mapping):
            found += self._object(value, schema, path, at, depth)
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                item_path = f"{path}[{index}]"
                found += self.walk(item, schema["items"], item_path, f"{at}/items", depth + 1)
        elif self.direction == "request":
            found += self._bounds(value, schema, path, at)
        return found

    def _wrong_type(self, value: Any, declared: Any) -> str:
        wanted = " or ".join(declared) if isinstance(declared, list) else str(declared)
        return f"{json_type(value)} {_short(value)} where the schema has {wanted}"

    def _alternatives(
        self, value: Any, options: list[Any], path: str, at: str, depth: int
    ) -> list[Misfit]:
        best: list[Misfit] | None = None
        for index, option in enumerate(options):
            misfits = self.walk(value, option, path, f"{at}/{index}", depth + 1)
            if not misfits:
                return []
            if best is None or len(misfits) < len(best):
                best = misfits
        return best or []

    def _object(
        self, value: Mapping[str, Any], schema: Mapping[str, Any], path: str, at: str, depth: int
    ) -> list[Misfit]:
        found: list[Misfit] = []
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            child = f"{path}.{key}"
            if isinstance(properties, Mapping) and key in properties:
                found += self.walk(
                    item, properties[key], child, f"{at}/properties/{_escape(key)}", depth + 1
                )
            elif isinstance(extra, Mapping):
                found += self.walk(item, extra, child, f"{at}/additionalProperties", depth + 1)
            elif isinstance(properties, Mapping) and extra is not True:
                known = ", ".join(sorted(properties)) or "none"
                found.append(
                    Misfit(
                        child,
                        f"{at}/properties",
                        f"field {key!r} is not in the schema (documented: {known})",
                    )
                )
        if self.direction == "request":
            for key in schema.get("required") or []:
                if key not in value:
                    found.append(
                        Misfit(path, f"{at}/required", f"required field {key!r} is missing")
                    )
        return found

    def _bounds(self, value: Any, schema: Mapping[str, Any], path: str, at: str) -> list[Misfit]:
        found: list[Misfit] = []
        if isinstance(value, str):
            pattern = schema.get("pattern")
            if isinstance(pattern, str) and re.search(pattern, value) is None:
                found.append(Misfit(path, f"{at}/pattern", f"{value!r} does not match {pattern}"))
            if len(value) > schema.get("maxLength", len(value)):
                found.append(Misfit(path, f"{at}/maxLength", f"{_short(value)} is too long"))
            if len(value) < schema.get("minLength", 0):
                found.append(Misfit(path, f"{at}/minLength", f"{value!r} is too short"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            for word in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                bound = schema.get(word)
                if not isinstance(bound, int | float) or isinstance(bound, bool):
                    continue
                if _breaks(word, value, bound):
                    message = f"{value!r} breaks {word} {bound}"
                    found.append(Misfit(path, f"{at}/{word}", message))
        return found


def _breaks(word: str, value: float, bound: float) -> bool:
    if word == "minimum":
        return value < bound
    if word == "maximum":
        return value > bound
    if word == "exclusiveMinimum":
        return value <= bound
    return value >= bound


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def misfits(
    value: Any,
    schema: Any,
    document: Mapping[str, Any],
    *,
    at: str,
    direction: Direction,
    path: str = "$",
) -> list[Misfit]:
    """Every place ``value`` leaves ``schema`` (found at ``at`` in ``document``)."""
    return _Walker(document, direction).walk(value, schema, path, at)
