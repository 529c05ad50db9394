# icr.auth — build and test harness (GNU make).
#
#   make test         everything CI runs: venv, collection, sanity, units, matrix, integration,
#                     functional, lint, docs, dist; ends with a summary and a closing
#                     "total: N passed, N failed, N skipped" line
#   make venv         .venv with the pinned test tools (requirements-test.txt)
#   make collection   copy the tree to build/ansible_collections/icr/auth (ansible-test runs there)
#   make sanity       ansible-test sanity --venv (every Python 3.8-3.13 found for compile/import)
#   make units        ansible-test units --venv --python 3.11
#   make matrix       sanity + units with ansible-core 2.17 and 2.18 (.venv-2.17, .venv-2.18)
#   make integration  ansible-test integration on this host (targets in tests/integration/targets)
#   make functional   pytest tests/emulator/tests, tests/infra/tests, tests/functional
#   make lint         ansible-lint (roles/, playbooks/, the docs' examples), ansible-doc of every
#                     module and role, antsibull-changelog lint, ansible-builder introspect
#   make docs         docsite with antsibull-docs + Sphinx in build/docsite (fails on any warning)
#   make dist         ansible-galaxy collection build into build/dist
#   make clean        remove build/, .venv/ and caches
#
# Every tool runs from .venv; ansible-test gets HOME=build/home (see scripts/ansible-test.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
# Interpreter for .venv: ansible-core 2.19's controller needs Python 3.11-3.13.
PYTHON ?= $(firstword $(shell command -v python3.11 python3 2>/dev/null))
VENV := $(ROOT)/.venv
VBIN := $(VENV)/bin
VENV_STAMP := $(VENV)/.installed
BUILD := $(ROOT)/build
COLLECTIONS := $(BUILD)
COLL := $(BUILD)/ansible_collections/icr/auth
REPORTS := $(BUILD)/reports
ANSIBLE_TEST := $(ROOT)/scripts/ansible-test.sh

# Extra arguments, e.g. make sanity SANITY_ARGS='--test pylint', make units UNITS_PYTHON=3.12
# (UNITS_PYTHON= runs module and module_utils unit tests on every Python 3.8-3.13 found)
SANITY_ARGS ?=
# Empty: run multi-version sanity tests (compile, import) on every interpreter found.
SANITY_PYTHON ?=
UNITS_PYTHON ?= 3.11
UNITS_ARGS ?=
INTEGRATION_PYTHON ?= 3.11
INTEGRATION_ARGS ?=
PYTEST_ARGS ?=

# Copy ansible-test's junit files of one step into build/reports/<step>/.
define collect_junit
mkdir -p $(REPORTS)/$(1); \
if compgen -G '$(COLL)/tests/output/junit/*.xml' >/dev/null; then mv $(COLL)/tests/output/junit/*.xml $(REPORTS)/$(1)/; fi
endef

.PHONY: help venv collection sanity units matrix integration functional lint dist test clean \
	$(if $(wildcard $(ROOT)/scripts/demo.sh),demo) $(if $(wildcard $(ROOT)/scripts/bench.sh),bench) $(if $(wildcard $(ROOT)/scripts/docs.sh),docs)

help:
	@sed -n '3,20p' $(ROOT)/Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- environment
venv: $(VENV_STAMP)

$(VENV_STAMP): $(ROOT)/requirements-test.txt
	@test -n "$(PYTHON)" || { echo "venv: no python3.11/python3 found" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "venv: $(PYTHON) is Python %d.%d; ansible-core 2.19 needs 3.11+" % sys.version_info[:2])'
	@test -x $(VBIN)/python || { echo "venv: creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "venv: installing requirements-test.txt"
	@$(VBIN)/python -m pip install --disable-pip-version-check -r $(ROOT)/requirements-test.txt \
		>$(VENV)/pip-install.log 2>&1 || { cat $(VENV)/pip-install.log; echo "venv: pip install failed" >&2; exit 1; }
	@touch $@

# ---------------------------------------------------------------- collection copy
collection:
	@$(PYTHON) $(ROOT)/scripts/sync-collection.py $(ROOT) $(COLL)

# ---------------------------------------------------------------- ansible-test
sanity: venv collection
	@rm -rf $(REPORTS)/sanity $(COLL)/tests/output/junit
	@rc=0; $(ANSIBLE_TEST) sanity --venv --junit $(if $(SANITY_PYTHON),--python $(SANITY_PYTHON)) $(SANITY_ARGS) || rc=$$?; \
	$(call collect_junit,sanity); exit $$rc

units: venv collection
	@rm -rf $(REPORTS)/units $(COLL)/tests/output/junit
	@if [ -z "$$(find $(COLL)/tests/unit -name 'test_*.py' -print -quit 2>/dev/null)" ]; then \
		echo "units: no test_*.py under tests/unit: nothing to run"; exit 0; fi; \
	rc=0; $(ANSIBLE_TEST) units --venv $(if $(UNITS_PYTHON),--python $(UNITS_PYTHON)) $(UNITS_ARGS) || rc=$$?; \
	$(call collect_junit,units); exit $$rc

# Older ansible-core releases that meta/runtime.yml's requires_ansible promises: sanity and units with each,
# from its own venv (.venv-X.Y, requirements-ansible-X.Y.txt) and ansible-test HOME (build/home-X.Y).
MATRIX_VERSIONS ?= 2.17 2.18

matrix: venv collection
	@$(ROOT)/scripts/matrix.sh $(MATRIX_VERSIONS)

integration: venv collection
	@rm -rf $(REPORTS)/integration $(COLL)/tests/output/junit
	@if [ -z "$$(find $(COLL)/tests/integration/targets -mindepth 1 -maxdepth 1 -type d -print -quit 2>/dev/null)" ]; then \
		echo "integration: no targets under tests/integration/targets: nothing to run"; exit 0; fi; \
	rc=0; $(ANSIBLE_TEST) integration --python $(INTEGRATION_PYTHON) --allow-destructive $(INTEGRATION_ARGS) || rc=$$?; \
	$(call collect_junit,integration); exit $$rc

# ---------------------------------------------------------------- pytest suites (repository tree)
# One pytest run per suite (each has its own conftest.py and sys.path set-up); a suite
# directory that does not exist is skipped, and pytest's exit code 5 (no tests
# collected) is not a failure.
FUNCTIONAL_SUITES ?= tests/emulator/tests tests/infra/tests tests/bench/tests tests/functional

functional: venv
	@rm -rf $(REPORTS)/functional; mkdir -p $(REPORTS)/functional
	@rc=0; ran=0; cd $(ROOT); \
	for d in $(FUNCTIONAL_SUITES); do \
		if [ ! -d "$$d" ]; then echo "functional: $$d: not present, skipped"; continue; fi; \
		ran=1; echo "functional: pytest $$d"; \
		r=0; $(VBIN)/python -m pytest "$$d" -q -p no:cacheprovider \
			--junitxml=$(REPORTS)/functional/$$(echo "$$d" | tr '/' '_').xml $(PYTEST_ARGS) || r=$$?; \
		if [ $$r -eq 5 ]; then echo "functional: $$d: pytest collected no tests"; r=0; fi; \
		if [ $$r -ne 0 ]; then rc=$$r; fi; \
	done; \
	if [ $$ran -eq 0 ]; then echo "functional: no test suites present: nothing to run"; fi; \
	exit $$rc

# ---------------------------------------------------------------- lint and docs
MODULES = $(sort $(basename $(notdir $(filter-out %/__init__.py,$(wildcard $(ROOT)/plugins/modules/*.py)))))
ROLES = $(sort $(patsubst $(ROOT)/roles/%/,%,$(wildcard $(ROOT)/roles/*/)))
LINT_DIRS = $(notdir $(wildcard $(ROOT)/roles $(ROOT)/playbooks))

lint: venv collection
	@rm -rf $(REPORTS)/lint; mkdir -p $(REPORTS)/lint
	@rc=0; \
	if [ -n "$(LINT_DIRS)" ]; then \
		echo "lint: ansible-lint $(LINT_DIRS)"; \
		( cd $(COLL) && PATH=$(VBIN):$$PATH ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) $(VBIN)/ansible-lint --offline --nocolor $(LINT_DIRS) ) || rc=1; \
	else echo "lint: no roles/ or playbooks/: ansible-lint skipped"; fi; \
	for m in $(MODULES); do \
		if ! ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_NOCOLOR=1 $(VBIN)/ansible-doc icr.auth.$$m \
			>$(REPORTS)/lint/ansible-doc-$$m.txt 2>$(REPORTS)/lint/ansible-doc-$$m.err; then \
			echo "lint: ansible-doc icr.auth.$$m FAILED"; cat $(REPORTS)/lint/ansible-doc-$$m.err; rc=1; \
		elif grep -E '\[(WARNING|DEPRECATION WARNING)\]' $(REPORTS)/lint/ansible-doc-$$m.err; then \
			echo "lint: ansible-doc icr.auth.$$m printed a warning"; rc=1; \
		else echo "lint: ansible-doc icr.auth.$$m ok"; fi; \
	done; \
	for r in $(ROLES); do \
		if ! ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_NOCOLOR=1 $(VBIN)/ansible-doc -t role icr.auth.$$r \
			>$(REPORTS)/lint/ansible-doc-role-$$r.txt 2>$(REPORTS)/lint/ansible-doc-role-$$r.err; then \
			echo "lint: ansible-doc -t role icr.auth.$$r FAILED"; cat $(REPORTS)/lint/ansible-doc-role-$$r.err; rc=1; \
		elif grep -E '\[(WARNING|DEPRECATION WARNING)\]' $(REPORTS)/lint/ansible-doc-role-$$r.err; then \
			echo "lint: ansible-doc -t role icr.auth.$$r printed a warning"; rc=1; \
		else echo "lint: ansible-doc -t role icr.auth.$$r ok"; fi; \
	done; \
	$(ROOT)/scripts/lint-extra.sh || rc=1; \
	exit $$rc

# ---------------------------------------------------------------- release artifact
dist: venv collection
	@rm -rf $(BUILD)/dist; mkdir -p $(BUILD)/dist
	@cd $(COLL) && ANSIBLE_NOCOLOR=1 $(VBIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist >/dev/null
	@$(VBIN)/python $(ROOT)/scripts/check-dist.py $(BUILD)/dist/icr-auth-*.tar.gz

# ---------------------------------------------------------------- everything
TEST_STEPS ?= sanity units matrix integration functional lint docs dist

test: venv collection
	@MAKE="$(MAKE)" $(ROOT)/scripts/run-steps.sh $(TEST_STEPS)

# ---------------------------------------------------------------- hooks owned by other parts
ifneq ($(wildcard $(ROOT)/scripts/demo.sh),)
demo:
	@$(ROOT)/scripts/demo.sh
endif
ifneq ($(wildcard $(ROOT)/scripts/bench.sh),)
bench:
	@$(ROOT)/scripts/bench.sh
endif
ifneq ($(wildcard $(ROOT)/scripts/docs.sh),)
docs: venv collection
	@$(ROOT)/scripts/docs.sh
endif

clean:
	rm -rf $(BUILD) $(VENV) $(ROOT)/.venv-2.* $(ROOT)/tests/output $(ROOT)/.pytest_cache $(ROOT)/.hypothesis $(ROOT)/*.tar.gz
	find $(ROOT) -name __pycache__ -type d -not -path '*/.git/*' -prune -exec rm -rf {} +

# ---------------------------------------------------------------- mutation testing (not part of make test)
# make mutants: the curated mutations of tests/mutants/curated.yml, then mutmut over plugins/module_utils/
# (scripts/mutants.py; reports in build/mutants/). MUTANTS_ARGS=curated or mutmut runs one part;
# MUTMUT_PATHS='plugins/module_utils/_obtain.py ...' narrows mutmut. Tools in .venv-mutants (requirements-mutants.txt).
MUTANTS_ARGS ?= all
.PHONY: mutants
mutants: $(ROOT)/.venv-mutants/.installed
	@$(ROOT)/.venv-mutants/bin/python $(ROOT)/scripts/mutants.py $(MUTANTS_ARGS)

$(ROOT)/.venv-mutants/.installed: $(ROOT)/requirements-mutants.txt $(ROOT)/requirements-test.txt
	@test -x $(ROOT)/.venv-mutants/bin/python || $(PYTHON) -m venv $(ROOT)/.venv-mutants
	@$(ROOT)/.venv-mutants/bin/python -m pip install --disable-pip-version-check -q -r $(ROOT)/requirements-mutants.txt
	@touch $@
