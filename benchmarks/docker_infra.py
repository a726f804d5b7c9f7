"""The docker provider's costs, side by side with the local provider's. Prints one JSON object.

- ``boot``: infra boot (PostgreSQL with one database created, Redis and Toxiproxy, started
  together as a fleet starts them, until each answers), median of ``--runs``, for:
  ``local`` (initdb template cached), ``local_cold`` (no template: initdb every time),
  ``docker`` (images present), ``docker_cold`` (the three server images built first, from
  a base image present, in a namespace of their own, then removed: a machine's first run
  after the base exists). Ratios docker / local are reported, never absolute targets.
- ``reset``: the cost of giving a test a clean database on the PostgreSQL container, for
  the three ways there are (median of ``--resets``), with orders' schema and 200 rows:
  ``template`` (DROP DATABASE, CREATE DATABASE ... TEMPLATE), ``rollback`` (the test's
  writes in a transaction rolled back), ``truncate`` (TRUNCATE every table).
- ``component_suite``: wall time of ``pytest tests/component`` (``--suite``).
- ``images_from_nothing``: ``.ci/install-docker`` in a fresh namespace, debootstrap
  included (``--from-nothing``; about a minute and a half, then the images are removed).

The machine may be shared: load averages are printed before and after. Usage:

    python benchmarks/docker_infra.py [--runs 3] [--resets 20] [--suite] [--from-nothing]

Images: the configuration's (`[tool.harness.infra]`: this repository names the
local ones .ci/install-docker builds; HARNESS_POSTGRES_IMAGE etc. override).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

from harness.config import InfraConfig, load_config
from harness.infra.providers import make_provider

ROOT = Path(__file__).resolve().parents[1]


def _load() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def boot_once(kind: str, infra: InfraConfig) -> float:
    """Seconds until PostgreSQL (with a database), Redis and Toxiproxy all answer."""
    with tempfile.TemporaryDirectory(prefix="bench-infra-") as work:
        began = time.monotonic()
        provider = make_provider(kind, Path(work), infra=infra)
        try:

            def postgres() -> None:
                provider.postgres().create_database("bench")

            with ThreadPoolExecutor(3) as pool:
                jobs = [pool.submit(f) for f in (postgres, provider.redis, provider.toxiproxy)]
                for job in jobs:
                    job.result()
            return time.monotonic() - began
        finally:
            provider.close()


def boots(
    kind: str, infra: InfraConfig, runs: int, env: dict[str, str] | None = None
) -> list[float]:
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        return [round(boot_once(kind, infra), 3) for _ in range(runs)]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _install(namespace: str) -> float:
    began = time.monotonic()
    subprocess.run(
        [str(ROOT / ".ci" / "install-docker")],
        env={**os.environ, "IMAGE_NAMESPACE": namespace},
        check=True,
        capture_output=True,
    )
    return time.monotonic() - began


def _remove_namespace(namespace: str) -> None:
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"{namespace}/*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if listed:
        subprocess.run(["docker", "rmi", "-f", *listed], capture_output=True, check=False)


def _namespaced(infra: InfraConfig, namespace: str) -> InfraConfig:
    return replace(
        infra,
        postgres_image=f"{namespace}/postgres:15",
        redis_image=f"{namespace}/redis:7",
        toxiproxy_image=f"{namespace}/toxiproxy:2.12.0",
    )


def cold_docker_boots(infra: InfraConfig, runs: int) -> dict[str, Any]:
    """Build the three server images (base present) in a namespace of their own, boot on
    them, remove them again; ``runs`` times."""
    samples, builds = [], []
    base = subprocess.run(
        ["docker", "image", "inspect", "harness-local/bookworm-base:latest"],
        capture_output=True,
        check=False,
    )
    if base.returncode != 0:
        return {"skipped": "no harness-local/bookworm-base image: run .ci/install-docker"}
    for _ in range(runs):
        namespace = f"harness-bench-{secrets.token_hex(3)}"
        # The base of the default namespace under this one's name: debootstrap is not timed.
        try:
            base_tags = subprocess.run(
                [
                    "docker",
                    "image",
                    "inspect",
                    "-f",
                    "{{json .RepoTags}}",
                    "harness-local/bookworm-base:latest",
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            hashed = next(t for t in json.loads(base_tags) if not t.endswith(":latest"))
            subprocess.run(
                ["docker", "tag", hashed, f"{namespace}/bookworm-base:{hashed.rsplit(':', 1)[1]}"],
                check=True,
            )
            began = time.monotonic()
            builds.append(round(_install(namespace), 3))
            boot_once("docker", _namespaced(infra, namespace))
            samples.append(round(time.monotonic() - began, 3))
        finally:
            _remove_namespace(namespace)
    return {"samples": samples, "median": statistics.median(samples), "builds": builds}


def _timed(action: Callable[[], object], count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        action()
        samples.append((time.perf_counter() - began) * 1000)
    return {"median_ms": round(statistics.median(samples), 2), "max_ms": round(max(samples), 2)}


def resets(infra: InfraConfig, count: int) -> dict[str, Any]:
    """The three ways of a clean database per test, on the PostgreSQL container."""
    from sqlalchemy import create_engine

    sys.path.insert(0, str(ROOT))  # the sample fleet runs from the repository root
    from sample_services.orders.models import Base

    with tempfile.TemporaryDirectory(prefix="bench-reset-") as work:
        provider = make_provider("docker", Path(work), infra=infra)
        try:
            server = provider.postgres()
            server.create_database("tmpl")
            engine = create_engine(
                server.url("tmpl").replace("postgresql://", "postgresql+psycopg://")
            )
            Base.metadata.create_all(engine)
            engine.dispose()
            tables = [t.name for t in Base.metadata.sorted_tables]
            seed = (
                "INSERT INTO outbox (event_id, type, order_id, data, created_at) SELECT "
                "gen_random_uuid(), 'T', 'o' || g, '{}', now() FROM generate_series(1, 200) g"
            )
            with psycopg.connect(server.url("tmpl"), autocommit=True) as conn:
                conn.execute(seed)
            admin = psycopg.connect(server.url("postgres"), autocommit=True)
            # A template must have no session: the other two work on a copy of it.
            admin.execute("CREATE DATABASE work TEMPLATE tmpl")
            test_db = psycopg.connect(server.url("work"), autocommit=True)

            def template() -> None:
                admin.execute("DROP DATABASE IF EXISTS fresh")
                admin.execute("CREATE DATABASE fresh TEMPLATE tmpl")

            def rollback() -> None:
                with test_db.transaction(force_rollback=True):
                    test_db.execute(seed)

            def truncate() -> None:
                test_db.execute(seed)
                test_db.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

            result = {
                "template": _timed(template, count),
                "rollback": _timed(rollback, count),
                "truncate": _timed(truncate, count),
            }
            test_db.close()
            admin.close()
        finally:
            provider.close()
    result["chosen"] = "truncate"
    result["why"] = (
        "the services under test commit through their own connections in their own "
        "processes: a rolled-back test transaction cannot hold their writes, and a "
        "database re-made from a template must first drop every connection of their pools; "
        "emptying the tables (the services' /_test/reset) keeps both"
    )
    return result


def component_suite() -> dict[str, Any]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/component"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    tail = done.stdout.strip().splitlines()[-1:] or [""]
    return {
        "seconds": round(time.monotonic() - began, 1),
        "exit": done.returncode,
        "summary": tail[0],
    }


def images_from_nothing() -> dict[str, Any]:
    namespace = f"harness-bench-{secrets.token_hex(3)}"
    try:
        return {"seconds": round(_install(namespace), 1), "namespace": namespace}
    finally:
        _remove_namespace(namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument("--suite", action="store_true", help="time pytest tests/component")
    parser.add_argument("--from-nothing", action="store_true", help="time the images' build")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold boots")
    parser.add_argument("--skip-boot", action="store_true", help="skip every boot")
    args = parser.parse_args()
    infra = load_config().infra
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_before": _load(),
        "images": {
            "postgres": infra.postgres_image,
            "redis": infra.redis_image,
            "toxiproxy": infra.toxiproxy_image,
        },
    }
    boot: dict[str, Any] = {}
    for name, kind, env in (
        ()
        if args.skip_boot
        else (
            ("local", "local", {}),
            ("local_cold", "local", {"HARNESS_POSTGRES_TEMPLATES": "off"}),
            ("docker", "docker", {}),
        )
    ):
        samples = boots(kind, infra, args.runs, env)
        boot[name] = {"samples": samples, "median": statistics.median(samples)}
        print(f"{name}: {samples}", file=sys.stderr)
    if not args.no_cold and not args.skip_boot:
        boot["docker_cold"] = cold_docker_boots(infra, args.runs)
        print(f"docker_cold: {boot['docker_cold']}", file=sys.stderr)
    if "docker" in boot:
        boot["ratio_docker_to_local"] = round(boot["docker"]["median"] / boot["local"]["median"], 2)
    if "median" in boot.get("docker_cold", {}):
        boot["ratio_docker_cold_to_local_cold"] = round(
            boot["docker_cold"]["median"] / boot["local_cold"]["median"], 2
        )
    report["boot"] = boot
    report["reset"] = resets(infra, args.resets)
    print(f"reset: {report['reset']}", file=sys.stderr)
    if args.suite:
        report["component_suite"] = component_suite()
    if args.from_nothing:
        report["images_from_nothing"] = images_from_nothing()
    report["load_after"] = _load()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
