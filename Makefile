# The two commands: `make run` (the whole stack on this machine) and `make test` (the whole suite).
SHELL := /bin/bash
# The Lambda runtime is python3.13: the venv runs the same Python. A python3.13 on PATH that runs, else
# pyenv's, else stop and say how to get one.
PYTHON ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13 /usr/local/bin/python3.13 /usr/bin/python3.13; do \
	  $$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# sam build and the packaged smoke tests look for `python3.13` on PATH: the venv's.
export PATH := $(abspath $(BIN)):$(PATH)
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install run test unit lint bench deploy clean system-deps build requirements openapi fuzz audit

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "python3.13 not found: install it (pyenv install 3.13, or your OS's python3.13 package)" \
	  "or run make PYTHON=/path/to/python3.13" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when pyproject.toml changes; check the xmlsec/lxml pairing at once (it fails at import, not install).
$(STAMP): pyproject.toml | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || \
	  { echo "$(VENV) runs another Python than 3.13 (the Lambda runtime): make clean, then make install" >&2; exit 1; }
	$(BIN)/pip install -q -e '.[local,dev]'
	$(BIN)/python -c "import xmlsec, lxml.etree; print('xmlsec', xmlsec.__version__, 'libxml2', lxml.etree.LIBXML_VERSION)"
	touch $(STAMP)

install: $(STAMP)

# Tools with dependency pins of their own, each in a venv of its own beside the project's.
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/tools/checkov/bin/checkov
$(CHECKOV): | $(BIN)/python
	$(BIN)/python -m venv $(VENV)/tools/checkov
	$(VENV)/tools/checkov/bin/pip install -q "checkov==$(CHECKOV_VERSION)"
PIP_AUDIT_VERSION := 2.10.1
PIP_AUDIT := $(VENV)/tools/pip-audit/bin/pip-audit
$(PIP_AUDIT): | $(BIN)/python
	$(BIN)/python -m venv $(VENV)/tools/pip-audit
	$(VENV)/tools/pip-audit/bin/pip install -q "pip-audit==$(PIP_AUDIT_VERSION)"

# Known vulnerabilities in what the layer ships (its lock). Needs PyPI's JSON API or OSV: not in `make lint`,
# because neither answers from the machine CI runs on (PyPI's mirror here has no JSON API; api.osv.dev does not
# resolve), and --strict fails on every package it cannot look up rather than pass it unaudited.
audit: $(PIP_AUDIT)
	$(PIP_AUDIT) -r layers/shared/requirements.txt --require-hashes --disable-pip --strict --progress-spinner off

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

# `sam build` twice: .aws-sam/build is what `make deploy` ships (the template's default, arm64; tests/package
# checks its binaries), .aws-sam/build-x86_64 is what tests/package runs as Lambda would (this machine cannot
# execute aarch64 code). pytest alone never rebuilds.
# sam build copies the layer's sources without bytecode, and Lambda cannot write it into /opt: compile it
# here (unchecked-hash: valid whatever the zip does to mtimes), or every cold start compiles the layer.
build: install
	$(BIN)/sam build --template template.yaml
	$(BIN)/sam build --template template.yaml --build-dir .aws-sam/build-x86_64 --parameter-overrides Architecture=x86_64
	$(BIN)/python -m compileall -q -j 0 --invalidation-mode unchecked-hash .aws-sam/build .aws-sam/build-x86_64 > /dev/null

test: install lint system-deps build
	$(BIN)/python -m pytest

unit: install system-deps
	$(BIN)/python -m pytest tests/unit

# ruff (style and correctness), import-linter (the layers of docs/ARCHITECTURE.md), mypy (the types: [tool.mypy] in
# pyproject.toml), the OpenAPI document and the layer's lock (stale?), the SAM template (cfn-lint, sam validate,
# checkov: every skip is in the template with its reason).
lint: install $(CHECKOV)
	$(BIN)/ruff check layers functions dev standin tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python dev/write_openapi.py --check
	$(BIN)/python dev/sync_layer_requirements.py --check
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml
	$(CHECKOV) -f template.yaml --framework cloudformation --compact --quiet --skip-download

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

# layers/shared/requirements.txt, the layer's lock, resolved from pyproject.toml's [project].dependencies.
# Not after `install`: that installs the lock being replaced.
requirements: | $(BIN)/python
	$(BIN)/pip install -q "$$(grep -o 'uv==[0-9.]*' pyproject.toml)"
	$(BIN)/python dev/sync_layer_requirements.py

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache
