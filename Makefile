# Oretrail: the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

.PHONY: run test test-fast bench openapi demo clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## make run: the embedded platform (SQLite log and read models, projectors in process) with demo data
run: $(VENV)/.installed
	$(BIN)/oretrail demo
	$(BIN)/oretrail serve --port $(PORT)

## make test: the whole suite (provisions what it needs; see scripts/test)
test: $(VENV)/.installed
	scripts/test

## make test-fast: the unit tests only, in seconds, with no server (no Kafka, PostgreSQL or Chromium)
test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

## make bench: the benchmarks; figures go to bench/results/
bench: $(VENV)/.installed
	$(BIN)/python -m bench.run

## make openapi: regenerate openapi.yaml from the code
openapi: $(VENV)/.installed
	ORETRAIL_DATA_DIR=$$(mktemp -d) $(BIN)/oretrail openapi --output openapi.yaml

clean:
	rm -rf var test-output
