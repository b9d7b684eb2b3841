# Two commands on a fresh machine:  `make demo` (set up, scan a demo folder)  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup bytecode demo test lint bench bench-models bench-vault bench-data bench-ml bench-server clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch is pinned in the `ml` extra to the CPU build this machine carries.
	$(BIN)/pip install --quiet -e '.[dev]'
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

# Editable installs never get bytecode when PYTHONDONTWRITEBYTECODE is set (as on these
# machines), and recompiling every module on each run would dominate the CLI's start-up.
bytecode:
	$(BIN)/python -m compileall -q src

setup: $(STAMP)

# Exit code 1 means "findings at or above --fail-on": expected for the demo folder.
demo: $(STAMP)
	$(BIN)/python -m mlwarden_demo demo-models
	$(BIN)/mlwarden scan demo-models || test $$? -eq 1

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -n 2

bench: bench-models bench-vault bench-data bench-ml bench-server

bench-models: $(STAMP) bytecode
	bash benchmarks/anchors.sh
	$(BIN)/python benchmarks/run_scanners.py
	$(BIN)/python benchmarks/startup.py

bench-vault: $(STAMP)
	$(BIN)/python benchmarks/crypto_throughput.py
	$(BIN)/python benchmarks/vault_bench.py --size-mib 1024
	$(BIN)/python benchmarks/ledger_bench.py --entries 1000000

# Presidio and detect-secrets run from their own virtualenvs (benchmarks/.venvs).
bench-data: $(STAMP)
	bash benchmarks/presidio_setup.sh
	test -x benchmarks/.venvs/detect-secrets/bin/detect-secrets || \
	  ($(PYTHON) -m venv benchmarks/.venvs/detect-secrets && \
	   benchmarks/.venvs/detect-secrets/bin/pip install --quiet detect-secrets==1.5.0)
	$(BIN)/python benchmarks/pii_bench.py
	$(BIN)/python benchmarks/secrets_bench.py

bench-ml: $(STAMP)
	bash benchmarks/art_setup.sh
	$(BIN)/python benchmarks/label_errors_bench.py
	$(BIN)/python benchmarks/backdoor_data_bench.py
	$(BIN)/python benchmarks/robustness_bench.py
	$(BIN)/python benchmarks/model_backdoor_bench.py
	bash benchmarks/drift_anchors_setup.sh
	$(BIN)/python benchmarks/drift_bench.py --windows 200 --slow-windows 15

clean:
	rm -rf $(VENV) demo-models .pytest_cache .mypy_cache .ruff_cache

# Gateway overhead: guarded predictions against the same model behind a bare FastAPI route.
# The profiler venv is built with the project's Python (pyinstrument has a C extension).
bench-server: $(STAMP)
	test -x benchmarks/.venvs/pyinstrument/bin/python || \
	  ($(BIN)/python -m venv benchmarks/.venvs/pyinstrument && \
	   benchmarks/.venvs/pyinstrument/bin/pip install --quiet pyinstrument==5.1.3)
	$(BIN)/python benchmarks/gateway_bench.py --profile
