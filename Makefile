# Ordna — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Published third-party Fortnox clients, in their own virtualenv: their exact pins conflict
# with ours (requirements-thirdparty.txt; tests/sandbox/test_third_party_client.py).
THIRDPARTY_VENV := .venv-thirdparty
THIRDPARTY_STAMP := $(THIRDPARTY_VENV)/.installed
export FLASK_APP := wsgi.py
LINT_PATHS := $(wildcard app fortnox_sandbox tests benchmarks scripts)

.PHONY: run test soak lint format bench bench-scale clean translations extract-messages thirdparty lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# requirements-dev.txt is the lock of requirements-dev.in (which includes requirements.in): every
# package, pip itself included, at an exact version with its hashes (`make lock` writes it).
$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $(STAMP)

# pip-compile keeps the versions already in the output file unless the .in file needs others
# (`--upgrade-package NAME` via PIP_COMPILE_ARGS moves one). The machine's pip index and
# find-links settings stay out of the files.
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(PIP_COMPILE_ARGS)

## make lock: recompile requirements.txt and requirements-dev.txt (exact pins with hashes) from
## the direct dependencies in requirements.in and requirements-dev.in
lock: $(STAMP)
	$(PIP_COMPILE) --output-file=requirements.txt requirements.in
	$(PIP_COMPILE) --output-file=requirements-dev.txt requirements-dev.in

$(THIRDPARTY_STAMP): requirements-thirdparty.txt
	$(PYTHON) -m venv $(THIRDPARTY_VENV)
	$(THIRDPARTY_VENV)/bin/pip install --quiet -r requirements-thirdparty.txt
	$(THIRDPARTY_VENV)/bin/pip check
	touch $(THIRDPARTY_STAMP)

## make thirdparty: the virtualenv of third-party Fortnox clients the sandbox is tested with
thirdparty: $(THIRDPARTY_STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile -d app/translations

## make run: the app on its embedded defaults (SQLite, bundled Fortnox sandbox, in-process jobs)
run: $(STAMP) translations
	@./scripts/ensure-system-packages.sh runtime
	@mkdir -p instance
	ORDNA_ENV=development $(BIN)/flask db upgrade
	@ORDNA_ENV=development $(BIN)/flask demo-data 2>/dev/null && echo "Loaded demo data." || true
	@ORDNA_ENV=development $(BIN)/python scripts/run_dev.py

# Coverage (pytest-cov) costs the suite about +50 %: measured and printed under CI (CI=true)
# or with `make test COVERAGE=1`. Of app/ only: the sandbox is the tests' Fortnox, and tracing
# it too kept `make test` under CI at the 15-minute mark.
COVERAGE ?= $(if $(filter true 1,$(CI)),1,)
COV_ARGS := $(if $(COVERAGE),--cov=app,)

## make test: the whole suite (SQLite and in-process jobs unless TEST_DATABASE_URL/REDIS_URL are set)
test: $(STAMP) $(THIRDPARTY_STAMP) translations
	./scripts/ensure-system-packages.sh
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy app
	$(BIN)/pytest -q -m "not soak" $(COV_ARGS)

## make soak: the long campaigns (PostgreSQL and Redis as for CI): the Fortnox send fault
## campaign, 200 orders, two RQ workers, faults, a killed worker (tests/soak/test_send_soak.py);
## the generated API campaign, 400 cases an operation as an admin and 50 as a technician
## (tests/soak/test_api_fuzz_soak.py, test_api_fuzz_technician_soak.py); the
## protocol PDF of the largest order the limits allow (tests/soak/test_protocol_soak.py)
soak: $(STAMP)
	ORDNA_SOAK=1 $(BIN)/pytest -q -s -m soak tests/soak

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy app
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

bench: $(STAMP)
	@for f in $(filter-out benchmarks/bench_scale.py,$(wildcard benchmarks/bench_*.py)); do \
		echo "== $$f"; $(BIN)/python $$f || exit 1; done

## make bench-scale: every page and API list at 100 000 orders in PostgreSQL, served by
## gunicorn (issue #18; a few minutes; BENCH_SCALE_DATABASE, default ordna_scale)
bench-scale: $(STAMP) translations
	$(BIN)/python benchmarks/bench_scale.py

extract-messages: $(STAMP)
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -o app/translations/messages.pot .
	$(BIN)/pybabel --quiet update -i app/translations/messages.pot -d app/translations

clean:
	rm -rf $(VENV) $(THIRDPARTY_VENV) instance/ordna.sqlite3
