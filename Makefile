VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
PORT ?= 8000
REDOCLY_VERSION := 2.77.0
REDOCLY_STAMP := .tools/redocly-$(REDOCLY_VERSION)
REDOCLY := .tools/node_modules/.bin/redocly

.DEFAULT_GOAL := help
.PHONY: help install run serve test test-fast test-pg fuzz fuzz-pg lint format spec check load migrate bench bench-smoke bench-tools cluster cluster-stop cluster-status cluster-test

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

# Installed again whenever pyproject.toml changes, with the test and dev extras.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV) && $(BIN)/pip install -q -e ".[test,dev]" && touch $@

install: $(VENV)/.installed  ## make the virtualenv with everything the tests and hooks need

migrate: install  ## apply migrations/ to DATABASE_URL (default sqlite:///civicfacts.db)
	$(BIN)/civicfacts migrate

load: migrate  ## load seeds/ into it
	$(BIN)/civicfacts load

run: load  ## serve with Flask's development server on port 8000
	$(BIN)/civicfacts run --port $(PORT)

serve: load  ## serve with granian on port 8000
	$(BIN)/civicfacts serve --port $(PORT)

test: install  ## the README's test command: every test, SQLite only unless TEST_DATABASE_URL is set
	$(PY) -m pytest

test-fast: install  ## everything but browser, fuzz, bench, slow and PostgreSQL tests, on SQLite (about a minute)
	TEST_DATABASE_URL= $(PY) -m pytest -m "not (browser or fuzz or bench or slow or postgres)"

test-pg: install  ## every test on SQLite and PostgreSQL, as CI runs it
	TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest

# schemathesis with up to 1000 generated cases per operation in its fuzzing phase (CI's
# run: 30), besides its coverage and examples phases; docs/RELIABILITY.md records the
# numbers and the time. `fuzz-pg` (SQLite and PostgreSQL) took 9 minutes on 2 cores;
# `fuzz` (SQLite alone) about half that.
fuzz: install  ## schemathesis at 1000 cases per operation, SQLite
	CIVICFACTS_FUZZ_EXAMPLES=1000 TEST_DATABASE_URL= $(PY) -m pytest tests/test_fuzz.py

fuzz-pg: install  ## the same on SQLite and PostgreSQL
	CIVICFACTS_FUZZ_EXAMPLES=1000 TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest tests/test_fuzz.py

lint: install $(REDOCLY_STAMP)  ## ruff, the import layers, openapi.yaml against the code and Redocly's recommended rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/civicfacts spec --check
	$(REDOCLY) lint --extends recommended --format summary openapi.yaml

# Redocly's CLI from npm, pinned, installed under .tools/ (gitignored); a new version installs afresh.
$(REDOCLY_STAMP):
	npm install --prefix .tools --no-audit --no-fund --silent @redocly/cli@$(REDOCLY_VERSION)
	touch $@

format: install  ## ruff format and the fixes ruff can make
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

spec: install  ## write openapi.yaml from the code
	$(BIN)/civicfacts spec

check: install  ## validate seeds/ (and check the evidence with ../shared's tool)
	$(BIN)/civicfacts check seeds
	python3 ../shared/tools/check_evidence.py seeds

# --- the benchmark (bench/README.md) ---------------------------------------------------
BENCH_VENV := bench/.venv
BENCH_FIGURES ?= 1000,100000,1000000
BENCH_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/postgres
SMOKE_DIR ?= $(or $(TMPDIR),/tmp)/civicfacts-bench-smoke

$(BENCH_VENV)/bin/datasette: bench/requirements.txt
	python3 -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q -r bench/requirements.txt

bench-tools:  ## install wrk and nginx (apt-get) for `make bench`
	command -v wrk >/dev/null && command -v nginx >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null)

bench: install $(BENCH_VENV)/bin/datasette bench-tools  ## the load benchmark against Datasette and nginx (bench/README.md)
	$(BIN)/pip install -q -e ".[test,gunicorn]"
	$(PY) -m bench.run --figures $(BENCH_FIGURES) --postgres $(BENCH_POSTGRES) --fresh --results bench/results.json
	$(PY) -m bench.answer_size --figures $(BENCH_FIGURES) --postgres $(BENCH_POSTGRES) --out bench/answer_size.json
	$(PY) -m bench.report --results bench/results.json --out bench/RESULTS.md

bench-smoke: install  ## the same harness at small N, in seconds
	timeout 300 $(PY) -m bench.run --smoke --fresh --data-dir $(SMOKE_DIR) --out $(SMOKE_DIR)/RESULTS.md

# --- more than one machine, on this one (docs/DEPLOY.md) --------------------------------------
# PostgreSQL primary and streaming replica, three app servers and nginx, each a process of its
# own under CLUSTER_DIR; deploy/cluster installs Debian's nginx if it is missing.
CLUSTER_DIR ?= $(or $(TMPDIR),/tmp)/civicfacts-cluster

cluster: install  ## start the cluster under CLUSTER_DIR: PostgreSQL primary + replica, 3 app servers, nginx on :8480
	deploy/cluster start $(CLUSTER_DIR)

cluster-stop:  ## stop every part of it, each by its own pid
	deploy/cluster stop $(CLUSTER_DIR)

cluster-status:  ## what of it runs
	deploy/cluster status $(CLUSTER_DIR)

cluster-test: install  ## the fault tests against it (reloads, a killed server, replica and primary stopped, slow clients)
	CIVICFACTS_CLUSTER_DIR=$(CLUSTER_DIR) timeout 900 $(PY) -m pytest tests/cluster
