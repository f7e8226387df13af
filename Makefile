# The two commands of the README. Everything else is bootstrapped from nothing but python3:
# a private copy of uv in .tools/, then the locked environment in .venv/.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.roost-synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test lint typecheck contracts pytest test-services setup clean

demo: $(STAMP)
	@bash scripts/demo.sh

test: lint typecheck contracts pytest

setup: $(STAMP)

$(UV):
	@echo "==> bootstrapping uv $(UV_VERSION) into $(TOOLS)/"
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	@echo "==> installing the locked environment into $(VENV)/"
	@$(UV) sync --frozen --all-extras --python "$$(command -v $(PYTHON))" --quiet
	@touch $@

lint: $(STAMP)
	@echo "==> ruff"
	@$(VENV)/bin/ruff check src tests bench scripts examples
	@$(VENV)/bin/ruff format --check src tests bench scripts examples

typecheck: $(STAMP)
	@echo "==> mypy --strict"
	@$(VENV)/bin/mypy

contracts: $(STAMP)
	@echo "==> import-linter"
	@$(VENV)/bin/lint-imports --no-cache

# Servers the integration tests start themselves (PostgreSQL 15, ...): installed from Debian
# packages when missing. The tests start and stop them on 127.0.0.1.
test-services:
	@bash scripts/install-test-services.sh

# The suite runs in parallel (pytest-xdist). Most slow tests wait on real processes (servers,
# replicas, `roost` subprocesses) rather than compute, so there are more workers than cores;
# worksteal hands the long end-to-end tests' neighbours to idle workers.
# Override with e.g. `make test PYTEST_WORKERS=0` (serial) or PYTEST_WORKERS=auto.
PYTEST_WORKERS ?= 3

pytest: $(STAMP) test-services
	@echo "==> pytest ($(PYTEST_WORKERS) workers)"
	@$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=25

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
