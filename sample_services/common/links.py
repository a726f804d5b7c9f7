"""OpenAPI links: which operation an answer leads to, and which of its fields to pass on.

A link names its target by ``operationRef`` (a JSON pointer to the path and method), not by
``operationId``: FastAPI derives operation ids from handler names, so renaming a handler
would break an ``operationId`` link, while the path and method are the API itself (and the
operation ids stay as they were). Schemathesis' stateful phase follows these links, e.g.
``POST /orders`` -> 202 -> ``GET /orders/{order_id}``: it infers links only from a 201 with
a Location or from ids in response bodies, so it found none in orders' 202.

```python
GET_ORDER = link("GET", "/orders/{order_id}", "The order", order_id="order_id")
responses={202: {"links": {"GetOrder": GET_ORDER}}}
```
"""

from __future__ import annotations

from typing import Any


def operation_ref(method: str, path: str) -> str:
    """``#/paths/~1orders~1{order_id}/get``: the operation as a JSON pointer (RFC 6901)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return f"#/paths/{pointer}/{method.lower()}"


def response_field(field: str, template: str = "{}") -> str:
    """A runtime expression for a top-level field of the response body.

    ``template`` embeds it in a string (``"reserve-{}"``; OpenAPI's ``{expression}`` form).
    """
    expression = f"$response.body#/{field}"
    return expression if template == "{}" else template.replace("{}", "{" + expression + "}")


def link(
    method: str,
    path: str,
    description: str,
    *,
    request_body: dict[str, Any] | None = None,
    **parameters: str,
) -> dict[str, Any]:
    """A link to ``METHOD path``; each parameter (by name) takes a field of the response body.

    ``request_body`` is the whole body to send, values may be :func:`response_field`
    expressions. It is marked for Schemathesis to send as given, as OpenAPI means it: by
    default Schemathesis merges a link's body into one it generates, whose extra array items
    (random skus, say) would make the request fail for reasons the link has nothing to do with.
    """
    definition: dict[str, Any] = {
        "operationRef": operation_ref(method, path),
        "description": description,
    }
    if parameters:
        definition["parameters"] = {
            name: response_field(field) for name, field in parameters.items()
        }
    if request_body is not None:
        definition["requestBody"] = request_body
        definition["x-schemathesis"] = {"merge_body": False}
    return definition
