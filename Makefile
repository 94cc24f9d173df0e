# Two commands: `make serve` starts teamgate on the embedded default; `make test` runs the suite.
# Both create .venv and install what they need on first use (and again when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: serve test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "teamgate needs Python 3.11 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	@touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/teamgate serve

test: $(STAMP)
	@scripts/ensure-services
	$(VENV)/bin/pytest -n auto --dist loadfile
