# Plinth: two commands on a fresh machine — `make preview` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ENV ?= local
STAMP := $(VENV)/.installed
# checkov (tests/test_checkov.py) has its own virtualenv: its pins conflict with ours.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
CHECKOV_REQUIREMENTS := tests/checkov-requirements.txt

.PHONY: help install preview synth graph test lint typecheck unit checkov-venv docs bench clean

help:
	@echo "make preview   create the virtualenv, install, synthesize and policy-check '$(ENV)'"
	@echo "make test      lint, type-check and run the test suite"
	@echo "make bench     wall time and peak memory of plinth synth and check per environment"
	@echo "make docs      regenerate docs/configuration.md and policies/config/ from the code"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(CHECKOV_STAMP): $(CHECKOV_REQUIREMENTS)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(CHECKOV_REQUIREMENTS)
	touch $(CHECKOV_STAMP)

checkov-venv: $(CHECKOV_STAMP)

preview: $(STAMP)
	$(BIN)/plinth synth $(ENV)
	$(BIN)/plinth check $(ENV) --plan out/$(ENV)/plan.json

synth: preview

graph: $(STAMP)
	$(BIN)/plinth graph $(ENV)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy plinth stacks targets components clouds addons policies tests bench

unit: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/pytest

test: lint typecheck unit

docs: $(STAMP)
	$(BIN)/python -m plinth.reference > docs/configuration.md
	$(BIN)/python -m plinth.policy_config
	$(BIN)/python -m plinth.sdk_tags

bench: $(STAMP)
	$(BIN)/python bench/bench_synth.py

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache
