# `make test` and `make demo` install what they need and are safe to run again.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup system tools docker venv lint typecheck test test-fast test-component matrix demo smoke bench clean

# The venv first: .ci/install-toxiproxy builds through `harness setup toxiproxy` when it can.
setup: system venv tools docker

system:
	@.ci/install-system

tools:
	@.ci/install-toxiproxy

# The Docker engine (started when none answers) and the images of the docker provider's
# tests, built offline and cached (.ci/install-docker).
docker: tools
	@.ci/install-docker

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

# Every suite: unit, in-process, PostgreSQL, end-to-end, and the ones behind the
# --contracts, --fuzz, --load and --chaos switches (plain `pytest` leaves those out).
SUITES := --contracts --fuzz --load --chaos
# The docker provider's images are the local ones .ci/install-docker builds: pyproject.toml's
# [tool.harness.infra] names them.

# Then the fault matrix on the sample fleet: every edge x fault class against
# scenarios/chaos/expectations.yaml; a cell that changes from its expectation fails the run.
test: setup lint typecheck
	$(PY) -m pytest $(SUITES) $(PYTEST_ARGS)
	$(VENV)/bin/harness faults matrix --report-dir reports/matrix

# The fault matrix alone (minutes): reports in reports/matrix/.
matrix: setup
	$(VENV)/bin/harness faults matrix --report-dir reports/matrix

# Unit and in-process tests only: seconds.
test-fast: venv
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The component tests alone: each sample service against containerised PostgreSQL/Redis.
test-component: setup
	$(PY) -m pytest -m component tests/component $(PYTEST_ARGS)

# The flagship chaos game-day end to end (payments down under checkout load): boot, load,
# fault, recovery, rollbacks; its verdict and the path of its report are the last lines.
DEMO_GAMEDAY ?= scenarios/chaos/payments-down.yaml

demo: setup
	$(VENV)/bin/harness gameday $(DEMO_GAMEDAY)

# The smoke run of the configured fleet: ready, every edge, then its manifest's smoke:
# request (the sample's: an order through every service, then a fault on one edge).
smoke: setup
	$(VENV)/bin/harness fleet smoke

bench: setup
	for b in benchmarks/*.py; do $(PY) $$b; done

clean:
	rm -rf $(VENV) .tools reports .pytest_cache .mypy_cache .ruff_cache
