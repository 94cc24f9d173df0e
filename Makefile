# `make serve` starts teamgate on the embedded default; `make test` runs the checks, then the
# suite; `make check` runs the checks alone (layers, lint, types). Each creates .venv and
# installs what it needs on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: serve test check

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "teamgate needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	@touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/teamgate serve

# pyproject.toml says what each checks: import-linter's layers (no module imports a layer above
# its own, no circles), ruff's rules, mypy's strictness
check: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check src
	$(VENV)/bin/mypy

test: check
	@scripts/ensure-services
	$(VENV)/bin/pytest -n auto --dist loadfile
