# `make serve` starts teamgate on the embedded default; `make test` checks the layers, then runs
# the suite; `make check` checks the layers alone. Each creates .venv and installs what it needs on
# first use (and again when pyproject.toml changes).

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

# the import-linter contracts in pyproject.toml: no module imports a layer above its own, no circles
check: $(STAMP)
	$(VENV)/bin/lint-imports

test: check
	@scripts/ensure-services
	$(VENV)/bin/pytest -n auto --dist loadfile
