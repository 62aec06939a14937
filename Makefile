VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run serve test test-pg fuzz fuzz-pg lint spec check load migrate bench bench-smoke bench-tools

$(VENV)/bin/civicfacts:
	python3 -m venv $(VENV) && $(BIN)/pip install -e ".[test]"

install: $(VENV)/bin/civicfacts

migrate: install
	$(BIN)/civicfacts migrate

load: migrate
	$(BIN)/civicfacts load

run: load
	$(BIN)/civicfacts run

serve: load
	$(BIN)/civicfacts serve

test: install
	$(PY) -m pytest

test-pg: install
	TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest

# schemathesis with up to 1000 generated cases per operation in its fuzzing phase (CI's
# run: 30), besides its coverage and examples phases; docs/RELIABILITY.md records the
# numbers and the time. `fuzz-pg` (SQLite and PostgreSQL) took 9 minutes on 2 cores;
# `fuzz` (SQLite alone) about half that.
fuzz: install
	CIVICFACTS_FUZZ_EXAMPLES=1000 TEST_DATABASE_URL= $(PY) -m pytest tests/test_fuzz.py

fuzz-pg: install
	CIVICFACTS_FUZZ_EXAMPLES=1000 TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest tests/test_fuzz.py

lint: install
	$(BIN)/ruff check api tests bench
	$(BIN)/civicfacts spec --check

spec: install
	$(BIN)/civicfacts spec

check: install
	$(BIN)/civicfacts check seeds
	python3 ../shared/tools/check_evidence.py seeds

# --- the benchmark (bench/README.md) ---------------------------------------------------
BENCH_VENV := bench/.venv
BENCH_FIGURES ?= 1000,100000,1000000
BENCH_POSTGRES ?= postgresql://postgres@127.0.0.1:5432/postgres
SMOKE_DIR ?= $(or $(TMPDIR),/tmp)/civicfacts-bench-smoke

$(BENCH_VENV)/bin/datasette: bench/requirements.txt
	python3 -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q -r bench/requirements.txt

bench-tools:
	command -v wrk >/dev/null && command -v nginx >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null)

bench: install $(BENCH_VENV)/bin/datasette bench-tools
	$(BIN)/pip install -q -e ".[test,gunicorn]"
	$(PY) -m bench.run --figures $(BENCH_FIGURES) --postgres $(BENCH_POSTGRES) --fresh --results bench/results.json

bench-smoke: install
	timeout 300 $(PY) -m bench.run --smoke --fresh --data-dir $(SMOKE_DIR) --out $(SMOKE_DIR)/RESULTS.md
