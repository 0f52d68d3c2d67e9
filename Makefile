# The README's commands. Each target sets up what it needs from nothing.
# torch is installed first as torch==2.13.0: on these machines that is a local CPU wheel, and with it
# in place the package's "torch>=2.2" is already satisfied, so pip never downloads CUDA packages.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo lab test chromium bench clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e ".[dev,sweep]"
	touch $@

demo: $(STAMP)
	$(VENV)/bin/rlhf-nb demo

lab: $(STAMP)
	$(VENV)/bin/jupyter lab nbs/tutorials

# The browser test needs Debian's chromium; install it where it is missing and we can.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "make: chromium could not be installed; the browser test will be skipped"; \
	  else echo "make: chromium is missing and cannot be installed here; the browser test will be skipped"; fi; }

# Exported modules in sync with the notebooks, notebooks clean, every notebook run, then tests/.
test: $(DEV_STAMP) chromium
	$(VENV)/bin/pytest

bench: $(DEV_STAMP)
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
