"""API evolution: a service's current OpenAPI against its committed baseline.

Breaking (fails the check): a removed operation; a removed response status; a response
field removed, made optional, or given a type it did not have; a new required parameter or
request field; a parameter made required; a request type narrowed (a type, an enum value
or a bound that accepted a value no longer does); an enum value removed anywhere (a
response value consumers wait for is gone); an operation's ``operationId`` changed or
removed (generated clients call operations by it); a response link removed, or one whose
target (``operationRef``/``operationId``, compared as the operation they name) or whose
``parameters``/``requestBody`` changed (clients and tools following links break).
Everything else, e.g. a new operation, a new optional parameter, a new response field, a
new link or an ``operationId`` where there was none, is additive and listed without failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.contracts.openapi_check import METHODS
from harness.contracts.shapes import json_type, resolve

Direction = Literal["request", "response"]
_MAX_DEPTH = 48
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems")
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems")


@dataclass(frozen=True)
class Change:
    breaking: bool
    kind: str
    where: str
    detail: str = ""

    def render(self) -> str:
        tag = "BREAKING" if self.breaking else "additive"
        return f"{tag}: {self.kind}: {self.where}" + (f" ({self.detail})" if self.detail else "")


def _operations(document: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    found = {}
    for path, item in (document.get("paths") or {}).items():
        if isinstance(item, Mapping):
            for method in METHODS:
                if isinstance(item.get(method), Mapping):
                    found[path, method] = item[method]
    return found


def _types(schema: Any, document: Mapping[str, Any], depth: int = 0) -> set[str] | None:
    """The JSON types a schema admits; None means any."""
    schema, _ = resolve(document, schema, "")
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return None
    for word in ("anyOf", "oneOf"):
        if isinstance(schema.get(word), list):
            union: set[str] = set()
            for option in schema[word]:
                t = _types(option, document, depth + 1)
                if t is None:
                    return None
                union |= t
            return union
    declared = schema.get("type")
    if declared is None:
        if "properties" in schema:
            return {"object"}
        if "enum" in schema or "const" in schema:
            values = schema.get("enum") or [schema.get("const")]
            return {json_type(v) for v in values}
        return None
    return set(declared) if isinstance(declared, list) else {str(declared)}


def _covers(wide: set[str] | None, narrow: set[str] | None) -> bool:
    """Every value of ``narrow`` types is also of ``wide`` types (integer is a number)."""
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _main(schema: Any, document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The one non-null branch of an ``anyOf: [X, null]``, or the schema itself."""
    schema, _ = resolve(document, schema, "")
    if not isinstance(schema, Mapping):
        return None
    for word in ("anyOf", "oneOf"):
        options = schema.get(word)
        if isinstance(options, list):
            real = [o for o in options if _types(o, document) != {"null"}]
            if len(real) == 1:
                resolved, _ = resolve(document, real[0], "")
                return resolved if isinstance(resolved, Mapping) else None
            return None
    return schema


def _labels_by_id(document: Mapping[str, Any]) -> dict[str, str]:
    """Each ``operationId`` of ``document`` -> the operation's label, e.g. ``GET /x``."""
    found: dict[str, str] = {}
    for (path, method), op in _operations(document).items():
        op_id = op.get("operationId")
        if isinstance(op_id, str):
            found.setdefault(op_id, f"{method.upper()} {path}")
    return found


def _link_target(link: Mapping[str, Any], labels_by_id: Mapping[str, str]) -> str:
    """The operation a link leads to, as a label where the document names it, else as written.

    An ``operationRef`` into the same document and an ``operationId`` of that operation
    give the same label, so switching between the two spellings is no change.
    """
    ref = link.get("operationRef")
    if isinstance(ref, str):
        if ref.startswith("#/paths/"):
            parts = ref[len("#/paths/") :].split("/")
            if len(parts) == 2 and parts[1] in METHODS:
                path = parts[0].replace("~1", "/").replace("~0", "~")
                return f"{parts[1].upper()} {path}"
        return f"operationRef {ref}"
    op_id = link.get("operationId")
    if isinstance(op_id, str):
        return labels_by_id.get(op_id, f"operationId {op_id!r}")
    return "no operation"


class _Differ:
    def __init__(self, old_doc: Mapping[str, Any], new_doc: Mapping[str, Any]) -> None:
        self.old_doc = old_doc
        self.new_doc = new_doc
        self.old_ids = _labels_by_id(old_doc)
        self.new_ids = _labels_by_id(new_doc)
        self.changes: list[Change] = []

    def add(self, breaking: bool, kind: str, where: str, detail: str = "") -> None:
        self.changes.append(Change(breaking, kind, where, detail))

    def schema(self, old: Any, new: Any, where: str, direction: Direction, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            return
        old_types, new_types = _types(old, self.old_doc), _types(new, self.new_doc)
        if direction == "request" and not _covers(new_types, old_types):
            self.add(True, "type narrowed", where, f"{_show(old_types)} -> {_show(new_types)}")
            return
        if direction == "response" and not _covers(old_types, new_types):
            self.add(True, "type changed", where, f"{_show(old_types)} -> {_show(new_types)}")
            return
        old_s, new_s = _main(old, self.old_doc), _main(new, self.new_doc)
        if old_s is None or new_s is None:
            return
        self._enum(old_s, new_s, where, direction)
        if direction == "request":
            self._bounds(old_s, new_s, where)
        self._object(old_s, new_s, where, direction, depth)
        if "items" in old_s and "items" in new_s:
            self.schema(old_s["items"], new_s["items"], f"{where}[]", direction, depth + 1)

    def _enum(
        self, old: Mapping[str, Any], new: Mapping[str, Any], where: str, direction: Direction
    ) -> None:
        old_values, new_values = old.get("enum"), new.get("enum")
        if isinstance(new_values, list) and not isinstance(old_values, list):
            if direction == "request":
                self.add(True, "type narrowed", where, f"now restricted to {new_values}")
            return
        if not isinstance(old_values, list) or not isinstance(new_values, list):
            return
        for value in old_values:
            if value not in new_values:
                self.add(True, "enum value removed", where, repr(value))
        for value in new_values:
            if value not in old_values:
                self.add(False, "enum value added", where, repr(value))

    def _bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> None:
        for word in _UPPER_BOUNDS + _LOWER_BOUNDS:
            o, n = old.get(word), new.get(word)
            if not isinstance(n, int | float):
                continue
            if not isinstance(o, int | float) or (n < o if word in _UPPER_BOUNDS else n > o):
                self.add(True, "type narrowed", where, f"{word} {o} -> {n}")
        if new.get("pattern") is not None and new.get("pattern") != old.get("pattern"):
            change = f"pattern {old.get('pattern')} -> {new['pattern']}"
            self.add(True, "type narrowed", where, change)

    def _object(
        self,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        where: str,
        direction: Direction,
        depth: int,
    ) -> None:
        old_props = old.get("properties") or {}
        new_props = new.get("properties") or {}
        if not isinstance(old_props, Mapping) or not isinstance(new_props, Mapping):
            return
        old_req = set(old.get("required") or [])
        new_req = set(new.get("required") or [])
        for name in sorted(set(old_props) | set(new_props)):
            at = f"{where}.{name}"
            if name not in new_props:
                if direction == "response":
                    self.add(True, "field removed", at)
                elif new.get("additionalProperties") is False:
                    self.add(True, "field removed", at, "the request schema now refuses it")
                else:
                    self.add(False, "field removed", at, "request field no longer read")
                continue
            if name not in old_props:
                if direction == "request" and name in new_req:
                    self.add(True, "new required field", at)
                else:
                    self.add(False, "field added", at)
                continue
            if direction == "response" and name in old_req and name not in new_req:
                self.add(True, "field became optional", at)
            if direction == "request" and name in new_req and name not in old_req:
                self.add(True, "field became required", at)
            self.schema(old_props[name], new_props[name], at, direction, depth + 1)

    def operation(self, label: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self._operation_id(label, old, new)
        self._parameters(label, old, new)
        self._request_body(label, old, new)
        old_responses = old.get("responses") or {}
        new_responses = new.get("responses") or {}
        for status in sorted(set(old_responses) | set(new_responses)):
            at = f"{label} -> {status}"
            if status not in new_responses:
                self.add(True, "status removed", at)
            elif status not in old_responses:
                self.add(False, "status added", at)
            else:
                old_response, _ = resolve(self.old_doc, old_responses[status], "")
                new_response, _ = resolve(self.new_doc, new_responses[status], "")
                old_schema = _json_schema(old_response)
                new_schema = _json_schema(new_response)
                if old_schema is not None and new_schema is None:
                    self.add(True, "response body removed", at)
                elif old_schema is not None and new_schema is not None:
                    self.schema(old_schema, new_schema, f"{at} body $", "response")
                self._links(at, old_response, new_response)

    def _operation_id(self, label: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        old_id, new_id = old.get("operationId"), new.get("operationId")
        if old_id == new_id:
            return
        if new_id is None:
            self.add(True, "operationId removed", label, repr(old_id))
        elif old_id is None:
            self.add(False, "operationId added", label, repr(new_id))
        else:
            self.add(True, "operationId changed", label, f"{old_id!r} -> {new_id!r}")

    def _links(self, at: str, old_response: Any, new_response: Any) -> None:
        def index(response: Any, doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
            links = response.get("links") if isinstance(response, Mapping) else None
            if not isinstance(links, Mapping):
                return {}
            found = {}
            for name, raw in links.items():
                link, _ = resolve(doc, raw, "")
                found[str(name)] = link if isinstance(link, Mapping) else {}
            return found

        old_links = index(old_response, self.old_doc)
        new_links = index(new_response, self.new_doc)
        for name in sorted(set(old_links) | set(new_links)):
            where = f"{at} link {name}"
            if name not in new_links:
                self.add(True, "link removed", where)
                continue
            if name not in old_links:
                target = _link_target(new_links[name], self.new_ids)
                self.add(False, "link added", where, f"to {target}")
                continue
            old, new = old_links[name], new_links[name]
            old_target = _link_target(old, self.old_ids)
            new_target = _link_target(new, self.new_ids)
            if old_target != new_target:
                self.add(True, "link target changed", where, f"{old_target} -> {new_target}")
            changed = _changed_keys(old.get("parameters"), new.get("parameters"))
            if changed:
                self.add(True, "link parameters changed", where, changed)
            if old.get("requestBody") != new.get("requestBody"):
                detail = f"{old.get('requestBody')!r} -> {new.get('requestBody')!r}"
                self.add(True, "link requestBody changed", where, detail)

    def _parameters(self, label: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        def index(op: Mapping[str, Any], doc: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
            found = {}
            for raw in op.get("parameters") or []:
                param, _ = resolve(doc, raw, "")
                if isinstance(param, Mapping):
                    found[str(param.get("in")), str(param.get("name"))] = param
            return found

        old_params, new_params = index(old, self.old_doc), index(new, self.new_doc)
        for key in sorted(set(old_params) | set(new_params)):
            at = f"{label} {key[0]} parameter {key[1]}"
            if key not in old_params:
                required = bool(new_params[key].get("required"))
                self.add(required, "new required parameter" if required else "parameter added", at)
            elif key not in new_params:
                self.add(False, "parameter removed", at)
            else:
                if new_params[key].get("required") and not old_params[key].get("required"):
                    self.add(True, "parameter became required", at)
                self.schema(
                    old_params[key].get("schema"), new_params[key].get("schema"), at, "request"
                )

    def _request_body(self, label: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        old_body, new_body = old.get("requestBody"), new.get("requestBody")
        at = f"{label} request body"
        if not isinstance(new_body, Mapping):
            return
        if not isinstance(old_body, Mapping):
            if new_body.get("required"):
                self.add(True, "request body became required", at)
            return
        if new_body.get("required") and not old_body.get("required"):
            self.add(True, "request body became required", at)
        old_schema, new_schema = _json_schema(old_body), _json_schema(new_body)
        if old_schema is not None and new_schema is not None:
            self.schema(old_schema, new_schema, f"{at} $", "request")


def _json_schema(part: Any) -> Any | None:
    content = part.get("content") if isinstance(part, Mapping) else None
    if not isinstance(content, Mapping):
        return None
    for media, entry in content.items():
        if (media == "application/json" or media.endswith("+json")) and isinstance(entry, Mapping):
            return entry.get("schema")
    return None


def _changed_keys(old: Any, new: Any) -> str:
    """How two link ``parameters`` maps differ, e.g. ``order_id removed``; empty if equal."""
    old = old if isinstance(old, Mapping) else {}
    new = new if isinstance(new, Mapping) else {}
    parts = []
    for name in sorted(set(old) | set(new)):
        if name not in new:
            parts.append(f"{name} removed")
        elif name not in old:
            parts.append(f"{name} added")
        elif old[name] != new[name]:
            parts.append(f"{name}: {old[name]!r} -> {new[name]!r}")
    return ", ".join(parts)


def _show(types: set[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def diff(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
    """Every change from ``baseline`` to ``current``, breaking ones first."""
    differ = _Differ(baseline, current)
    old_ops, new_ops = _operations(baseline), _operations(current)
    for path, method in sorted(set(old_ops) | set(new_ops)):
        label = f"{method.upper()} {path}"
        if (path, method) not in new_ops:
            differ.add(True, "operation removed", label)
        elif (path, method) not in old_ops:
            differ.add(False, "operation added", label)
        else:
            differ.operation(label, old_ops[path, method], new_ops[path, method])
    return sorted(differ.changes, key=lambda c: (not c.breaking, c.where, c.kind))


def breaking(changes: Iterable[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]
