# Quick start: `make deck` builds dist/<deck>.apkg from cards.toml; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# the tests of `preview --html` load the page in Debian's chromium (root, or sudo, installs it)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: deck test bench clean browser

deck: $(VENV)/.installed
	$(BIN)/deckforge build cards.toml --out-dir dist

test: $(VENV)/.installed-dev browser
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

browser:
	@command -v chromium >/dev/null || $(SUDO) apt-get install -y -q chromium \
		|| ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
