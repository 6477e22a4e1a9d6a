# The two commands: `make run` (the whole stack on this machine) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: install run test unit lint bench deploy clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Reinstall when pyproject.toml changes; check the xmlsec/lxml pairing at once (it fails at import, not install).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[local,dev]'
	$(BIN)/python -c "import xmlsec, lxml.etree; print('xmlsec', xmlsec.__version__, 'libxml2', lxml.etree.LIBXML_VERSION)"
	touch $(STAMP)

install: $(STAMP)

# Debian packages the browser tests need (Chromium and its driver); skipped when already there.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "installing Debian chromium (browser tests)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "warning: could not install chromium; browser tests will fail"; \
	fi

run: install
	$(BIN)/python -m idp.local

test: install lint
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

lint: install
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template template.yaml

bench: install
	$(BIN)/python -m benchmarks

deploy: install
	$(BIN)/sam build && $(BIN)/sam deploy --guided

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache
