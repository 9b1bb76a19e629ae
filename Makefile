# Langhouse developer commands. Only Python 3.11+ and make are needed; everything else installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install serve test lint test-unit test-integration schema bench clean

# pip's output goes to $(VENV)/install.log (its last lines are shown if it fails): a first `make serve`
# prints two lines of its own before Langhouse's.
$(STAMP): pyproject.toml
	@echo "Installing Langhouse into $(VENV) (a few minutes the first time; log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(BIN)/python -m pip install --disable-pip-version-check --upgrade pip \
	  && $(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'; } > $(VENV)/install.log 2>&1 \
	  || { tail -n 25 $(VENV)/install.log; echo "Install failed; the whole log is $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)
	@echo "Installed: $$($(BIN)/python -c 'import importlib.metadata as m; print("langhouse", m.version("langhouse"))') and its dependencies."

install: $(STAMP) ## create .venv and install Langhouse with its dev tools

serve: $(STAMP) ## run the server on the embedded default (http://localhost:3000)
	@$(BIN)/langhouse serve

test: lint ## lint, type-check, then the whole test suite on real embedded stores
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check app tests bench sql examples clients
	$(BIN)/ruff format --check app tests bench sql examples clients
	$(BIN)/mypy
	$(BIN)/lint-imports

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) ## integration tests (set LANGHOUSE_DATABASE_URL / LANGHOUSE_REDIS_URL to use servers)
	$(BIN)/pytest -m integration

schema: $(STAMP) ## re-export app/graphql/schema.graphql
	$(BIN)/python -m app.graphql.export

bench: $(STAMP) ## run the benchmarks and print their figures (copy them into BENCHMARKS.md)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/auth.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/prompts.py
	$(BIN)/python bench/reads.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
