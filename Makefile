# The two set-up commands are `make run` and `make test`; every target installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: help install checkov run test worker beat lint format migrate superuser seed bench fleet clean
.DEFAULT_GOAL := help

help: ## List the targets (a bare `make` does this)
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements/base.txt requirements/local.txt
	$(BIN)/pip install --quiet -r requirements/local.txt
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install requirements/local.txt

# checkov pins versions the project's requirements cannot share (requirements/checkov.txt says which), so it has a
# virtualenv of its own inside .venv; tests/deploy runs it on the rendered Kubernetes manifests.
CHECKOV_VENV := $(VENV)/tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	@touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP) ## Install checkov in .venv/tools/checkov (tests/deploy runs it)

migrate: install ## Apply the database migrations
	$(BIN)/python manage.py migrate --noinput

run: migrate ## Serve on http://127.0.0.1:8000/ (HOST=, PORT= change it; the URLs move it onto real servers)
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Coverage of apps/ and config/ (pytest-cov; settings in pyproject.toml) is printed after the suite; the whole
# suite fails under the floor there, a run narrowed with PYTEST_ARGS only prints it.
test: install checkov ## Run the whole test suite with coverage (PYTEST_ARGS=... to pass options)
	$(BIN)/python -m pytest --cov $(if $(PYTEST_ARGS),--cov-fail-under=0) $(PYTEST_ARGS)

worker: install ## A Celery worker with beat embedded, consuming every queue
	$(BIN)/celery -A config worker --beat --loglevel=INFO --concurrency=$${CELERY_CONCURRENCY:-2}

beat: install ## Celery beat alone (when the workers run without --beat)
	$(BIN)/celery -A config beat --loglevel=INFO

lint: install ## ruff, the format check, mypy and the import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Fix what ruff can and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

superuser: migrate ## Create an admin: asks in a terminal, or reads DJANGO_SUPERUSER_EMAIL and _PASSWORD
	@if [ -n "$$DJANGO_SUPERUSER_EMAIL" ] && [ -n "$$DJANGO_SUPERUSER_PASSWORD" ]; then \
	  $(BIN)/python manage.py createsuperuser --noinput; \
	elif [ -t 0 ]; then \
	  $(BIN)/python manage.py createsuperuser; \
	else \
	  echo "make superuser needs a terminal, or DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD set" >&2; \
	  exit 1; \
	fi

seed: migrate ## Fill the catalog and messages with demo data (SEED_ARGS=... for seed_demo)
	$(BIN)/python manage.py seed_demo $(SEED_ARGS)

bench: install ## Benchmarks (BENCH_ARGS=... for bench.run)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The URLs of the real servers come from the environment, as for `make test` on them (tests/fleet/test_fleet.py).
fleet: install ## The fleet test: PgBouncer, HAProxy, 3 gunicorn, 2 workers, 2 beats; prints its figures
	CI=$${CI:-true} $(BIN)/python -m pytest tests/fleet/test_fleet.py -s $(PYTEST_ARGS)

clean: ## Remove .venv, the tool caches and the coverage data
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .coverage
