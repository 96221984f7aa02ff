# gpuaas.orchestration — developer entry points. Every target installs what it needs itself.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Integration test files run in parallel (one file per worker at a time): most of their time is
# spent waiting for controllers, not computing.
PYTEST_WORKERS ?= 3
INTEGRATION := $(VENV)/bin/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --durations=15 tests/integration
# Fault tests stop and start cluster components: alone, one at a time, after the rest.
FAULTS := $(VENV)/bin/pytest -q -p no:xdist --durations=5 -s tests/faults

.PHONY: help bootstrap build cluster-up cluster-down cluster-status demo test unit integration faults sanity bench clean

help:
	@echo "make demo          install everything, start the local GPU cluster, run the main job"
	@echo "make test          install everything and run all tests (unit, sanity, integration)"
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

integration: cluster-up
	$(INTEGRATION)

faults: cluster-up
	$(FAULTS)

sanity: bootstrap
	@./scripts/sanity

test: bootstrap
	$(VENV)/bin/pytest -q tests/unit
	./scripts/sanity
	$(MAKE) cluster-up
	$(INTEGRATION)
	$(FAULTS)

bench: cluster-up
	@for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean: cluster-down
	rm -rf .cluster collections/ansible_collections tests/output
