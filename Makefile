# Plinth: two commands on a fresh machine — `make preview` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ENV ?= local
# uv installs the virtualenv: pip took 50 s for what uv installs in 5 (docs/benchmarks.md).
UV_VERSION := 0.13.9
UV := $(BIN)/uv
# What `make preview` (and every plinth command) needs; `make install` adds pip, which the
# Pulumi CLI runs in the virtualenv; `make test` adds the development tools.
STAMP := $(VENV)/.installed
INSTALL_STAMP := $(VENV)/.installed-pip
DEV_STAMP := $(VENV)/.installed-dev
AZURE_STAMP := $(VENV)/.installed-azure
# An environment whose cluster Plinth creates on AKS needs the azure extra.
ENV_NEEDS := $(if $(shell grep -qs '^ *target: aks' environments/Pulumi.$(ENV).yaml && echo y),$(AZURE_STAMP))
# checkov (tests/test_checkov.py) has its own virtualenv: its pins conflict with ours.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_REQUIREMENTS := tests/checkov-requirements.txt
# MLflow (the real-server contract test, tests/components/test_mlflow_contract.py) has its
# own virtualenv too: its dependencies conflict with ours.
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed
MLFLOW_REQUIREMENTS := tests/mlflow-requirements.txt
# Azurite (Azure Storage emulator) from npm for the Azure Blob tests: the version and
# its dependencies locked in .ci/azurite/package-lock.json (3.35.0, the last release that
# runs on Node 20), installed by `npm ci` into .ci/azurite/node_modules, which git ignores.
AZURITE_DIR := .ci/azurite
AZURITE_STAMP := $(AZURITE_DIR)/node_modules/.installed
# Installers show their progress on a terminal; in a log (stdout not a terminal) they say
# nothing but errors: a recipe line starting with $(QUIET) passes them $$q.
QUIET = q=--quiet; [ -t 1 ] && q=;

.PHONY: help install install-azure preview synth graph test lint typecheck unit promtool postgresql checkov-venv mlflow-venv docs bench clean

help:
	@echo "make preview   create the virtualenv, install, synthesize and policy-check '$(ENV)'"
	@echo "make test      install the development tools, lint, type-check, run the test suite"
	@echo "make install   the virtualenv Pulumi.yaml names, for pulumi up"
	@echo "make install-azure  add pulumi-azure-native, which aks environments need"
	@echo "make bench     plinth preview, synth and check against the SDKs' import time"
	@echo "make docs      regenerate docs/configuration.md, policies/config/, the tags table"

# A virtualenv without pip (creating pip in it takes longer than uv's whole install), then
# uv from PyPI into it, by the system's pip; where that pip cannot (too old, or absent), a
# virtualenv with pip, and uv by it.
$(UV):
	@echo "plinth: creating $(VENV) with uv $(UV_VERSION)"
	$(PYTHON) -m venv --without-pip $(VENV)
	$(QUIET) $(PYTHON) -m pip --python $(BIN)/python install $$q --disable-pip-version-check \
		uv==$(UV_VERSION) \
	|| { $(PYTHON) -m venv --clear $(VENV) \
		&& $(BIN)/pip install $$q --disable-pip-version-check uv==$(UV_VERSION); }

$(STAMP): pyproject.toml | $(UV)
	@echo "plinth: installing what plinth preview needs into $(VENV)"
	$(QUIET) $(UV) pip install $$q --python $(BIN)/python -e .
	touch $@

$(INSTALL_STAMP): $(STAMP)
	$(QUIET) $(UV) pip install $$q --python $(BIN)/python pip
	touch $@

$(DEV_STAMP): $(STAMP)
	@echo "plinth: installing the development tools into $(VENV)"
	$(QUIET) $(UV) pip install $$q --python $(BIN)/python -e '.[dev]'
	touch $@

install: $(INSTALL_STAMP)

$(AZURE_STAMP): $(STAMP)
	@echo "plinth: installing pulumi-azure-native (the aks target) into $(VENV)"
	$(QUIET) $(UV) pip install $$q --python $(BIN)/python -e '.[azure]'
	touch $@

install-azure: $(INSTALL_STAMP) $(AZURE_STAMP)

$(CHECKOV_STAMP): $(CHECKOV_REQUIREMENTS) | $(UV)
	@echo "plinth: installing checkov into $(CHECKOV_VENV)"
	$(UV) venv --quiet --clear --python $(PYTHON) $(CHECKOV_VENV)
	$(QUIET) $(UV) pip install $$q --python $(CHECKOV_VENV)/bin/python \
		-r $(CHECKOV_REQUIREMENTS)
	touch $@

checkov-venv: $(CHECKOV_STAMP)

$(MLFLOW_STAMP): $(MLFLOW_REQUIREMENTS) | $(UV)
	@echo "plinth: installing mlflow into $(MLFLOW_VENV)"
	$(UV) venv --quiet --clear --python $(PYTHON) $(MLFLOW_VENV)
	$(QUIET) $(UV) pip install $$q --python $(MLFLOW_VENV)/bin/python \
		-r $(MLFLOW_REQUIREMENTS)
	touch $@

mlflow-venv: $(MLFLOW_STAMP)

$(AZURITE_STAMP): $(AZURITE_DIR)/package-lock.json
	@echo "plinth: installing azurite into $(AZURITE_DIR)/node_modules"
	$(QUIET) npm ci $$q --prefix $(AZURITE_DIR) --no-audit --no-fund
	touch $@

.PHONY: azurite
azurite: $(AZURITE_STAMP)

# Synth, render and check in one process (`plinth preview`): the files `plinth synth ENV`
# writes, its lines per component, then the table of `plinth check ENV --plan`.
preview: $(STAMP) $(ENV_NEEDS)
	$(BIN)/plinth preview $(ENV)

synth: preview

graph: $(STAMP) $(ENV_NEEDS)
	$(BIN)/plinth graph $(ENV)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy plinth stacks targets components clouds addons policies tests bench

# The alert rule tests run the real promtool (the Debian package prometheus); it is
# installed when missing and root can, and its server is never started.
promtool:
	@command -v promtool >/dev/null 2>&1 \
		|| sh tests/install-debian-package.sh prometheus "promtool (for the alert rule tests)"

# The MLflow contract test starts a real PostgreSQL (the Debian package postgresql, its
# binaries under /usr/lib/postgresql/<major>/bin); installed when missing and root can, its
# cluster and service never started.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| sh tests/install-debian-package.sh postgresql "PostgreSQL (for the MLflow contract test)"

unit: $(DEV_STAMP) $(CHECKOV_STAMP) $(MLFLOW_STAMP) $(AZURITE_STAMP) promtool postgresql
	$(BIN)/pytest

test: lint typecheck unit

docs: $(DEV_STAMP)
	$(BIN)/python -m plinth.reference > docs/configuration.md
	$(BIN)/python -m plinth.policy_config
	$(BIN)/python -m plinth.sdk_tags

bench: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/python bench/bench_synth.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
