"""The fleet as a Compose file: the same services, infrastructure and Toxiproxy on every edge.

``harness fleet compose > compose.yaml`` writes what the harness runs, for any Docker host
(``docker compose up`` or Debian's ``docker-compose`` 1.29): a team can run the fleet it
tests, and grow from there. One file, nothing beside it:

- ``toxiproxy``: the server, API on 8474 (published on 127.0.0.1, a port of Docker's choice);
  every edge has a proxy listening in it on a port of its own (from 10000, in edge order),
  named ``<caller>__<callee>`` as the harness names them; a caller's variable points at
  ``toxiproxy:<port>``;
- ``setup``: a one-shot container that creates the proxies (Toxiproxy's ``/populate``) and
  each service's database, then exits; every service starts once it has succeeded
  (``service_completed_successfully``). It runs a small Python script (standard library,
  plus psycopg when there are databases) in the fleet's image (``containers.image``),
  which has both; ``--setup-image`` names another;
- one container per infrastructure server (PostgreSQL, Redis; images from configuration)
  and per service (its ``image:``, else ``containers.image``), listening on 8080 (or its
  fixed ``port``), published on 127.0.0.1 only.

The services' environment is the manifest's, with ``${service_dir}`` and ``${workdir}`` as
``/data`` (a tmpfs of the container's own). Why a setup container and not ``-config``: a config
file would be a second file beside compose.yaml, and the Toxiproxy image has no shell to
write one from the environment.
"""

from __future__ import annotations

import json
import string
from typing import Any

import yaml

from harness.errors import InputError
from harness.faults.toxiproxy import edge_to_proxy_name
from harness.fleet.containers import container_command, image_of
from harness.fleet.graph import EdgeKind, derive_edges
from harness.fleet.manifest import InfraKind, Manifest
from harness.fleet.templating import render_command

__all__ = ["COMPOSE_PROXY_BASE", "compose_document", "compose_yaml"]

COMPOSE_PROXY_BASE = 10000
TOXIPROXY_API = 8474
SERVICE_PORT = 8080
DATA = "/data"
_PG_USER = "harness"
_PG_PASSWORD = "harness"  # a local fleet's database, on a network of its own
_INFRA_PORTS = {InfraKind.POSTGRES: 5432, InfraKind.REDIS: 6379}

# The one-shot setup: wait for Toxiproxy and create the proxies; wait for each PostgreSQL
# and create the databases. Standard library, plus psycopg only when there are databases.
_SETUP = """\
import json, os, time, urllib.request
def retry(what, action, limit=120):
    deadline = time.monotonic() + limit
    while True:
        try:
            return action()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"setup: {what}: {exc}")
            time.sleep(0.5)
def populate():
    body = os.environ["HARNESS_PROXIES"].encode()
    request = urllib.request.Request(
        "http://toxiproxy:8474/populate", data=body, method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status in (200, 201), answer.status
retry("create the proxies", populate)
for url, names in json.loads(os.environ.get("HARNESS_DATABASES", "{}")).items():
    import psycopg
    def create(url=url, names=names):
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            for name in names:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if found.fetchone() is None:
                    conn.execute(f'CREATE DATABASE "{name}"')
    retry("create the databases", create)
print("setup: proxies and databases ready")
"""


def compose_document(
    manifest: Manifest,
    *,
    toxiproxy_image: str,
    postgres_image: str,
    redis_image: str,
    setup_image: str | None = None,
) -> dict[str, Any]:
    """The Compose document (a dict) of ``manifest``; :func:`compose_yaml` renders it."""
    setup = setup_image or (manifest.containers.image if manifest.containers else None)
    if setup is None:
        raise InputError(
            "the compose file's setup container needs an image with Python: give the "
            "manifest a `containers.image` or --setup-image"
        )
    edges = derive_edges(manifest)
    listen = {edge.name: COMPOSE_PROXY_BASE + index for index, edge in enumerate(edges)}
    ports = {
        name: spec.port if spec.port is not None else SERVICE_PORT
        for name, spec in manifest.services.items()
    }
    label = {"org.harness.fleet": manifest.name}
    proxies = []
    for edge in edges:
        if edge.kind is EdgeKind.HTTP:
            upstream = f"{edge.target}:{ports[edge.target]}"
        else:
            upstream = f"{edge.target}:{_INFRA_PORTS[manifest.infra[edge.target].kind]}"
        proxies.append(
            {
                "name": edge_to_proxy_name(edge.name),
                "listen": f"0.0.0.0:{listen[edge.name]}",
                "upstream": upstream,
                "enabled": True,
            }
        )
    services: dict[str, Any] = {
        "toxiproxy": {
            "image": toxiproxy_image,
            "command": ["-host=0.0.0.0", f"-port={TOXIPROXY_API}"],
            "ports": [f"127.0.0.1::{TOXIPROXY_API}"],
            "labels": label,
        }
    }
    databases: dict[str, list[str]] = {}
    for name, infra in sorted(manifest.infra.items()):
        if infra.kind is InfraKind.POSTGRES:
            services[name] = {
                "image": postgres_image,
                "environment": {
                    "POSTGRES_USER": _PG_USER,
                    "POSTGRES_PASSWORD": _PG_PASSWORD,
                    "POSTGRES_DB": "postgres",
                },
                "labels": label,
            }
            wanted = sorted(
                {
                    svc.database.name
                    for svc in manifest.services.values()
                    if svc.database is not None and svc.database.infra == name
                }
            )
            if wanted:
                databases[_pg_url(name, 5432, "postgres")] = wanted
        elif infra.kind is InfraKind.REDIS:
            services[name] = {"image": redis_image, "labels": label}
    services["setup"] = {
        "image": setup,
        "command": ["python3", "-c", _SETUP],
        "environment": {
            # One proxy a line: readable, and what a person edits when the fleet grows.
            "HARNESS_PROXIES": "[\n" + ",\n".join(json.dumps(p) for p in proxies) + "\n]\n",
            "HARNESS_DATABASES": json.dumps(databases),
        },
        "depends_on": ["toxiproxy", *sorted(n for n in databases_servers(manifest))],
        "labels": label,
        "restart": "no",
    }
    for name in manifest.services:
        services[name] = _service(manifest, name, ports[name], listen, label)
    return {"services": services}


def databases_servers(manifest: Manifest) -> set[str]:
    return {name for name, spec in manifest.infra.items() if spec.kind is InfraKind.POSTGRES}


def _pg_url(host: str, port: int, database: str) -> str:
    return f"postgresql://{_PG_USER}:{_PG_PASSWORD}@{host}:{port}/{database}"


def _service(
    manifest: Manifest,
    name: str,
    port: int,
    listen: dict[str, int],
    label: dict[str, str],
) -> dict[str, Any]:
    spec = manifest.services[name]
    # Each container is its own: its directory is /data, a tmpfs that exists at start.
    values = {"workdir": DATA, "root": DATA, "service": name, "service_dir": DATA}
    env = {
        key: string.Template(value).safe_substitute(values)
        for key, value in {**manifest.fleet_env(), **spec.rendered_env()}.items()
    }
    env[spec.host_env] = "0.0.0.0"
    env[spec.port_env] = str(port)
    env.setdefault("PYTHONUNBUFFERED", "1")
    for edge in derive_edges(manifest):
        if edge.source != name:
            continue
        address = f"toxiproxy:{listen[edge.name]}"
        if edge.kind is EdgeKind.HTTP:
            env[edge.env] = f"http://{address}"
        elif manifest.infra[edge.target].kind is InfraKind.POSTGRES:
            assert spec.database is not None
            env[edge.env] = f"postgresql://{_PG_USER}:{_PG_PASSWORD}@{address}/{spec.database.name}"
        else:
            env[edge.env] = f"redis://{address}/0"
    db = spec.database
    if db is not None and manifest.infra[db.infra].kind is InfraKind.SQLITE:
        env[db.env] = f"sqlite:///{DATA}/sqlite/{db.name}.db"
    service: dict[str, Any] = {"image": image_of(manifest, name)}
    command = container_command(spec)
    if command is not None:
        calls = {
            edge.target: f"http://toxiproxy:{listen[edge.name]}"
            for edge in derive_edges(manifest)
            if edge.source == name and edge.kind is EdgeKind.HTTP
        }
        command = render_command(command, host="0.0.0.0", port=port, calls=calls)
        service["command"] = [_literal(arg) for arg in command]
    if spec.image is None and manifest.containers is not None:
        service["working_dir"] = manifest.containers.workdir
    service["tmpfs"] = [DATA]
    service["environment"] = {key: _literal(value) for key, value in env.items()}
    service["ports"] = [f"127.0.0.1::{port}"]
    service["depends_on"] = {"setup": {"condition": "service_completed_successfully"}}
    service["labels"] = {**label, "org.harness.service": name}
    return service


def _literal(value: str) -> str:
    # Compose interpolates $VAR and ${VAR} from the shell running it; the manifest's values
    # mean what they say ($$ is Compose's literal dollar).
    return value.replace("$", "$$")


def compose_yaml(document: dict[str, Any]) -> str:
    header = (
        "# The fleet as the harness runs it: Toxiproxy on every edge, the proxies created by\n"
        "# the one-shot `setup` service. Written by `harness fleet compose`; edit freely.\n"
    )
    return header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=100)


class _Dumper(yaml.SafeDumper):
    """Block literals for multi-line strings (the setup script), no anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)
