# The two commands of CONTRACT.md, plus the benchmark. Each works on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app wsgi

.PHONY: run test bench install install-test translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when the dependencies change; the stamp remembers the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

translations:
	$(BIN)/pybabel -q compile -f -d vmeeting/translations

run: install
	$(FLASK) db upgrade
	$(FLASK) demo load --if-empty
	SCHEDULER=$${SCHEDULER:-embedded} VMEETING_ENV=$${VMEETING_ENV:-development} $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-test
	$(BIN)/python -m pytest

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
