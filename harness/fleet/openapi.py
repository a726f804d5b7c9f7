"""A service's OpenAPI document, wherever the manifest says it is: served, or in a file.

``openapi: /openapi.json`` is a path the running service serves; ``openapi: docs/api.yaml``
(or ``{file: ...}``) a file beside the manifest, for services that do not serve their own
(JSON or YAML). Capabilities (fuzzing, contract checks) read documents through
:func:`openapi_document` so both forms work everywhere.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import yaml

from harness.errors import FleetError
from harness.fleet.manifest import ServiceSpec
from harness.httpbody import describe_body

__all__ = ["OpenApiUnavailable", "openapi_document"]

_TIMEOUT = httpx.Timeout(10.0, connect=2.0)


class OpenApiUnavailable(FleetError):
    """The document could not be read, or is not an OpenAPI document."""


def openapi_document(
    name: str, spec: ServiceSpec, base_url: str, http: httpx.Client | None = None
) -> tuple[str, dict[str, Any]]:
    """``(where it came from, the document)``; :class:`OpenApiUnavailable` otherwise."""
    file = spec.openapi_file
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
            document = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise OpenApiUnavailable(f"service {name}: cannot read {file}: {exc}") from exc
        source = str(file)
    else:
        path = spec.openapi_path
        if path is None:
            raise OpenApiUnavailable(f"service {name} has no OpenAPI (manifest: openapi is null)")
        source = base_url.rstrip("/") + path
        document = _fetch(name, source, http)
    if not isinstance(document, dict) or "paths" not in document:
        raise OpenApiUnavailable(f"service {name}: {source} is not an OpenAPI document")
    return source, document


def _fetch(name: str, url: str, http: httpx.Client | None) -> Any:
    client = http or httpx.Client(timeout=_TIMEOUT, trust_env=False)
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise OpenApiUnavailable(f"service {name}: GET {url}: {exc!r}") from exc
    finally:
        if http is None:
            client.close()
    if response.status_code != 200:
        raise OpenApiUnavailable(
            f"service {name}: GET {url} answered {response.status_code}: {describe_body(response)}"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise OpenApiUnavailable(f"service {name}: GET {url}: not JSON: {exc}") from exc
