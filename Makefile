# gpuaas.orchestration — developer entry points. Every target installs what it needs itself.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Integration test files run in parallel (one file per worker at a time): most of their time is
# spent waiting for controllers, not computing.
PYTEST_WORKERS ?= 3
INTEGRATION := $(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15 tests/integration \
	--ignore=tests/integration/awx
# The AWX job templates run after the parallel pass, alone: series of ansible-runner jobs, kept out
# of the parallel pass's load (their writes no longer show in other tests' zero-write counts, which
# take off writes to other objects: write_counter in tests/conftest.py).
AWX := $(VENV)/bin/pytest -q -p no:xdist --durations=5 tests/integration/awx
# Fault tests stop and start cluster components: alone, one at a time, after the rest.
FAULTS := $(VENV)/bin/pytest -q -p no:xdist --durations=5 -s tests/faults
# The main job as the collection's molecule scenario (extensions/molecule/default); molecule finds
# ansible-playbook on PATH.
MOLECULE := PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/molecule test

.PHONY: help bootstrap build cluster-up cluster-down cluster-status demo test unit unit-newest integration faults molecule sanity sanity-newest docs release bench clean

help:
	@echo "make demo          install everything, start the local GPU cluster, run the main job"
	@echo "make test          install everything and run all tests (unit and sanity on ansible-core 2.19 and 2.21,"
	@echo "                   integration, faults, molecule, the release check, the docs site)"
	@echo "make release       build the collection tarball and check it as Galaxy, an EE and a user would"
	@echo "make molecule      the main job as a molecule scenario (converge, idempotence, verify, cleanup)"
	@echo "make docs          build the docs site with antsibull-docs (docs/docsite/build), links checked"
	@echo "make cluster-up    start the local simulated GPU cluster (no-op when running)"
	@echo "make cluster-down  stop every process of the local cluster"
	@echo "make bench         benchmarks against kubernetes.core and kubectl (bench/results/)"

bootstrap:
	@./scripts/bootstrap

build:
	@bash tests/cluster/build.sh all >/dev/null

cluster-up: bootstrap
	@$(PY) tests/cluster/cluster.py up

cluster-down:
	@$(PY) tests/cluster/cluster.py down 2>/dev/null || python3 tests/cluster/cluster.py down

cluster-status:
	@$(PY) tests/cluster/cluster.py status

# The main job: bring the local cluster up, apply its plan (site.yml), then the seed's training
# run (train.yml: capacity, job, report).
demo: cluster-up
	$(VENV)/bin/ansible-playbook playbooks/site.yml
	$(VENV)/bin/ansible-playbook playbooks/train.yml

unit: bootstrap
	$(VENV)/bin/pytest -q tests/unit

# the newest ansible-core the collection claims (2.21, Python 3.12); `unit` is the lowest (2.19)
unit-newest:
	@./scripts/unit-newest

integration: cluster-up
	$(INTEGRATION)
	$(AWX)

faults: cluster-up
	$(FAULTS)

# converge, idempotence, verify, cleanup. It uses the objects of the demo plan, so it runs alone.
molecule: cluster-up
	$(MOLECULE)

sanity: bootstrap
	@./scripts/sanity

sanity-newest: bootstrap
	@GPUAAS_CORE=2.21 ./scripts/sanity

docs: bootstrap
	@./scripts/docs-site

release: cluster-up
	@./scripts/release-check

test: bootstrap
	$(VENV)/bin/pytest -q tests/unit
	./scripts/unit-newest
	./scripts/sanity
	GPUAAS_CORE=2.21 ./scripts/sanity
	$(MAKE) cluster-up
	$(INTEGRATION)
	$(AWX)
	$(FAULTS)
	$(MOLECULE)
	CI=$${CI:-1} ./scripts/release-check
	./scripts/docs-site

bench: cluster-up
	@for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: cluster-down
	rm -rf .cluster collections/ansible_collections tests/output
