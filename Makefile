# melgenre developer tasks. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one a core, at most four; whole test files go to one
# process, so a module's trained fixtures are built once. PYTEST_WORKERS=0 runs in one.
PYTEST_WORKERS ?= auto

.PHONY: help install browser demo lint typecheck pytest docs test dist clean

help:
	@echo "make install    create $(VENV) (if missing) and install melgenre[dev,plot,docs,serve] into it"
	@echo "make demo       set up, then train on built-in demo data, save a model and predict (~2 min)"
	@echo "make test       lint (ruff), type-check (mypy --strict src), tests + examples + doctests,"
	@echo "                docs (Sphinx, warnings are errors), wheel"
	@echo "make docs       build the HTML docs into docs/_build/html (runs the tutorial for its figures)"
	@echo "make browser    install Debian's chromium for the page's browser test (apt-get; CI does this)"
	@echo "make lint | typecheck | pytest | docs | dist | clean"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's metadata changes.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,plot,docs,serve]"
	@touch $@

install: $(STAMP)

# The browser test drives Debian's Chromium with Playwright (no browser download). Without
# it that test is skipped, except under CI, where it fails.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@chromium --version 2>/dev/null

demo: $(STAMP)
	$(BIN)/melgenre demo --out melgenre-demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples docs
	$(BIN)/ruff format --check src tests benchmarks examples docs

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

pytest: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

# A wheel must build and carry the typing marker.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --wheel --outdir dist . > dist.log 2>&1 || (cat dist.log; exit 1)
	@rm -f dist.log
	$(BIN)/python -c "import sys, zipfile, glob; names = zipfile.ZipFile(glob.glob('dist/*.whl')[0]).namelist(); missing = [n for n in ('melgenre/py.typed', 'melgenre/__init__.py', 'melgenre/audio.py', 'melgenre/data/splits/gtzan-fault-filtered/test.txt', 'melgenre/serve/static/app.js') if n not in names]; sys.exit(f'wheel lacks {missing}' if missing else 0)"
	@echo "built $$(ls dist/*.whl)"

# Warnings are errors; the tutorial's figures are made from the demo data while building.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "docs in docs/_build/html/index.html"

test: lint typecheck pytest docs dist

clean:
	rm -rf dist build docs/_build docs/_generated .mypy_cache .ruff_cache .pytest_cache .hypothesis src/*.egg-info
