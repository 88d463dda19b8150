# Wild Rydes topic-queue chaining: one Makefile for set-up, checks, synth, deploy and the local cloud.
# `make test` and `make demo` create the environment when it is missing (Python venv + Node tools).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# checkov has its own venv: its pins conflict with the project's boto3/botocore (requirements-checkov.txt).
CHECKOV_VENV := .venv-checkov
# Node 22 from the npm package `node` (package.json) comes first, so jsii runs on a supported Node.
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
CDK    := node_modules/.bin/cdk
CDK_FLAGS := --no-notices --no-version-reporting
RIDES  ?= 60
TARGET ?= aws
PYTEST_ARGS ?=
TEST_WORKERS ?= 3  # `make test` runs a test file per worker; three on two cores, as the local clouds wait on I/O as much as they compute
# Deploying (see docs/deploy.md): every one optional.
CDK_OUT ?= cdk.out
STACK_NAME ?=# e.g. WildRydes-pr-42: an ephemeral stack (default: stackName in cdk.json)
ALARM_EMAIL ?=# overrides alarmEmail in cdk.json for this deploy
POWERTOOLS_PARAMETER ?=# your own SSM parameter holding the Powertools layer ARN, where AWS publishes none
REQUIRE_APPROVAL ?= broadening
# Every deploy passes PowertoolsLayerParameter (POWERTOOLS_PARAMETER, else the template's default):
# with the CLI's default --previous-parameters, an existing stack would keep the previous value, and a
# new Powertools pin would never reach the layer.
CONTEXT := $(if $(STACK_NAME),-c stackName=$(STACK_NAME)) $(if $(ALARM_EMAIL),-c alarmEmail=$(ALARM_EMAIL))
PARAMETERS := $(if $(POWERTOOLS_PARAMETER),--parameters PowertoolsLayerParameter=$(POWERTOOLS_PARAMETER))
PREFLIGHT := $(BIN)/python -m scripts.preflight_command --cdk-out $(CDK_OUT) $(if $(STACK_NAME),--stack-name $(STACK_NAME)) \
	$(if $(POWERTOOLS_PARAMETER),--parameter PowertoolsLayerParameter=$(POWERTOOLS_PARAMETER))

.PHONY: help setup environment test lint unit infra local-tests deploy-tests synth preflight deploy destroy bootstrap diff rehearse demo \
	local smoke bench clean review review-readme bench-review docs bench-page

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# uv installs the pinned requirements (downloads in parallel, bytecode compiled as pip would): set-up on a
# fresh clone took 140 s with pip for the project's venv alone. If uv itself fails, pip does the same install.
UV_VERSION := 0.13.10
# $(call install,PYTHON,ARGUMENTS): uv's install into that interpreter's venv, else pip's
install = $(BIN)/uv pip install --quiet --compile-bytecode --python $(1) $(2) \
	|| $(1) -m pip install --quiet --disable-pip-version-check $(2)

# A stamp per uv version: a new pin installs the new uv; a uv that cannot be installed leaves the work to pip.
$(VENV)/.uv-$(UV_VERSION):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11+ is needed)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python 3.11+ is needed"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) \
		|| echo "warning: uv $(UV_VERSION) could not be installed; pip installs the requirements instead"
	touch $@

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml $(VENV)/.uv-$(UV_VERSION)
	$(call install,$(BIN)/python,-r requirements-dev.txt)
	$(call install,$(BIN)/python,--no-deps --no-build-isolation -e .)
	touch $@

$(CHECKOV_VENV)/bin/.installed: requirements-checkov.txt $(VENV)/.uv-$(UV_VERSION)
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(call install,$(CHECKOV_VENV)/bin/python,-r requirements-checkov.txt)
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found (Node.js is needed for jsii and the CDK CLI)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The three installs are independent: they run side by side, each one's output kept together.
setup: ## create the Python venvs and install the Node tools
	@$(MAKE) --no-print-directory $(if $(filter output-sync,$(.FEATURES)),--output-sync=target) -j3 environment

environment: $(BIN)/.installed $(CHECKOV_VENV)/bin/.installed node_modules/.installed
	@:

lint: setup ## ruff
	$(BIN)/ruff check .

test: setup ## the whole suite: lint, unit, infrastructure (cdk-nag, cfn-lint), local cloud end to end, the docs site
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

unit: setup ## handler and config tests only
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

infra: setup ## template assertions, cdk-nag, cfn-lint
	$(BIN)/python -m pytest tests/infra $(PYTEST_ARGS)

local-tests: setup ## end-to-end tests on the local cloud
	$(BIN)/python -m pytest tests/local $(PYTEST_ARGS)

deploy-tests: setup ## preflight against the local cloud, the rehearsal's moto fixes, the deploy rehearsal
	$(BIN)/python -m pytest tests/deploy $(PYTEST_ARGS)

synth: setup ## synthesize to cdk.out/ (runs cdk-nag; fails on an unacknowledged finding); STACK_NAME
	$(CDK) synth --quiet --output $(CDK_OUT) $(CONTEXT) $(CDK_FLAGS)

preflight: synth ## check the account of your AWS credentials is ready for a deploy; STACK_NAME POWERTOOLS_PARAMETER
	$(PREFLIGHT)

bootstrap: setup ## bootstrap the target account/region (needs AWS credentials)
	$(CDK) bootstrap $(CDK_FLAGS)

diff: synth ## show what a deploy would change (needs AWS credentials); STACK_NAME POWERTOOLS_PARAMETER
	$(CDK) diff --app $(CDK_OUT) $(PARAMETERS) $(CDK_FLAGS)

deploy: synth ## preflight, bootstrap if needed, deploy cdk.out; STACK_NAME ALARM_EMAIL POWERTOOLS_PARAMETER
	$(PREFLIGHT) --bootstrap-follows
	$(CDK) bootstrap --app $(CDK_OUT) $(CDK_FLAGS)
	$(CDK) deploy --app $(CDK_OUT) --require-approval $(REQUIRE_APPROVAL) --no-previous-parameters $(PARAMETERS) \
		$(CDK_FLAGS)

destroy: synth ## delete the stack (tables, logging role are retained: see docs/deploy.md); STACK_NAME
	$(CDK) destroy --app $(CDK_OUT) --force $(CDK_FLAGS)

rehearse: setup ## make deploy + make destroy with the real CDK CLI against moto on this machine (~1 min)
	$(BIN)/python -m scripts.rehearse

local: synth ## run the local cloud in the foreground (Ctrl-C stops it); API_PORT AWS_PORT FAILURE_RATE TIME_SCALE
	$(BIN)/python -m scripts.local_cloud $(if $(API_PORT),--api-port $(API_PORT)) $(if $(AWS_PORT),--aws-port $(AWS_PORT)) \
		$(if $(FAILURE_RATE),--failure-rate $(FAILURE_RATE)) $(if $(TIME_SCALE),--time-scale $(TIME_SCALE))

demo: synth ## synthesize, start the local cloud, send RIDES rides, reconcile
	$(BIN)/python -m scripts.demo --rides $(RIDES)

review: setup ## review the synthesized template: cdk.out/review/REVIEW.md + review.json; BASE=<git ref> STRICT=1
	$(BIN)/python -m scripts.review $(if $(BASE),--base "$(BASE)") $(if $(filter-out 0 false no,$(STRICT)),--strict)

review-readme: setup ## regenerate the README's architecture diagram from the synthesized template
	$(BIN)/python -m scripts.review --update-readme

bench-review: setup ## time make review (beyond synth, with a synth, with BASE); bench/results/review.json
	$(BIN)/python -m bench.review_speed $(if $(RUNS),--runs $(RUNS))

smoke: setup ## prove the deployed stack works (TARGET=local: the running `make local`)
	$(BIN)/wildrydes smoke --target $(TARGET)

bench: synth ## benchmarks (local cloud at load, start/stop/burst, consumer, imports, moto, IAM, alarms, a ride's CPU)
	$(BIN)/python -m bench.local_cloud_load
	$(BIN)/python -m scripts.benchmarks_page
	$(BIN)/python -m bench.local_cloud_lifecycle
	$(BIN)/python -m bench.consumer_records
	$(BIN)/python -m bench.handler_imports
	$(BIN)/python -m bench.send_client
	$(BIN)/python -m bench.moto_sqs
	$(BIN)/python -m bench.iam_decisions
	$(BIN)/python -m bench.alarm_evaluation
	$(BIN)/python -m bench.ride_profile

bench-page: setup ## rewrite docs/generated/ (the load run's table and charts) from bench/results/local_cloud_load.json
	$(BIN)/python -m scripts.benchmarks_page

docs: setup ## build the docs site into site/ with --strict (fails on a broken link, anchor or include)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean: ## remove generated files (keeps the environment)
	rm -rf cdk.out .local .pytest_cache .ruff_cache site
