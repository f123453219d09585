# The two commands of the quick start:
#   make run   set up and start the engine on embedded defaults
#   make test  set up and run every test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup lint bench schema clean

setup:
	@PYTHON=$(PY) ./scripts/bootstrap.sh

run: setup
	$(BIN)/ivr-engine run

test:
	@PYTHON=$(PY) ./scripts/bootstrap.sh --browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m bench

schema:
	./scripts/gen-schema.sh

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
