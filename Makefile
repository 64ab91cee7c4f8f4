# The two commands that matter: `make dev` serves the API locally, `make test` runs everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := 3.12
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Empty: authentication off (one local user); jwt: tokens of the local issuer (make token).
AUTH ?=

# Lambda's python3.12, found as python3.12 on PATH or in pyenv (whose shim fails when 3.12 is not active).
FIND_PYTHON = for c in python$(PYTHON_VERSION) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(PYTHON_VERSION).*/bin/python; do \
	"$$c" -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(PYTHON_VERSION))))' 2>/dev/null && { echo "$$c"; exit 0; }; \
	done; echo "Python $(PYTHON_VERSION) not found: install it (e.g. pyenv install $(PYTHON_VERSION))" >&2; exit 1
comma := ,

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(BIN)/python:
	"$$($(FIND_PYTHON))" -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# pip check's report goes to stderr: `TOKEN=$(make -s token USER=alice)` must capture the token alone.
$(VENV)/.installed: requirements.txt shared/requirements.txt $(wildcard functions/*/requirements.txt) | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip check >&2
	touch $@

.PHONY: install
install: $(VENV)/.installed ## Create .venv and install the pinned dependencies.

.PHONY: dev
dev: install ## Migrate the local SQLite database and serve the API on http://127.0.0.1:$(PORT).
	PORT=$(PORT) AUTH=$(AUTH) $(BIN)/python -m local_api

.PHONY: token
token: install ## Print a token for AUTH=jwt make dev, for user USER (its sub claim): make -s token USER=alice.
	@$(BIN)/python -m local_api.mint_token "$(USER)"

.PHONY: migrate
migrate: install ## alembic upgrade head against the configured database.
	$(BIN)/alembic upgrade head

.PHONY: lint
lint: install ## ruff and mypy.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions migrations local_api tools bench tests

.PHONY: check-template
check-template: install ## sam validate --lint, then cfn-lint on the template translated to CloudFormation.
	$(BIN)/python -m tools.template_check

.PHONY: openapi
openapi: install ## Regenerate docs/openapi.json from the handlers.
	$(BIN)/python -m tools.openapi --write

.PHONY: test
test: install lint check-template ## The whole suite: lint, template checks, unit, handler, HTTP and Postgres tests.
	$(BIN)/pytest

# Issue 9's connection-limit simulation (tests/support/load_sim.py). By default a throwaway database with a
# CONNECTION LIMIT on the test Postgres; LOAD_SIM_ARGS="--cluster NAME --port N" starts a throwaway
# cluster with max_connections=8 instead (Debian's pg_createcluster). A short version runs in `make test`.
LOAD_SIM_ARGS ?=

.PHONY: load-sim
load-sim: install ## Many execution environments vs a Postgres with 8 connection slots: no 5xx but 503, no lost write.
	PYTHONPATH=shared $(BIN)/python -m tests.support.load_sim $(LOAD_SIM_ARGS)

# Issue 13: mutation testing (docs/testing.md). QUICK=1 tests a random sample of about 300 mutants
# (SEED=n replays one); without it every mutant (docs/testing.md: how long a full run takes).
.PHONY: mutate
mutate: install ## Mutation testing of the shared layer and the handlers; QUICK=1 for a sample.
	$(BIN)/python -m tools.mutate $(if $(QUICK),--quick) $(if $(SEED),--seed $(SEED)) $(MUTATE_ARGS)

.PHONY: clean
clean: ## Remove build output and caches (keeps .venv).
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# SAM passes neither the template's Architecture nor a function's architecture to makefile builds
# (the layer and the migrate function), so both the parameter and the makefiles get it from here.
ARCHITECTURE ?= arm64

.PHONY: build
build: install ## sam build into .aws-sam/build for ARCHITECTURE (arm64, as deployed; see also build-x86).
	PATH="$(CURDIR)/$(BIN):$$PATH" ARCHITECTURE=$(ARCHITECTURE) $(BIN)/sam build --cached --parallel \
		--parameter-overrides Architecture=$(ARCHITECTURE)

.PHONY: build-x86
build-x86: ## sam build for x86_64, which runs on this machine (the same as make build ARCHITECTURE=x86_64).
	$(MAKE) build ARCHITECTURE=x86_64

.PHONY: bench-bytecode
bench-bytecode: install ## Cold import + first request of a built function, layer with vs without .pyc.
	$(BIN)/python -m bench.cold_import

.PHONY: bench-tracer
bench-tracer: install ## What ENABLE_TRACER (Powertools' Tracer) costs a built function, cold and warm.
	$(BIN)/python -m bench.tracer_cost

# Issue 5's benchmark (bench/README.md). The FastAPI reference runs from a layer the benchmark builds
# itself; bench/requirements.txt in .venv is for its type checks.
BENCH_ARGS ?=

$(VENV)/.bench-installed: bench/requirements.txt bench/reference_fastapi/requirements.txt | $(VENV)/.installed
	$(BIN)/pip install --quiet -r bench/requirements.txt
	touch $@

.PHONY: bench
bench: install $(VENV)/.bench-installed ## Project vs bare handler vs FastAPI+Mangum on SQLite and Postgres (< 10 min).
	$(BIN)/python -m bench $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: install $(VENV)/.bench-installed ## The same table from fewer runs, for CI (< 2 min).
	$(BIN)/python -m bench --quick $(BENCH_ARGS)
