"""What fleets not written for the harness need from the manifest: readiness without HTTP,
an OpenAPI file, placeholders in `command:`, and the `smoke:` section, each validated with
file, line and field."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import httpx
import psutil
import pytest

from harness.errors import ManifestError, ServiceNotReadyError
from harness.fleet.launch import launch
from harness.fleet.manifest import load_manifest
from harness.fleet.openapi import OpenApiUnavailable, openapi_document
from harness.fleet.readiness import ReadinessSpec
from harness.fleet.templating import render_command
from harness.httpbody import describe_body, json_or_none

from .conftest import TOXIPROXY_BIN, WriteManifest, standin_service


def errors_of(write_manifest: WriteManifest, text: str) -> tuple[Path, str]:
    path = write_manifest(textwrap.dedent(text))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    return path, str(caught.value)


# --- readiness ---------------------------------------------------------------------------


def test_every_readiness_form_loads(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        textwrap.dedent(
            """\
            version: 1
            services:
              web: {command: web, readiness: /health-check}
              grpc: {command: grpc, readiness: {tcp: true}}
              fixed: {command: fixed, readiness: {tcp: 9000}}
              worker: {command: worker, readiness: {log: "consumer started"}}
              cron: {command: cron, readiness: {alive: 1.5}}
            """
        )
    )
    services = load_manifest(path).services
    assert services["web"].ready_check == ReadinessSpec(http="/health-check")
    assert services["grpc"].ready_check.port(4321) == 4321
    assert services["fixed"].ready_check.port(4321) == 9000
    assert services["worker"].ready_check.log == "consumer started"
    assert services["cron"].ready_check.describe("http://x", 1) == "the process alive for 1.5 s"


@pytest.mark.parametrize(
    ("readiness", "line", "why"),
    [
        ("{tcp: true, log: x}", 4, "give exactly one of http"),
        ("{}", 4, "got none"),
        ('{log: "(unclosed"}', 4, "not a regular expression"),
        ("{alive: 0}", 4, "greater than 0"),
        ("{grpc: true}", 4, "grpc: unknown field"),
        ("health", 4, "a path starting with / or one of {http: path}"),
    ],
)
def test_bad_readiness_is_reported_with_its_line(
    write_manifest: WriteManifest, readiness: str, line: int, why: str
) -> None:
    path, message = errors_of(
        write_manifest,
        f"""\
        version: 1
        services:
          a:
            readiness: {readiness}
            command: a
        """,
    )
    assert f"{path}:{line}: services.a.readiness" in message
    assert why in message
    assert message.count("\n") == 0  # one error, not one per form the field accepts


# --- openapi as a file -------------------------------------------------------------------


def test_openapi_may_be_a_file_beside_the_manifest(
    write_manifest: WriteManifest, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.yaml").write_text("openapi: 3.0.3\npaths: {/x: {get: {}}}\n")
    path = write_manifest(
        "version: 1\nservices:\n  a: {command: a, openapi: docs/api.yaml}\n"
        "  b: {command: b, openapi: null}\n  c: {command: c}\n"
    )
    services = load_manifest(path).services
    assert services["a"].openapi_file == (tmp_path / "docs" / "api.yaml").resolve()
    assert services["a"].openapi_path is None
    source, document = openapi_document("a", services["a"], "http://127.0.0.1:1")
    assert source.endswith("docs/api.yaml")
    assert list(document["paths"]) == ["/x"]
    assert services["b"].openapi is None
    assert services["c"].openapi_path == "/openapi.json"
    with pytest.raises(OpenApiUnavailable, match="openapi is null"):
        openapi_document("b", services["b"], "http://127.0.0.1:1")


def test_a_missing_openapi_file_is_a_manifest_error(write_manifest: WriteManifest) -> None:
    path, message = errors_of(
        write_manifest, "version: 1\nservices:\n  a:\n    command: a\n    openapi: nope.json\n"
    )
    assert f"{path}:5: services.a.openapi: file: no such OpenAPI file:" in message
    assert message.count("\n") == 0  # one error, not one per form the field accepts


# --- placeholders in command -------------------------------------------------------------


def test_command_placeholders_are_rendered_and_other_braces_kept() -> None:
    argv = ["srv", "--port={port}", "--bind", "{host}", "{calls.b}/x", '{"json": 1}', "{other}"]
    rendered = render_command(argv, host="127.0.0.1", port=81, calls={"b": "http://p:2"})
    assert rendered == [
        "srv",
        "--port=81",
        "--bind",
        "127.0.0.1",
        "http://p:2/x",
        '{"json": 1}',
        "{other}",
    ]


def test_a_placeholder_for_an_unknown_callee_is_a_manifest_error(
    write_manifest: WriteManifest,
) -> None:
    path, message = errors_of(
        write_manifest,
        """\
        version: 1
        services:
          a:
            command: [srv, --upstream, "{calls.c}"]
            calls: {b: {env: B_URL}}
          b: {command: b}
        """,
    )
    assert f"{path}:4: services.a.command[2]: {{calls.c}}: 'c' is not in this service's calls" in (
        message
    )
    assert "(calls: b)" in message


# --- the smoke section -------------------------------------------------------------------

SMOKE_BASE = """\
version: 1
services:
  a: {command: a, calls: {b: {env: B_URL}}}
  b: {command: b}
smoke:
"""


def test_a_smoke_section_loads(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        SMOKE_BASE
        + textwrap.indent(
            textwrap.dedent(
                """\
                headers: {Authorization: "Bearer {token}"}
                setup: [{method: post, service: b, path: /token, save: {token: t}}]
                request: {service: a, path: "/x/{run_id}", json: {id: "{uuid}"}, expect: 202}
                poll: {service: a, path: /y, until: state, equals: done}
                fault: {edge: a->b}
                """
            ),
            "  ",
        )
    )
    smoke = load_manifest(path).smoke
    assert smoke is not None
    assert smoke.setup[0].method == "POST"
    assert smoke.request.expect == [202]
    assert smoke.request.body == {"id": "{uuid}"}
    assert smoke.fault is not None
    assert smoke.fault.latency_ms == 300
    assert smoke.samples == 5


@pytest.mark.parametrize(
    ("smoke", "where", "why"),
    [
        ("  request: {service: c}\n", ":6: smoke.request.service", "unknown service 'c'"),
        ("  request: {path: /}\n", ":6: smoke.request", "name the service to ask"),
        (
            "  request: {service: a}\n  fault: {edge: b->a}\n",
            ":7: smoke.fault.edge",
            "unknown edge 'b->a' (edges: a->b)",
        ),
        (
            '  request: {service: a, path: "/o/{order}"}\n',
            ":6: smoke.request.path",
            "{order}: no earlier step saves 'order'",
        ),
        (
            '  headers: {X: "{tok}"}\n  request: {service: a}\n',
            ":6: smoke.headers",
            "{tok}: no step saves 'tok'",
        ),
        ("  request: {service: a, method: FETCH}\n", ":6: smoke.request.method", "FETCH"),
        ("  request: {service: a}\n  samples: 0\n", ":7: smoke.samples", "greater than"),
    ],
)
def test_a_bad_smoke_section_is_reported_with_its_line(
    write_manifest: WriteManifest, smoke: str, where: str, why: str
) -> None:
    path, message = errors_of(write_manifest, SMOKE_BASE + smoke)
    assert f"{path}{where}" in message
    assert why in message


# --- response bodies ---------------------------------------------------------------------


def test_bodies_are_described_whatever_their_type() -> None:
    page = (
        "<!doctype html><html><head><title>500 Internal Server Error</title>"
        "<style>p{}</style></head><body><h1>Internal Server Error</h1><p>The server "
        "encountered an internal error &amp; gave up.</p></body></html>"
    )
    html = httpx.Response(500, text=page, headers={"content-type": "text/html; charset=utf-8"})
    assert describe_body(html) == (
        'HTML "500 Internal Server Error": Internal Server Error The server encountered an '
        "internal error & gave up."
    )
    assert json_or_none(html) is None
    plain = httpx.Response(502, text="upstream connect error\n  or disconnect")
    assert describe_body(plain) == "upstream connect error or disconnect"
    data = httpx.Response(422, json={"detail": [{"loc": ["body"], "msg": "bad"}]})
    assert describe_body(data) == '{"detail":[{"loc":["body"],"msg":"bad"}]}'
    assert json_or_none(data) == {"detail": [{"loc": ["body"], "msg": "bad"}]}
    assert describe_body(httpx.Response(204)) == "(empty body)"
    assert describe_body(httpx.Response(200, text="x" * 1000), limit=20) == "x" * 17 + "..."


# --- non-HTTP services in a running fleet ------------------------------------------------

WORKER = [
    sys.executable,
    "-c",
    # Prints its arguments (the rendered placeholders), then a line the readiness waits for.
    "import sys, time; print(sys.argv[1:], flush=True); time.sleep(0.3); "
    "print('consumer started', flush=True); time.sleep(600)",
]


@pytest.mark.slow
def test_services_without_http_become_ready_by_tcp_log_and_time(
    write_manifest: WriteManifest, tmp_path: Path
) -> None:
    manifest = {
        "version": 1,
        "services": {
            "web": standin_service("web", readiness={"tcp": True}, openapi=None),
            "worker": {
                "command": [*WORKER, "{port}", "{host}", "{calls.web}"],
                "calls": {"web": {"env": "WEB_URL"}},
                "readiness": {"log": "^consumer started$"},
                "openapi": None,
            },
            "cron": {
                "command": [sys.executable, "-c", "import time; time.sleep(600)"],
                "readiness": {"alive": 0.5},
                "openapi": None,
            },
        },
    }
    with launch(
        write_manifest(manifest), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=tmp_path
    ) as fleet:
        assert all(fleet.is_ready(name) for name in fleet.services)
        assert fleet.services["cron"].ready_seconds is not None
        assert fleet.services["cron"].ready_seconds >= 0.5
        # {calls.web} is the edge's proxy, as WEB_URL is; {port} the worker's own port.
        worker = fleet.services["worker"]
        proxy = fleet.edges["worker->web"].listen.address
        assert worker.env["WEB_URL"] == f"http://{proxy}"
        args = [line for line in fleet.logs("worker").splitlines() if line.startswith("[")]
        assert args == [str([str(worker.port), "127.0.0.1", f"http://{proxy}"])]
        # A restart counts only the log lines written since: not ready until it logs again.
        worker.process.kill()
        worker.process.start()
        assert not fleet.is_ready("worker")
        fleet.wait_ready("worker", timeout=10)


@pytest.mark.slow
def test_a_worker_that_never_logs_its_line_fails_the_start_saying_what_was_awaited(
    write_manifest: WriteManifest, tmp_path: Path
) -> None:
    manifest = {
        "version": 1,
        "services": {
            "w": {
                "command": [*WORKER],
                "readiness": {"log": "never printed"},
                "ready_timeout": 1,
            }
        },
    }
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(ServiceNotReadyError) as caught:
        launch(write_manifest(manifest), toxiproxy_bin=TOXIPROXY_BIN, temp_parent=tmp_path)
    assert "a log line matching 'never printed'" in str(caught.value)
    assert "consumer started" in str(caught.value)  # the log's tail
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before


def test_fleet_describe_stays_json(write_manifest: WriteManifest) -> None:
    # The JSON Schema of the manifest (for editors) takes the new forms.
    from harness.fleet.manifest import Manifest

    schema = json.dumps(Manifest.model_json_schema())
    assert "ReadinessSpec" in schema
    assert "SmokeSpec" in schema


PRICES_OPENAPI = """\
openapi: 3.0.3
info: {title: b, version: "1"}
paths:
  /hello:
    get:
      responses:
        "200":
          description: who answered
          content:
            application/json:
              schema:
                type: object
                required: [service]
                properties: {service: {type: string}}
"""


@pytest.mark.slow
def test_a_service_without_a_served_openapi_is_fuzzed_from_its_file(
    write_manifest: WriteManifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    (tmp_path / "b-openapi.yaml").write_text(PRICES_OPENAPI)
    manifest = {
        "version": 1,
        "services": {"b": standin_service("b", openapi="b-openapi.yaml")},
    }
    path = write_manifest(manifest)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_TOXIPROXY_BIN", str(TOXIPROXY_BIN))
    result = CliRunner().invoke(
        app,
        ["fuzz", "--manifest", str(path), "--seed", "7", "--max-examples", "5"],
        catch_exceptions=False,
    )
    # The stand-in's stdlib server answers an undeclared method (TRACE) with 501: a real
    # finding, from a document the service itself never serves.
    assert result.exit_code == 1, result.output
    assert "Wrong response to undeclared method [unsupported_method] at b GET /hello" in (
        result.output
    )
    report = json.loads((tmp_path / "reports" / "fuzz" / "fuzz.json").read_text())
    assert report["cases"] > 0
    assert report["new_failures"] >= 1
