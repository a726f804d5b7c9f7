"""Proof that a user's own project works with nothing of this repository but the wheel.

The wheel is built from a copy of the package's sources, installed into a fresh virtual
environment in a temporary directory (dependencies from the package index or pip's
cache), and a small foreign fleet is written beside it: three Flask services (Flask comes
with the load extra, through Locust), started by `command:` (one with `flask run` and
FLASK_RUN_PORT/FLASK_RUN_HOST, one configured by flags through `{port}` and
`{calls.NAME}`, one worker without HTTP, ready by a log line), no OpenAPI, health at
/health-check, HTML error pages. Then, as its user would, in that directory:
`harness doctor` (Toxiproxy missing, and the next step), `harness setup toxiproxy` (into
a per-user cache of the test's own), `harness doctor` again, `harness fleet smoke`,
`harness load` with a small profile, `pytest` with the plugin's `fleet` and `edge`
fixtures, and a game-day. The environment is scrubbed of HARNESS_* variables and of this
repository's paths.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PRICES = """\
from flask import Flask, abort, jsonify

app = Flask(__name__)
PRICES = {"apple": 120, "pear": 90}


@app.get("/health-check")
def health():
    return "OK", 200, {"Content-Type": "text/plain"}


@app.get("/price/<item>")
def price(item):
    if item not in PRICES:
        abort(404)  # Flask's HTML error page
    return jsonify(item=item, cents=PRICES[item])
"""

FRONT = """\
import argparse
import json
import urllib.error
import urllib.request

from flask import Flask, abort, jsonify

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--prices", required=True)
args = parser.parse_args()
app = Flask(__name__)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@app.get("/health-check")
def health():
    return "OK"


@app.get("/quote/<item>")
def quote(item):
    try:
        with opener.open(f"{args.prices}/price/{item}", timeout=5) as answer:
            price = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        abort(exc.code)
    except OSError:
        abort(502)
    return jsonify(item=item, total_cents=price["cents"] * 2)


app.run(host="127.0.0.1", port=args.port, threaded=True)
"""

MAILER = """\
import time

print("mailer ready", flush=True)
while True:
    time.sleep(1)
"""

FLEET = """\
version: 1
name: shop
services:
  prices:
    command: python -m flask --app prices run
    port_env: FLASK_RUN_PORT
    host_env: FLASK_RUN_HOST
    readiness: /health-check
    openapi: null
  front:
    command: python front.py --port {port} --prices {calls.prices}
    calls: {prices: {env: PRICES_URL}}
    readiness: /health-check
    openapi: null
  mailer:
    command: python mailer.py
    readiness: {log: mailer ready}
    openapi: null
smoke:
  request: {service: front, path: /quote/apple}
  fault: {edge: front->prices, latency_ms: 200}
  samples: 2
"""

LOAD = """\
version: 1
name: quotes
target: front
warmup: 1s
stages: [{duration: 4s, users: 2, spawn_rate: 4}]
wait: {constant_throughput: 5}
tasks:
  - {name: quote, request: {method: GET, path: /quote/apple, expect: [200]}}
thresholds:
  http_req_failed: ["rate<0.05"]
"""

GAMEDAY = """\
version: 1
name: prices-slow
steady_state:
  probes:
    - {name: quote, http: {service: front, path: /quote/apple, timeout: 5s},
       expect_status: 200, expect_json: {total_cents: 240}}
  check: {before: true, during: {every: 1s}, after: {within: 10s}}
method:
  - {at: 0s, fault: {edge: front->prices, toxic: latency, attributes: {latency: 300}},
     duration: 2s}
abort: {max_duration: 1m}
"""

TESTS = """\
import time

import httpx


def test_a_quote_goes_through_the_fleet(fleet):
    answer = httpx.get(fleet.url("front") + "/quote/apple", trust_env=False)
    assert answer.json() == {"item": "apple", "total_cents": 240}


def test_latency_on_the_edge_slows_the_quote(fleet, edge):
    edge("front->prices").latency(300).inject()
    began = time.perf_counter()
    answer = httpx.get(fleet.url("front") + "/quote/pear", trust_env=False, timeout=10)
    assert answer.status_code == 200
    assert time.perf_counter() - began >= 0.3


def test_an_unknown_item_is_an_html_404(fleet):
    answer = httpx.get(fleet.url("front") + "/quote/plum", trust_env=False)
    assert answer.status_code == 404
    assert "<title>404 Not Found</title>" in answer.text
"""


@dataclass
class Project:
    root: Path
    venv: Path
    env: dict[str, str]

    def run(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def harness(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.venv / "bin" / "harness"), *argv, timeout=timeout)


def _build_wheel(work: Path) -> Path:
    source = work / "src"
    # A copy: building in the repository would leave build/ and *.egg-info there.
    shutil.copytree(
        REPO / "harness", source / "harness", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)],
        check=True,
        timeout=600,
    )
    [wheel] = dist.glob("harness-*.whl")
    return wheel


def _go_cache() -> str | None:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        return None
    done = subprocess.run([go, "env", "GOCACHE"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    work = tmp_path_factory.mktemp("own-fleet")
    assert REPO not in work.parents
    wheel = _build_wheel(work)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            # Byte-compiling matplotlib and the rest is most of an install's CPU time.
            "--no-compile",
            "--disable-pip-version-check",
            f"{wheel}[load]",
            f"pytest=={pytest.__version__}",
        ],
        check=True,
        timeout=900,
    )
    root = work / "shop"
    root.mkdir()
    for name, text in {
        "prices.py": PRICES,
        "front.py": FRONT,
        "mailer.py": MAILER,
        "fleet.yaml": FLEET,
        "load.yaml": LOAD,
        "gameday.yaml": GAMEDAY,
        "test_shop.py": TESTS,
    }.items():
        (root / name).write_text(textwrap.dedent(text))
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    path = [str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin", "/usr/local/go/bin"]
    env.update(
        PATH=os.pathsep.join(path),
        # The user's cache (Toxiproxy goes there) is the test's own; Go's build cache is the
        # machine's, so building the pinned Toxiproxy takes seconds, not a minute.
        XDG_CACHE_HOME=str(work / "cache"),
        HARNESS_RUNS_DIR=str(work / "runs"),
    )
    go_cache = _go_cache()
    if go_cache:
        env["GOCACHE"] = go_cache
    return Project(root, venv, env)


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    parsed = json.loads(lines[-1])
    assert isinstance(parsed, dict)
    return parsed


def test_the_wheel_alone_runs_a_foreign_fleet(project: Project) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    where = project.run(
        str(project.venv / "bin" / "python"), "-c", "import harness; print(harness.__file__)"
    )
    assert Path(where.stdout.strip()).is_relative_to(project.venv), where

    # 1. doctor: Toxiproxy is missing here, and it says exactly what to do.
    first = project.harness("doctor", "--json")
    assert first.returncode == 1, first.stdout + first.stderr
    checks = {c["name"]: c for c in _json(first)["checks"]}
    assert checks["toxiproxy"]["ok"] is False
    assert "harness setup toxiproxy" in checks["toxiproxy"]["next_step"]
    assert checks["manifest"]["ok"] is True
    assert checks["postgresql"]["needed"] is False  # the shop has no database

    # 2. setup builds it into the user's cache; doctor is content.
    setup = project.harness("setup", "toxiproxy", timeout=900)
    assert setup.returncode == 0, setup.stderr
    cached = Path(project.env["XDG_CACHE_HOME"]) / "harness" / "toxiproxy" / "v2.12.0"
    assert setup.stdout.strip() == str(cached / "toxiproxy-server")
    second = project.harness("doctor", "--json")
    assert second.returncode == 0, second.stdout
    checks = {c["name"]: c for c in _json(second)["checks"]}
    assert checks["toxiproxy"]["found"] == f"{cached / 'toxiproxy-server'} (v2.12.0)"

    # 3. smoke: every service ready (a worker by its log line), the edge carries traffic,
    # the declared request slowed by the latency on front->prices.
    smoke = project.harness("fleet", "smoke", "--json")
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    summary = _json(smoke)
    assert summary["edges"] == {"front->prices": "GET /health-check -> 200"}
    assert summary["services"]["mailer"]["ready"] == "a log line matching 'mailer ready'"
    flow = summary["flow"]
    assert flow["fault_observed"] is True
    assert min(flow["timings"]["faulted"]["samples_ms"]) >= 200

    # 4. a small load profile.
    load = project.harness("load", "load.yaml", "--no-progress", "--report-dir", "out/load")
    assert load.returncode == 0, load.stdout + load.stderr
    report = json.loads((project.root / "out" / "load" / "report.json").read_text())
    assert report["verdict"] == "passed"

    # 5. pytest with the plugin's fixtures, in the project's own directory.
    tests = project.run(
        str(project.venv / "bin" / "python"),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "test_shop.py",
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout

    # 6. a game-day: latency on the edge, steady state held, everything rolled back.
    gameday = project.harness("gameday", "gameday.yaml", "--report-dir", "out/gameday")
    assert gameday.returncode == 0, gameday.stdout + gameday.stderr
    journal = json.loads((project.root / "out" / "gameday" / "journal.json").read_text())
    assert journal["verdict"] == "passed"

    # Nothing left running: every command tore its fleet down.
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before
