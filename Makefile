# Two commands do all set-up: `make run` and `make test` (the venv is created on first use).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SCENARIO ?= scenarios/default.yaml

.PHONY: run test fuzz bench docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@echo "compiling the numba kernels once, into their on-disk cache (about 20 s; no run pays it again)"
	$(VENV)/bin/tokensim run scenarios/examples/single_chat.yaml --paths 2 --quiet --out $(VENV)/warm-up > /dev/null
	rm -rf $(VENV)/warm-up
	touch $(STAMP)

OUT ?= outputs/default

# validate, estimate, run and report in one process (tokensim all): the same files as the four commands,
# with Python and the libraries started once
run: $(STAMP)
	$(VENV)/bin/tokensim all $(SCENARIO) --out $(OUT)

# both cores: the tests are independent (each writes under its own tmp_path)
test: $(STAMP)
	$(PY) -m pytest -n 2

# the long fuzz profile (10,000 mutated scenarios, about 70 min on 2 cores); counts in docs/fuzz.md
FUZZ_CASES ?= 10000
fuzz: $(STAMP)
	$(PY) tests/fuzz.py --cases $(FUZZ_CASES) --workers 2

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

docs: $(STAMP)
	$(PY) -m sim.scenario.reference

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache
