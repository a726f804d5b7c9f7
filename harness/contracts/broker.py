"""The Pact Broker path: with ``PACT_BROKER_BASE_URL`` set, pacts go through a real broker.

- Publishing consumer pacts: ``pact broker publish <pacts dir> --consumer-app-version V
  --branch B`` (the ``pact`` CLI from pact-python-cli; pact-python itself cannot publish).
- Verification fetches the pacts for a provider from the broker (pact-python's
  ``Verifier.broker_source`` with consumer-version selectors, pending and WIP pacts) and
  publishes its results (``set_publish_options``) instead of writing the local matrix.
- can-i-deploy asks the broker: ``pact broker can-i-deploy --pacticipant S --version V``
  (``--to-environment E`` when given, else against the latest versions).

Credentials come from the environment the CLI reads itself (``PACT_BROKER_TOKEN``, or
``PACT_BROKER_USERNAME`` / ``PACT_BROKER_PASSWORD``); they are never put on a command line,
where ``ps`` would show them. The CLI's own retries default to minutes against an
unreachable broker; the configuration's ``contracts.broker_retries``
(``HARNESS_BROKER_RETRIES``, default 2) bounds them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pact import Verifier

from harness.contracts.errors import BrokerError

BROKER_URL_ENV = "PACT_BROKER_BASE_URL"
_CLI_TIMEOUT_S = 120


@dataclass(frozen=True)
class Broker:
    url: str
    retries: int = 2
    token: str | None = None
    username: str | None = None
    password: str | None = None


def broker_from_env(environ: Mapping[str, str] | None = None, *, retries: int = 2) -> Broker | None:
    """The broker named by Pact's own variables (``PACT_BROKER_*``), if any; ``retries``
    is the configuration's ``contracts.broker_retries``."""
    env = os.environ if environ is None else environ
    url = env.get(BROKER_URL_ENV, "").strip()
    if not url:
        return None
    return Broker(
        url=url.rstrip("/"),
        retries=retries,
        token=env.get("PACT_BROKER_TOKEN") or None,
        username=env.get("PACT_BROKER_USERNAME") or None,
        password=env.get("PACT_BROKER_PASSWORD") or None,
    )


def pact_cli() -> str:
    """The ``pact`` binary of pact-python-cli: beside our interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("pact")
    if beside.is_file():
        return str(beside)
    found = shutil.which("pact")
    if found is None:
        raise BrokerError("the `pact` CLI is missing: pip install pact-python-cli")
    return found


def publish_command(broker: Broker, pact_dir: Path, version: str, branch: str | None) -> list[str]:
    command = [
        pact_cli(),
        "broker",
        "publish",
        str(pact_dir),
        "--consumer-app-version",
        version,
        "--broker-base-url",
        broker.url,
        "--retries",
        str(broker.retries),
    ]
    if branch:
        command += ["--branch", branch]
    return command


def can_i_deploy_command(
    broker: Broker, service: str, version: str, environment: str | None = None
) -> list[str]:
    command = [
        pact_cli(),
        "broker",
        "can-i-deploy",
        "--pacticipant",
        service,
        "--version",
        version,
        "--broker-base-url",
        broker.url,
        "--retries",
        str(broker.retries),
    ]
    command += ["--to-environment", environment] if environment else ["--latest"]
    return command


def run_cli(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a ``pact broker`` command; its output is kept either way.

    Credentials reach the CLI through the environment variables it reads, inherited here.
    """
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_CLI_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"{' '.join(command[:3])} timed out after {_CLI_TIMEOUT_S} s") from exc
    except OSError as exc:
        raise BrokerError(f"cannot run {command[0]}: {exc}") from exc
    return done


def publish(broker: Broker, pact_dir: Path, version: str, branch: str | None) -> str:
    done = run_cli(publish_command(broker, pact_dir, version, branch))
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise BrokerError(f"publishing {pact_dir} to {broker.url} failed:\n{output}")
    return output


def use_broker_source(
    verifier: Verifier, broker: Broker, *, version: str, branch: str | None
) -> Verifier:
    """Point ``verifier`` at the broker's pacts for its provider and publish results there."""
    if broker.token:
        source = verifier.broker_source(broker.url, token=broker.token, selector=True)
    elif broker.username:
        source = verifier.broker_source(
            broker.url, username=broker.username, password=broker.password, selector=True
        )
    else:
        source = verifier.broker_source(broker.url, selector=True)
    # Pending pacts report without failing the provider's build, as the broker intends.
    source = source.include_pending()
    if branch:
        source = source.provider_branch(branch)
    verifier = source.build()
    return verifier.set_publish_options(version=version, branch=branch)
