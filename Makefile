VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: install run serve test test-pg lint spec check load migrate

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
	TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test $(PY) -m pytest

lint: install
	$(BIN)/ruff check api tests
	$(BIN)/civicfacts spec --check

spec: install
	$(BIN)/civicfacts spec

check: install
	$(BIN)/civicfacts check seeds
	python3 ../shared/tools/check_evidence.py seeds
