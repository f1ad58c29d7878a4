# aeops: every target does its own set-up; a second run reuses what exists.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
QUIET_PIP := 2>&1 | { grep -v 'is neither a file nor a directory' || true; }
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ENV := scripts/embedded-env
HOME_DIR := $(or $(AIRFLOW_HOME),.airflow)
# make test's processes: most of the suite waits (simulators, Slack sink, DAG runs, a browser), so more processes
# than cores pays; each has its own copy of the Airflow home (tests/worker_home.py, docs/testing.md)
TEST_WORKERS ?= 3
INSTALLED := $(VENV)/.installed
SETUP_DONE := $(HOME_DIR)/.setup-done

.PHONY: help venv setup run up test lint sample bench constraints secrets test-distributed clean i18n mutate

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(INSTALLED): requirements.txt requirements-dev.txt constraints.txt pyproject.toml scripts/hash_constraints.py
	@test -x $(BIN)/python || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing the pinned, hashed dependencies of constraints.txt (first time: about a minute)"
	@# every file is checked against its sha256 in constraints.txt (--require-hashes); pip itself first, pinned
	$(PYTHON) scripts/hash_constraints.py select constraints.txt --only pip > $(VENV)/pins-pip.txt
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r $(VENV)/pins-pip.txt $(QUIET_PIP)
	$(BIN)/python -m pip install -q --require-hashes -r constraints.txt $(QUIET_PIP)
	@# rapidocr-onnxruntime declares opencv-python (the GUI build, needs libGL); both it and opencv-python-headless
	@# install the cv2 module: put the headless build's files back last so cv2 never needs a display library
	$(PYTHON) scripts/hash_constraints.py select constraints.txt --only opencv-python-headless > $(VENV)/pins-cv2.txt
	$(BIN)/python -m pip install -q --require-hashes --no-deps --force-reinstall -r $(VENV)/pins-cv2.txt $(QUIET_PIP)
	@# the aeops package itself: editable, no dependencies, built with the pinned setuptools (no hash needed)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e . $(QUIET_PIP)
	@touch $@

venv: $(INSTALLED) ## create .venv and install the pinned dependencies

$(SETUP_DONE): $(INSTALLED) scripts/embedded-env include/aeops/embedded.py $(wildcard include/aeops/store/migrations/versions/*.py)
	@echo "==> preparing the embedded Airflow home in $(HOME_DIR) (SQLite)"
	@mkdir -p $(HOME_DIR)
	$(ENV) airflow db migrate > $(HOME_DIR)/db-migrate.log 2>&1 || { tail -20 $(HOME_DIR)/db-migrate.log; exit 1; }
	$(ENV) aeops db upgrade
	$(ENV) python -m aeops.embedded write $(HOME_DIR)/embedded
	$(ENV) airflow connections import --overwrite $(HOME_DIR)/embedded/connections.json
	$(ENV) airflow variables import -a overwrite $(HOME_DIR)/embedded/variables.json
	$(ENV) airflow pools import $(HOME_DIR)/embedded/pools.json
	@touch $@

setup: $(SETUP_DONE) ## venv + Airflow home + aeops DB + connections, variable and pools

run: setup ## run the daily catalog sync end to end on the embedded default
	$(ENV) scripts/run-embedded

up: setup ## start the Airflow UI (airflow standalone), the simulator and the Slack sink; Ctrl-C stops all
	$(ENV) scripts/up-embedded

lint: $(INSTALLED) ## ruff (with Airflow's AIR3 rules and docstrings on public definitions, D100-D104) and the import-linter layer contract (docs/architecture.md)
	$(BIN)/ruff check dags include plugins tests bench scripts/*.py
	$(BIN)/lint-imports --no-cache

test: setup ## lint, then the whole test suite (TEST_WORKERS processes, each its own Airflow home; 0: one process)
	$(MAKE) --no-print-directory lint
	$(ENV) pytest -q $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup) $(PYTEST_ARGS)

test-distributed: $(INSTALLED) ## the daily sync on CeleryExecutor: separate processes, PostgreSQL, Redis, two workers (~3 min)
	timeout --kill-after=60 480 $(ENV) pytest -q -s -p no:cacheprovider tests/distributed/distributed_sync.py

mutate: setup ## mutation testing (mutmut) of the rules, ledger, push and store lock; killed/total per module (not CI; one module: MUTATE_ARGS=aeops.catalog.lock*)
	$(ENV) python scripts/mutate.py $(MUTATE_ARGS)

i18n: $(INSTALLED) ## re-extract the messages and update both catalogs (then translate the new ones: docs/i18n.md)
	$(BIN)/python scripts/i18n.py

sample: $(INSTALLED) ## regenerate include/sample from scripts/make_sample.py
	$(ENV) python scripts/make_sample.py

bench: setup ## run every benchmark in bench/ (prints ratios against a baseline; AEOPS_BENCH_CELERY=1: the Celery one too)
	@# AEOPS_BENCH_SUITE: bench/stores_celery.py (a CeleryExecutor stack, minutes) skips itself unless AEOPS_BENCH_CELERY=1
	@for b in bench/*.py; do echo "==> $$b"; AEOPS_BENCH_SUITE=1 $(ENV) python $$b || exit 1; done

constraints: ## re-resolve constraints.txt (every pin with the sha256 of its files) from requirements*.txt in a scratch venv
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install -q --upgrade pip $(QUIET_PIP)
	.venv-constraints/bin/python -m pip install -q -r requirements.txt -r requirements-dev.txt $(QUIET_PIP)
	.venv-constraints/bin/python -m pip freeze --all --exclude-editable | grep -vE '^aeops==' > .venv-constraints/freeze.txt
	.venv-constraints/bin/python scripts/hash_constraints.py write .venv-constraints/freeze.txt \
	  --header "Full resolved pin set for Python 3.11 with the sha256 of every file of each release, generated by 'make constraints' on $$(date -u +%F)." \
	  --header "Install with: pip install --require-hashes -r constraints.txt (make venv; the Dockerfile installs its runtime part)" \
	  > .venv-constraints/constraints.txt
	mv .venv-constraints/constraints.txt constraints.txt
	rm -rf .venv-constraints

secrets: ## write .env with fresh secrets for docker-compose.yaml (an existing .env: only the missing ones added; FORCE=1: a fresh file, the old one kept aside)
	$(PYTHON) scripts/make_secrets.py $(if $(FORCE),--force)

clean: ## remove the Airflow home, the venv and caches
	rm -rf $(HOME_DIR) $(VENV) .pytest_cache .ruff_cache .mutmut
