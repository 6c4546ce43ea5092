# The two commands a newcomer needs: `make run` and `make test`. Both create .venv/ on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-stamp
# uv installs the same packages at the same pins as pip would (requirements.lock), but asks the index and
# downloads in parallel: 11 s instead of pip's 40 s here, most of which is pip asking the index about each
# package in turn. uv itself comes from pip, pinned; where uv cannot install (say, an index only pip.conf
# names), pip does it instead.
UV_VERSION := 0.13.9
PIP := $(BIN)/pip install --quiet --disable-pip-version-check --no-compile
# uv reads the system's certificates (--system-certs), as pip does here. $(call) splits its arguments at
# commas, so the lists of extras are variables.
INSTALL = { [ -x $(BIN)/uv ] && $(BIN)/uv pip install --quiet --system-certs --python $(BIN)/python -c requirements.lock $(1); } \
	|| { echo "uv could not install $(1); pip installs it instead"; $(PIP) -c requirements.lock $(1); }
TEST_PACKAGES := -e '.[dev,cluster]'
BENCH_PACKAGES := -e '.[dev,cluster,bench]'
# Neither compiles what it installs here; compileall does it in one process per CPU afterwards (pip
# compiling each file in turn took 20 s longer on two cores), leaving out the packages' own test folders
# (a fifth of the code, never imported by the pipeline). A file that does not compile (none here), or
# one left out, compiles when imported.
COMPILE := $(BIN)/python -m compileall -qq -j 0 -x '/tests?/' $(VENV)/lib || echo "some installed files did not compile (they compile when imported)"

.PHONY: chromium-if-possible cluster-servers test-cluster bench-cluster run test test-fast lint format dev release clean install bench bench-run bench-crawl bench-render bench-probe bench-hostile chromium libreoffice

install: $(STAMP)

# what the pipeline itself needs: `make run` installs no more
$(RUN_STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) 'uv==$(UV_VERSION)' || echo "could not install uv; pip installs the packages"
	$(call INSTALL,-e .)
	$(COMPILE)
	touch $(RUN_STAMP)

# and the tools of the tests and benchmarks, and the cluster's packages (dagster-celery,
# dagster-postgres, redis): the tests check its definitions
$(STAMP): $(RUN_STAMP)
	$(call INSTALL,$(TEST_PACKAGES))
	$(COMPILE)
	touch $(STAMP)

## Run the whole pipeline on the built-in demo (portal simulator + demo inputs); prints the release path.
## Installs Debian's chromium first where it can (root or passwordless sudo), for rendering and the browser audit.
run: $(RUN_STAMP) chromium-if-possible
	$(BIN)/portal-index run --demo

## Run the test suite, in TEST_WORKERS processes (pytest-xdist), each test file in one of them
## (pyproject.toml's addopts hold the distribution, and three processes for `pytest` alone), in the order
## tests/conftest.py gives; the demo run the pipeline tests read is made once, by the first worker that
## needs it (tests/conftest.py), and the files that need it are handed out once it is done
## (tests/scheduling.py).
TEST_WORKERS ?= 3
test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS)

## The demo on a cluster on loopback: PostgreSQL, Redis, the Dagster daemon and two Celery workers at two
## vantages, started and stopped by the test (docs/deploy.md). Installs Debian's postgresql and redis-server
## where missing (root or sudo).
test-cluster: $(STAMP) cluster-servers chromium-if-possible
	$(BIN)/pytest -n 0 --cluster tests/cluster

## Render and audit pages per minute on the cluster, with one and with two browser workers (prints figures).
bench-cluster: $(STAMP) cluster-servers chromium-if-possible
	$(BIN)/python -m benchmarks.bench_cluster

## The fast tests: unit tests and quick simulator tests, no pipeline run, browser or long timeout; each test file
## in one process, as `make test` does, so a file's module fixtures are made once.
test-fast: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not slow"

## Lint and check the formatting (ruff, configured in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Format the code and fix what ruff can fix by itself.
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Start the Dagster webserver and daemon on the project (http://127.0.0.1:3000).
dev: $(STAMP)
	$(BIN)/portal-index dev

## Validate the current warehouse and publish a release.
release: $(STAMP)
	$(BIN)/portal-index release

## Benchmark the crawler against a plain Scrapy spider and a raw client on the simulator (prints figures).
bench-crawl: $(STAMP)
	$(call INSTALL,$(BENCH_PACKAGES))
	$(COMPILE)
	$(BIN)/python -m benchmarks.bench_crawl
	$(BIN)/python -m benchmarks.bench_render

## App-shell pages rendered in headless Chromium: pages/min, CPU s per page (browser included), peak browser memory.
bench-render: $(STAMP)
	$(BIN)/python -m benchmarks.bench_render

## The pipeline at 1,000, 3,000 and 10,000 portals x 182 days of hourly probes (synthetic inputs kept in
## var/bench, about 10 GB): per stage wall, CPU, peak memory and rows/s, against the DuckDB floor.
## BENCH_ARGS="--sizes 1000 --days 30" for a quick run.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_pipeline $(BENCH_ARGS)

## Peak memory and time of the input checks on hostile files (docs/inputs.md).
bench-hostile: $(STAMP)
	$(BIN)/python -m benchmarks.bench_hostile

## The demo run cold, then three times warm in the same working folder: wall and CPU time, the longest steps.
bench-run: $(RUN_STAMP) chromium-if-possible
	$(BIN)/python -m benchmarks.bench_run $(BENCH_ARGS)

## Compare the prober's timings with curl's on the same URLs; prints differences and probes/s.
bench-probe: $(STAMP)
	$(BIN)/python -m benchmarks.bench_probe

## Install Debian's chromium (the accessibility audit, the report's browser test) and chromium-headless-shell
## (rendering app-shell pages during the crawl); needs root or sudo.
chromium:
	{ command -v chromium && command -v chromium-headless-shell; } >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-headless-shell; }

## Install Debian's PostgreSQL and Redis servers (the cluster: make test-cluster, docs/deploy.md); needs root
## or sudo. No service is started: the cluster starts its own on loopback.
cluster-servers:
	{ command -v redis-server && ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1 || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server; }

## Install Debian's LibreOffice Calc without its recommended packages (the workbook's test in LibreOffice,
## tests/integration/test_workbook_libreoffice.py); needs root or sudo. `make run` does not need it.
libreoffice:
	{ command -v soffice || command -v libreoffice; } >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc; }

# Like `chromium`, but only where it can run without asking for a password; else one line saying how.
chromium-if-possible:
	@if command -v chromium >/dev/null && command -v chromium-headless-shell >/dev/null; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	  echo "No Chromium here: the demo skips rendering and the browser audit (install Chromium and set PORTAL_INDEX_CHROMIUM)."; \
	  exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	  echo "No Chromium here: the demo skips rendering and the browser audit. \`make chromium\` installs Debian's chromium (needs root or sudo)."; \
	  exit 0; fi; \
	echo "Installing Debian's chromium for rendering and the browser audit (make chromium)…"; \
	{ $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-headless-shell >/dev/null; } \
	  || echo "Could not install chromium; the demo skips rendering and the browser audit (try: make chromium)."

## Remove generated state (the working folder var/, dbt artifacts) but keep .venv/.
clean:
	rm -rf var dbt_project/target dbt_project/logs .pytest_cache
