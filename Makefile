# The two README commands are `make demo` and `make test`; each builds .venv on first use.
# The venv's interpreter: Debian's CPython 3.11 where the machine has one (built with PGO and LTO,
# it runs the test suite on about 5% less CPU than pyenv's default build), else python3.11 on PATH.
PYTHON ?= $(or $(wildcard /usr/bin/python3.11),python3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins

.PHONY: venv test lint demo bench bench-smoke erp-bench reliability e2e-celery clean

venv: $(STAMP)

# The production distribution (include/) and the development ones (dev/: sandbox, reference ERP,
# demo/bench/reliability tools), all editable.
DISTS := include dev/fincome-erp dev/fincome-sandbox dev/fincome-dev
# uv (pinned in constraints.txt) installs the pinned set into the venv: the same packages as pip,
# in a fraction of its time. Their bytecode is compiled once, here (~5 s on 2 cores): else a
# first test run's processes compile what they import, six workers at once, and those started
# under PYTHONDONTWRITEBYTECODE (set on the CI machines) keep none of what they compile before
# tests/conftest.py.
UV_PIP := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(STAMP): requirements.txt constraints.txt $(addsuffix /pyproject.toml,$(DISTS))
	.ci/system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt uv
	$(UV_PIP) -r requirements.txt -c constraints.txt
	$(UV_PIP) --no-deps $(addprefix -e ,$(DISTS))
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Test files spread over PYTEST_WORKERS processes (each with its own Airflow home, see
# tests/conftest.py), the slow ones first; a file's tests stay together, so module fixtures start
# once, but the slow tests of a few files go one by one (tests/support/schedule.py). Much of an
# end-to-end test's time is spent waiting on Airflow's processes: six workers on two cores
# (5 min 32 s against 5 min 59 s with five and 6 min 12 s with seven, the same tree, 2026-11-30).
PYTEST_WORKERS ?= 6

# The slowest tests are listed at the end of the run: where a CI machine's minutes went.
test: venv lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

# The CeleryExecutor cluster (deploy/cluster.env) as local processes; `make test` runs it too.
e2e-celery: venv
	$(BIN)/pytest tests/e2e/test_celery_cluster.py

demo: venv
	$(BIN)/python -m fincome_dev.demo

bench: venv
	$(BIN)/python -m fincome_dev.bench $(BENCH_ARGS)

bench-smoke: venv
	$(BIN)/python -m fincome_dev.bench --smoke

reliability: venv
	$(BIN)/python -m fincome_dev.reliability --run

erp-bench: venv
	$(BIN)/python -m fincome_erp generate --url postgresql+psycopg2://postgres@127.0.0.1:5432/fincome_erp_bench --months 2026-10 --invoices 1000000 --replace --timed

clean:
	rm -rf $(VENV) .airflow .pytest_cache build
