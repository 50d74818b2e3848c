# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
# task supervisors notice a finished task within 1 s, not 5 (see docker-compose.yml)
export AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL ?= 1

.PHONY: setup run airflow test lint es-start es-stop es-status airflow-db scaleout-demo clean

setup: $(VENV)/.installed

$(BIN)/python:
	@echo "setup: creating $(VENV) and installing the pinned dependencies ..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet uv==0.13.9

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	@$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

# The Airflow pool of news_ingest's fetch tasks (config ingest.pool): a scheduler never starts a
# task whose pool does not exist. `airflow dags test` (make run) ignores pools.
NEWS_FETCH_POOL_SLOTS ?= 4

# Migrating takes about 45 s even when nothing changed: it runs only when the database is missing
# or was migrated by another Airflow version or for another pool (a stamp file records both).
AIRFLOW_DB_STAMP = $(AIRFLOW_HOME)/.db-ready

airflow-db: setup
	@mkdir -p $(AIRFLOW_HOME)
	@want=$$($(BIN)/python -c 'import importlib.metadata as m; from pipeline.config import load_settings; print(m.version("apache-airflow"), load_settings().ingest.pool or "", "$(NEWS_FETCH_POOL_SLOTS)")'); \
	if [ -f "$(AIRFLOW_HOME)/airflow.db" ] && [ "$$(cat $(AIRFLOW_DB_STAMP) 2>/dev/null)" = "$$want" ]; then exit 0; fi; \
	echo "airflow: migrating the metadata database (log: $(AIRFLOW_HOME)/db-migrate.log) ..."; \
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1); \
	pool=$$($(BIN)/python -c 'from pipeline.config import load_settings; print(load_settings().ingest.pool or "")'); \
	if [ -n "$$pool" ]; then $(BIN)/airflow pools set "$$pool" $(NEWS_FETCH_POOL_SLOTS) "news_ingest feed groups (config ingest.pool)" >> $(AIRFLOW_HOME)/db-migrate.log 2>&1; fi; \
	echo "$$want" > $(AIRFLOW_DB_STAMP)

## run: set up, start local Elasticsearch, ingest the bundled sample site through the DAG, search
run: setup airflow-db es-start
	@$(BIN)/python scripts/run_demo.py

## airflow: Airflow 3 (scheduler, dag-processor, triggerer, API server and UI, each its own process and log) on 127.0.0.1:$(AIRFLOW_PORT);
## starts Elasticsearch and the sample site as the config needs them; Ctrl-C stops it (README, docs/airflow.md)
AIRFLOW_PORT ?= 8080
airflow: setup airflow-db
	@AIRFLOW_PORT=$(AIRFLOW_PORT) $(BIN)/python scripts/airflow_standalone.py

## scaleout-demo: Airflow's CeleryExecutor without Docker: PostgreSQL, Redis, API server, scheduler,
## dag-processor, two Celery workers and a two-node Elasticsearch cluster on 127.0.0.1 (settings from
## config/scaleout.env, as docker-compose.yml); triggers news_ingest over the bench site, checks the
## run, stops everything (docs/scale-out.md). Needs redis-server and PostgreSQL (.ci/run installs them).
scaleout-demo: setup
	$(BIN)/python bench/scaleout_celery.py --demo

## test: the whole test suite against a real local Elasticsearch node and real local HTTP servers
test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check pipeline dags tests scripts

es-start: setup
	@$(BIN)/python -m pipeline es start > /dev/null  # its stderr says where; stdout repeats the URL for scripts

es-stop: setup
	$(BIN)/python -m pipeline es stop

es-status: setup
	$(BIN)/python -m pipeline es status

clean:
	rm -rf $(VENV) .airflow .pytest_cache .ruff_cache
