# Wild Rydes topic-queue chaining: one Makefile for set-up, checks, synth, deploy and the local cloud.
# `make test` and `make demo` create the environment when it is missing (Python venv + Node tools).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Node 22 from the npm package `node` (package.json) comes first, so jsii runs on a supported Node.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
CDK    := node_modules/.bin/cdk
CDK_FLAGS := --no-notices --no-version-reporting
RIDES  ?= 60
TARGET ?= aws
PYTEST_ARGS ?=

.PHONY: help setup test lint unit infra local-tests synth deploy destroy bootstrap diff demo local smoke bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11+ is needed)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11+ is needed"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found (Node.js is needed for jsii and the CDK CLI)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/.installed node_modules/.installed ## create the Python venv and install the Node tools

lint: setup ## ruff
	$(BIN)/ruff check .

test: setup ## the whole suite: lint, unit, infrastructure (cdk-nag, cfn-lint), local cloud end to end
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: setup ## handler and config tests only
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

infra: setup ## template assertions, cdk-nag, cfn-lint
	$(BIN)/python -m pytest tests/infra $(PYTEST_ARGS)

local-tests: setup ## end-to-end tests on the local cloud
	$(BIN)/python -m pytest tests/local $(PYTEST_ARGS)

synth: setup ## synthesize to cdk.out/ (runs cdk-nag; fails on an unacknowledged finding)
	$(CDK) synth --quiet $(CDK_FLAGS)

bootstrap: setup ## bootstrap the target account/region (needs AWS credentials)
	$(CDK) bootstrap $(CDK_FLAGS)

diff: setup ## show what a deploy would change (needs AWS credentials)
	$(CDK) diff $(CDK_FLAGS)

deploy: setup ## bootstrap if needed, then deploy to the account of your AWS credentials
	$(CDK) bootstrap $(CDK_FLAGS)
	$(CDK) deploy --require-approval broadening $(CDK_FLAGS)

destroy: setup ## delete the stack (tables are retained: see README)
	$(CDK) destroy --force $(CDK_FLAGS)

local: synth ## run the local cloud in the foreground (Ctrl-C stops it); API_PORT AWS_PORT FAILURE_RATE TIME_SCALE
	$(BIN)/python -m scripts.local_cloud $(if $(API_PORT),--api-port $(API_PORT)) $(if $(AWS_PORT),--aws-port $(AWS_PORT)) \
		$(if $(FAILURE_RATE),--failure-rate $(FAILURE_RATE)) $(if $(TIME_SCALE),--time-scale $(TIME_SCALE))

demo: synth ## synthesize, start the local cloud, send RIDES rides, reconcile
	$(BIN)/python -m scripts.demo --rides $(RIDES)

smoke: setup ## prove the deployed stack works (TARGET=local: the running `make local`)
	$(BIN)/wildrydes smoke --target $(TARGET)

bench: setup ## benchmarks (minutes); results are written to bench/results/
	$(BIN)/python -m bench.moto_sqs

clean: ## remove generated files (keeps the environment)
	rm -rf cdk.out .local .pytest_cache .ruff_cache
