# stenogram: `make demo` and `make test` work from a bare machine with python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   ?= data
# Test processes (pytest-xdist). Whole test files go to one worker (--dist loadfile), so a
# module's shared world (a crawl, a pywb, a browser) is built once; TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2

.PHONY: install demo serve test lint bench audit docs reference clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: install
	$(BIN)/stenogram demo --data $(DATA)

# Read the demo's corpus in a browser; builds pywb's venv (.venv-tools) first for the replay.
serve: install
	bash tools/setup-tools.sh
	$(BIN)/stenogram serve --db $(DATA)/corpus.db

test: install
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

# ruff, mypy (baselines that may only shrink: tools/checks-baseline.json) and the layer contracts.
lint: install
	$(BIN)/python tools/checks.py

# The docs site, built strictly (docs/, mkdocs.yml); reference pages regenerated from the code.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

reference: install
	$(BIN)/python tools/gen_reference.py

# Known vulnerabilities of the pinned tree (tools/advisories.toml; --online also asks PyPI).
audit: install
	$(BIN)/python tools/audit.py --online

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(DATA) build site *.egg-info
