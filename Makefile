# The two commands: `make run` (the whole stack on this machine) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install run test unit lint bench deploy clean system-deps build requirements openapi fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when pyproject.toml changes; check the xmlsec/lxml pairing at once (it fails at import, not install).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[local,dev]'
	$(BIN)/python -c "import xmlsec, lxml.etree; print('xmlsec', xmlsec.__version__, 'libxml2', lxml.etree.LIBXML_VERSION)"
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need: Chromium (browser tests) and xmlsec1 (pysaml2, the benchmark's
# comparison IdP, which its smoke test runs). Skipped when already there.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v xmlsec1 >/dev/null 2>&1 || missing="$$missing xmlsec1"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

run: install
	$(BIN)/python -m idp_local

# tests/package runs what this builds, as Lambda would; pytest alone never rebuilds.
# sam build copies the layer's sources without bytecode, and Lambda cannot write it into /opt: compile it
# here (unchecked-hash: valid whatever the zip does to mtimes), or every cold start compiles the layer.
build: install
	$(BIN)/sam build --template template.yaml
	$(BIN)/python -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build > /dev/null

test: install lint system-deps build
	$(BIN)/python -m pytest

unit: install system-deps
	$(BIN)/python -m pytest tests/unit

# ruff (style and correctness), import-linter (the layers of docs/ARCHITECTURE.md), the SAM template.
lint: install
	$(BIN)/ruff check layers functions dev standin tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python dev/write_openapi.py --check
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml

# docs/openapi.json from the admin routes (make lint fails while it is stale).
openapi: install
	$(BIN)/python dev/write_openapi.py

# The long schemathesis run against the local stack (make test runs a short one).
fuzz: install
	FUZZ_EXAMPLES=100 $(BIN)/python -m pytest tests/e2e/test_openapi_fuzz.py -q -p no:cacheprovider

bench: install system-deps build
	$(BIN)/python -m benchmarks

deploy: install
	$(MAKE) build && $(BIN)/sam deploy --guided

# layers/shared/requirements.txt is generated from pyproject.toml's [project].dependencies.
requirements: | $(BIN)/python
	$(BIN)/python dev/sync_layer_requirements.py

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache
