# The two commands a new user or CI needs: `make demo` and `make test`. Needs only python3 (3.11).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
# DuckDB 1.4 LTS, apart from the project: the test that researchers' clients open the published file
DUCKDB14 := $(TOOLS)/duckdb14
export REGISTRY_HOME ?= $(CURDIR)/registry_home
export DAGSTER_HOME ?= $(REGISTRY_HOME)/.dagster
# Air-gapped: no usage statistics from dbt or Dagster.
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup test-setup browser demo test dev clean

setup: $(VENV)/.synced

# What only the tests need: DuckDB 1.4 beside the project and a browser for the dashboard test.
test-setup: setup $(DUCKDB14)/.installed browser

# The dashboard test drives Debian's chromium through Playwright (which cannot download browsers
# here). CI runs as root on Debian; where chromium is already installed nothing happens.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; } || \
		{ echo "make test needs Debian's chromium: run 'apt-get install chromium' as root" >&2; exit 1; }

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The locked set (uv.lock) installs exactly; a stale lock fails instead of resolving anew.
# Compiled at install: this machine sets PYTHONDONTWRITEBYTECODE, so without it every process
# (the pipeline, each dbt child) recompiles dagster, dbt and statsmodels on import (about 20 s).
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --compile-bytecode --python $(PYTHON) --quiet
	touch $@

$(DUCKDB14)/.installed: $(UV)
	$(UV) venv --quiet --python $(PYTHON) $(DUCKDB14)
	$(UV) pip install --quiet --python $(DUCKDB14)/bin/python 'duckdb>=1.4,<1.5'
	touch $@

demo: setup
	$(VENV)/bin/registry demo

test: test-setup
	$(VENV)/bin/pytest -n 2 --dist loadfile

dev: setup
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) $(TOOLS) registry_home dbt_project/target dbt_project/logs
