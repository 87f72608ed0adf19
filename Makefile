# twinslice — the two commands of the README:
#   make run    install into .venv and run the default scenario (campus-video)
#   make test   install into .venv (with test tools and the browser) and run the test suite
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
SCENARIO ?= campus-video
PYTEST_ARGS ?=

.PHONY: setup run test bench lint clean

$(STAMP): pyproject.toml
	@PYBIN=$$(sh runs/setup/find-python.sh) || exit 1; \
	  if [ ! -x "$(PY)" ]; then echo "creating $(VENV) with $$PYBIN"; "$$PYBIN" -m venv $(VENV); fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,ray]"
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/twinslice run $(SCENARIO)

test: setup
	sh runs/setup/browser.sh $(PY)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) runs/benchmarks/world.py
	$(PY) runs/benchmarks/meta.py
	$(PY) runs/benchmarks/model.py

lint: setup
	$(VENV)/bin/ruff check model agents policies visualization runs tests

clean:
	rm -rf $(VENV) runs/out .pytest_cache
