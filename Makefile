# The two commands of CONTRACT.md, plus the benchmark. Each works on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app wsgi

.PHONY: run test fuzz mutation bench install install-test translations messages clean

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

# After changing user-facing text: gather it into the English catalogue, then translate the empty entries.
messages: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k N_ -k say -o vmeeting/translations/messages.pot .
	$(BIN)/pybabel update -i vmeeting/translations/messages.pot -d vmeeting/translations -l en --no-fuzzy-matching
	rm vmeeting/translations/messages.pot

# Links in mail and feeds point at the port served, unless BASE_URL says otherwise (CONTRACT.md).
RUN_ENV = BASE_URL="$${BASE_URL:-http://127.0.0.1:$(PORT)}"

# The demo's sites answer SIP OPTIONS from a simulator on loopback (vmeeting/demo/simulator.py), started
# beside the server and stopped with it; development only (it stays off under any other VMEETING_ENV).
SIP_PORT ?= 5070
RUN_ENV += DEMO_SIP_SIMULATOR="$${DEMO_SIP_SIMULATOR-127.0.0.1:$(SIP_PORT)}"

run: install
	$(RUN_ENV) $(FLASK) db upgrade
	$(RUN_ENV) $(FLASK) demo load --if-empty
	$(RUN_ENV) VMEETING_ENV=$${VMEETING_ENV:-development} $(FLASK) demo sip-simulator & simulator=$$!; \
	trap 'kill $$simulator 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) SCHEDULER=$${SCHEDULER:-embedded} VMEETING_ENV=$${VMEETING_ENV:-development} $(FLASK) run --host 127.0.0.1 --port $(PORT)

# The suite in parallel (pytest-xdist): one worker per CPU unless TEST_WORKERS says otherwise. Each worker
# has its own databases, SIP peers, browser and mail servers; `--dist load` hands out single tests, so a
# worker's tests stay ordered by backend and its two databases are each made once. It ends with the 25
# slowest steps and each area's time (tests/conftest.py), so that the suite's growth is seen.
TEST_WORKERS ?= auto

test: install-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist load --durations=25

# Schemathesis at length: 200 examples an operation, each failure shrunk to its smallest case.
fuzz: install-test
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_SHRINK=1 $(BIN)/python -m pytest -p no:cacheprovider tests/apidoc/test_schemathesis.py

# mutmut over the rule modules of [tool.mutmut] (the mutants of [tool.vmeeting.mutation]), two children
# at low priority on a shared machine; the kill rate and the survivors land in bench/mutation/.
# The row-lock tests need PostgreSQL: TEST_DATABASE_URL, by default the local server's.
mutation: export TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
mutation: install-test
	rm -rf mutants
	start=$$(date +%s); \
	$(BIN)/python bench/mutation_report.py --names | xargs nice -n 15 $(BIN)/mutmut run --max-children 2 || true; \
	$(BIN)/python bench/mutation_report.py bench/mutation $$(( $$(date +%s) - start ))

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
