"""JSON integers as the OpenAPI publishes them: ``1.0`` is an integer, ``"1"`` and ``true`` not.

The services' OpenAPI (3.1, JSON Schema 2020-12) declares these fields ``integer``, and
JSON Schema counts any number with a zero fractional part as one, so every client that
validates against the published schema may send ``1.0`` (Python's ``json.dumps`` of a
float does). Refusing it would contradict our own contract. Lax coercion stays off:
strings, booleans and ``1.5`` are still refused (422).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator


def _integral_number(value: object) -> object:
    # type() rather than isinstance(): bool is an int subclass and must stay refused.
    if type(value) is float and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_integral_number)]
"""An ``int`` field of a strict model that also takes integral JSON numbers such as 1.0."""
