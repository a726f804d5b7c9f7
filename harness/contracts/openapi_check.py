"""Pact vs OpenAPI, statically: does every interaction stay inside the provider's document?

For each HTTP interaction: an operation for its method and path must exist; its query
parameters must be declared and the required ones present; required headers present; the
request body must fit the request schema; the response status must be documented; and the
response body the consumer expects must fit the documented response schema (fields the
consumer relies on must be documented, with the documented type). Each drift names the
interaction and the schema path. Message interactions have no OpenAPI and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from harness.contracts.pactfile import Interaction, InteractionKind, PactFile
from harness.contracts.shapes import misfits, pointer, resolve

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Drift:
    pact: str
    consumer: str
    provider: str
    description: str
    where: str
    schema_path: str
    message: str

    def render(self) -> str:
        return (
            f"{self.consumer} -> {self.provider}: {self.description}\n"
            f"  {self.where}: {self.message}\n"
            f"  schema: {self.schema_path}"
        )


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    spec: Mapping[str, Any]
    at: str
    path_params: dict[str, str]


def find_operation(document: Mapping[str, Any], method: str, path: str) -> Operation | None:
    """The operation serving ``method path``; literal segments beat templated ones."""
    segments = [unquote(s) for s in path.split("?", maxsplit=1)[0].strip("/").split("/")]
    best: tuple[int, Operation] | None = None
    for template, item in (document.get("paths") or {}).items():
        parts = template.strip("/").split("/")
        if len(parts) != len(segments) or not isinstance(item, Mapping):
            continue
        params: dict[str, str] = {}
        literal = 0
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not segment:
                    break
                params[part[1:-1]] = segment
            elif part == segment:
                literal += 1
            else:
                break
        else:
            op = item.get(method.lower())
            if isinstance(op, Mapping) and (best is None or literal > best[0]):
                at = pointer("paths", template, method.lower())
                best = (literal, Operation(template, method.lower(), op, at, params))
    return best[1] if best else None


def _json_schema(content: Any) -> tuple[Any, str] | None:
    if not isinstance(content, Mapping):
        return None
    for media, entry in content.items():
        if (media == "application/json" or media.endswith("+json")) and isinstance(entry, Mapping):
            return entry.get("schema"), media
    return None


def _parameters(op: Operation, document: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    found = []
    for index, raw in enumerate(op.spec.get("parameters") or []):
        param, at = resolve(document, raw, f"{op.at}/parameters/{index}")
        if isinstance(param, Mapping):
            found.append((param, at))
    return found


def _coerce(value: str, schema: Any) -> Any:
    """Query and path values are text; read them as the declared scalar type for the check."""
    declared = schema.get("type") if isinstance(schema, Mapping) else None
    if declared == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    if declared == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if declared == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def check_interaction(
    pact: PactFile, interaction: Interaction, document: Mapping[str, Any]
) -> list[Drift]:
    def drift(where: str, schema_path: str, message: str) -> Drift:
        return Drift(
            pact.path.name,
            pact.consumer,
            pact.provider,
            interaction.description,
            where,
            schema_path,
            message,
        )

    request = f"{interaction.method} {interaction.path}"
    op = find_operation(document, interaction.method, interaction.path)
    if op is None:
        documented = [
            f"{m.upper()} {t}"
            for t, item in sorted((document.get("paths") or {}).items())
            for m in METHODS
            if isinstance(item, Mapping) and m in item
        ]
        return [
            drift(
                request,
                "#/paths",
                f"{pact.provider}'s OpenAPI has no operation for {request} "
                f"(documented: {', '.join(documented) or 'none'})",
            )
        ]
    found: list[Drift] = []
    params = _parameters(op, document)
    query = interaction.query
    headers = {k.lower() for k in interaction.request_headers}
    for param, at in params:
        name, where_in = str(param.get("name")), param.get("in")
        if where_in == "query" and name in query:
            for value in query[name]:
                for m in misfits(
                    _coerce(value, param.get("schema")),
                    param.get("schema"),
                    document,
                    at=f"{at}/schema",
                    direction="request",
                    path=f"query {name}",
                ):
                    found.append(drift(request, m.schema_path, m.message))
        elif where_in == "path" and name in op.path_params:
            for m in misfits(
                _coerce(op.path_params[name], param.get("schema")),
                param.get("schema"),
                document,
                at=f"{at}/schema",
                direction="request",
                path=f"path {name}",
            ):
                found.append(drift(request, m.schema_path, f"path parameter {name}: {m.message}"))
        elif param.get("required") and where_in == "query":
            found.append(drift(request, at, f"required query parameter {name!r} is missing"))
        elif param.get("required") and where_in == "header" and name.lower() not in headers:
            found.append(drift(request, at, f"required header {name!r} is missing"))
    declared_query = {str(p.get("name")) for p, _ in params if p.get("in") == "query"}
    for name in sorted(set(query) - declared_query):
        found.append(
            drift(request, f"{op.at}/parameters", f"query parameter {name!r} is not declared")
        )
    found += _request_body(interaction, op, document, drift, request)
    found += _response(interaction, op, document, drift, request)
    return found


def _request_body(
    interaction: Interaction, op: Operation, document: Mapping[str, Any], drift: Any, request: str
) -> list[Drift]:
    body = interaction.request_body
    spec = op.spec.get("requestBody")
    at = f"{op.at}/requestBody"
    if body is None:
        if isinstance(spec, Mapping) and spec.get("required"):
            why = "the operation requires a request body; the pact sends none"
            return [drift(request, at, why)]
        return []
    if not isinstance(spec, Mapping):
        return [drift(request, op.at, "the pact sends a body; the operation documents none")]
    found = _json_schema(spec.get("content"))
    if found is None:
        return []
    schema, media = found
    return [
        drift(f"{request} request body {m.json_path}", m.schema_path, m.message)
        for m in misfits(
            body,
            schema,
            document,
            at=f"{at}/content/{media.replace('/', '~1')}/schema",
            direction="request",
        )
    ]


def _response(
    interaction: Interaction, op: Operation, document: Mapping[str, Any], drift: Any, request: str
) -> list[Drift]:
    responses = op.spec.get("responses") or {}
    status = str(interaction.status)
    key = next(
        (k for k in (status, f"{status[0]}XX", f"{status[0]}xx", "default") if k in responses),
        None,
    )
    at = f"{op.at}/responses"
    if key is None:
        documented = ", ".join(sorted(str(k) for k in responses)) or "none"
        return [
            drift(
                f"{request} -> {status}",
                at,
                f"status {status} is not documented (documented: {documented})",
            )
        ]
    body = interaction.response_body
    response = responses[key]
    if body is None or not isinstance(response, Mapping):
        return []
    found = _json_schema(response.get("content"))
    where = f"{request} -> {status} response body"
    if found is None:
        return [drift(where, f"{at}/{key}", "the pact expects a JSON body; none is documented")]
    schema, media = found
    return [
        drift(f"{where} {m.json_path}", m.schema_path, m.message)
        for m in misfits(
            body,
            schema,
            document,
            at=f"{at}/{key}/content/{media.replace('/', '~1')}/schema",
            direction="response",
        )
    ]


def check_pact(pact: PactFile, document: Mapping[str, Any]) -> list[Drift]:
    """Every drift of the pact's HTTP interactions from the provider's OpenAPI ``document``."""
    found: list[Drift] = []
    for interaction in pact.interactions:
        if interaction.kind is InteractionKind.HTTP:
            found += check_interaction(pact, interaction, document)
    return found
