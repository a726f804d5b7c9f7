"""The fuzz fleet's own environment: the manifest with fuzz.yaml's per-service overrides.

Fuzzing sends thousands of requests in a minute: a gateway rate limit of 10 per second
would turn most of them into 429s and leave the routes behind it untested. Rather than
edit the manifest (which describes the fleet as it really runs), fuzz.yaml overrides a
service's variables for the fuzz run only.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.fleet.manifest import Manifest


def with_env(manifest: Manifest, overrides: Mapping[str, Mapping[str, str]]) -> Manifest:
    """The manifest with ``overrides[service]`` merged over each service's ``env``.

    Services the manifest does not have (a subset was started) are ignored.
    """
    services = dict(manifest.services)
    for name, env in overrides.items():
        spec = services.get(name)
        if spec is None or not env:
            continue
        services[name] = spec.model_copy(update={"env": {**spec.env, **env}})
    # model_copy keeps the manifest's source path, so its root directory resolves the same.
    return manifest.model_copy(update={"services": services})
