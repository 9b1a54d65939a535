# The few commands a person types. Everything else is `lakecdp <command>` (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
# The demo extra (the synthetic world's Faker) is part of every local install: the demo and
# the tests generate worlds. A deployment installs the package without it.
RUN := $(UV) run --frozen --extra demo
JARS_DIR := .cache/jars
VENV_STAMP := .venv/.lakecdp-installed
JARS_STAMP := $(JARS_DIR)/.installed
CLASS_ARCHIVE := $(JARS_DIR)/spark-classes.jsa

.PHONY: help install uv jars services demo test test-fast lint format bench-ingest bench-identity bench-febrl bench-dbt bench-serve bench-sync bench-demo bench-airflow collect stream sql sql-shell serve mlflow feast-ui airflow airflow-stop clean

help:
	@echo "make demo          install what is missing, then run the end-to-end demo"
	@echo "make test          install what is missing, then run the test suite"
	@echo "make bench-ingest  collector throughput/latency and micro-batch freshness benchmark"
	@echo "make bench-identity connected components at 1M/10M edges, resolver throughput"
	@echo "make bench-febrl   identity resolve on the public FEBRL person-record datasets"
	@echo "make bench-dbt     dbt build + gates on a 100k-customer world, then an incremental rebuild"
	@echo "make bench-serve   /v1/decide against feast serve, same store and load (SQLite, Redis)"
	@echo "make bench-sync   1M-row audience diff and PostgreSQL load, HTTP sync under injected faults"
	@echo "make bench-demo    the demo on a fresh lakehouse, then rerun on it: seconds per step"
	@echo "make bench-airflow after make demo: lakecdp_daily rerun for the same interval, tables unchanged?"
	@echo "make lint          ruff check + format check, import rules, SQL lint"
	@echo "make sql           SQL endpoint for analysts: jdbc:hive2://localhost:10000 (docs/catalog.md)"
	@echo "make sql-shell     spark-sql shell on the same shared catalog"
	@echo "make serve         the decision endpoint: POST /v1/decide on http://127.0.0.1:8090"
	@echo "make mlflow        MLflow UI on the project's runs and models: http://127.0.0.1:5000"
	@echo "make feast-ui      Feast UI on the lakehouse's feature registry: http://127.0.0.1:8888"
	@echo "make services      start the local PostgreSQL (Hive metastore) and Redis if they are down"
	@echo "make airflow       Airflow on http://localhost:8080 running dags/ (docs/orchestration.md)"
	@echo "make airflow-stop  stop what make airflow started"

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check uv

# Bytecode compiled once at install: with PYTHONDONTWRITEBYTECODE set (as in many containers)
# every process, Spark's Python workers included, would otherwise compile pandas, pyarrow and
# pyspark from source again (1.9 s instead of 0.5 s to import them here).
$(VENV_STAMP): pyproject.toml uv.lock | uv
	$(UV) sync --frozen --compile-bytecode --extra demo
	@touch $@

# Delta and JDBC jars, copied once from Maven Central; Spark runs offline afterwards.
$(JARS_STAMP): infra/jars/pom.xml
	mkdir -p $(JARS_DIR)
	mvn -q -B -f infra/jars/pom.xml dependency:copy-dependencies \
		-DoutputDirectory=$(CURDIR)/$(JARS_DIR) -DincludeScope=runtime \
		-DexcludeGroupIds=org.scala-lang,org.antlr
	@touch $@

# The classes a Spark driver with Delta loads, archived once (JDK class-data sharing): every
# later driver JVM starts about 2.7 s sooner. Not made (and not needed) if this step fails.
$(CLASS_ARCHIVE): $(JARS_STAMP) $(VENV_STAMP)
	$(RUN) python infra/jars/archive_classes.py $@

install: $(VENV_STAMP) $(JARS_STAMP) $(CLASS_ARCHIVE)
jars: $(JARS_STAMP)

# Local services the platform talks to: PostgreSQL (Hive metastore) and Redis (online store,
# frequency caps). Idempotent.
services:
	infra/postgres/ensure.sh
	infra/redis/ensure.sh

demo: install services
	$(RUN) lakecdp demo

# Lint first (style and the import rules of docs/architecture.md): CI runs `make test` alone.
test: install services lint
	$(RUN) pytest

test-fast: install
	$(RUN) pytest -m "not spark"

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports
	$(RUN) sqlfluff lint dbt/models dbt/snapshots --config dbt/.sqlfluff

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench-ingest: install
	$(RUN) python -m benchmarks.bench_ingest

bench-identity: install
	$(RUN) python -m benchmarks.bench_identity

bench-febrl: install
	$(RUN) python -m benchmarks.bench_febrl

bench-dbt: install
	$(RUN) python -m benchmarks.bench_dbt

bench-serve: install services
	$(RUN) python -m benchmarks.bench_serve

bench-sync: install services
	$(RUN) python -m benchmarks.bench_sync

bench-airflow: install services
	$(RUN) python -m benchmarks.bench_airflow

bench-demo: install
	$(RUN) python -m benchmarks.bench_demo

sql: install services
	$(RUN) lakecdp sql serve

# Airflow (api-server with the UI, scheduler, dag-processor, triggerer) in the background, its
# metadata database on the project's PostgreSQL; prints how to log in.
airflow: install services
	$(RUN) lakecdp airflow start

airflow-stop: install
	$(RUN) lakecdp airflow stop

sql-shell: install services
	$(RUN) lakecdp sql shell

serve: install
	$(RUN) lakecdp serve

# The MLflow and Feast UIs on this lakehouse's model store and feature registry, in the foreground.
mlflow: install
	$(RUN) lakecdp ui mlflow

feast-ui: install
	$(RUN) lakecdp ui feast

clean:
	rm -rf .lakehouse spark-warehouse metastore_db derby.log
