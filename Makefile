# icr.auth — build and test harness (GNU make).
#
#   make demo         the role on three local hosts against the IAM + registry emulator (no root, no cloud account)
#   make test         everything CI runs: deps, venv, collection, sanity, units, matrix, integration,
#                     functional, integration-floor, functional-floor, lint, docs, dist; ends with a
#                     summary and a closing "total: N passed, N failed, N skipped" line
#   make deps         the Debian packages of .ci/install-deps.sh (installed when root, else listed)
#   make venv         .venv: the newest Python found (3.13, 3.12, else 3.11) with the newest ansible-core it
#                     allows (2.21 on 3.12+, else 2.19) and the pinned test tools (requirements-test.txt)
#   make collection   copy the tree to build/ansible_collections/icr/auth (ansible-test runs there)
#   make sanity       ansible-test sanity --venv with .venv's ansible-core (compile/import on every Python found)
#   make units        ansible-test units --venv with .venv's ansible-core, on .venv's Python
#   make matrix       sanity + units with every other ansible-core from the floor (2.19) to 2.21 (.venv-X.Y)
#   make integration  ansible-test integration on this host (targets in tests/integration/targets)
#   make functional   pytest tests/emulator/tests, tests/infra/tests, tests/functional
#   make integration-floor, make functional-floor   the same two with the floor, ansible-core 2.19 (.venv-2.19);
#                     functional-floor leaves out the tests that do not depend on ansible-core (FUNCTIONAL_FLOOR_SKIP)
#   make lint         ansible-lint (roles/, playbooks/, the docs' examples), ansible-doc of every
#                     module and role, antsibull-changelog lint, ansible-builder introspect, and the
#                     share of typed functions in plugins/ (scripts/typed-functions.py, TYPED_MIN=80)
#   make docs         docsite with antsibull-docs + Sphinx in build/docsite (fails on any warning)
#   make dist         ansible-galaxy collection build into build/dist
#   make bench        the role against Ansible's floor and against community.docker / containers.podman
#                     (root; about 26 minutes; never part of make test)
#   make versions     which Python and ansible-core each venv has or will get
#   make clean        remove build/, .venv/, .venv-X.Y/ and caches
#
# Every tool runs from .venv; ansible-test gets HOME=build/home (see scripts/ansible-test.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
FIND_PYTHON := $(ROOT)/scripts/find-python.sh
# ansible-core releases tested: from the floor (meta/runtime.yml's requires_ansible) to the newest. The newest runs in
# .venv; every other one in .venv-X.Y, from requirements-ansible-X.Y.txt (see scripts/matrix.sh).
ANSIBLE_FLOOR := 2.19
ANSIBLE_NEWEST := 2.21
# Interpreter for .venv: the newest Python found, for the newest ansible-core it allows (ansible-core 2.20+ needs
# Python 3.12 on the controller; 2.19 runs on 3.11). PYTHON=/path/to/python overrides the search.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell $(FIND_PYTHON) 3.13 3.12 3.11 2>/dev/null)
endif
PYTHON_VERSION := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
VENV := $(ROOT)/.venv
VBIN := $(VENV)/bin
# One stamp per Python version: a .venv of another Python (an older checkout's 3.11) is rebuilt.
VENV_STAMP := $(VENV)/.installed-py$(PYTHON_VERSION)
FLOOR_VENV := $(ROOT)/.venv-$(ANSIBLE_FLOOR)
BUILD := $(ROOT)/build
COLLECTIONS := $(BUILD)
COLL := $(BUILD)/ansible_collections/icr/auth
REPORTS := $(BUILD)/reports
ANSIBLE_TEST := $(ROOT)/scripts/ansible-test.sh
# X.Y of a venv's Python (expanded when a recipe runs, after its venv exists)
venv_python = $(shell $(1)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# A shell command printing "ansible-core X.Y.Z on Python X.Y.Z" of a venv
core_of = $(1)/bin/python -c 'import ansible.release, sys; print("ansible-core %s on Python %s" % (ansible.release.__version__, sys.version.split()[0]))'

# Extra arguments, e.g. make sanity SANITY_ARGS='--test pylint', make units UNITS_PYTHON=3.12
# (UNITS_PYTHON= runs module and module_utils unit tests on every Python found)
SANITY_ARGS ?=
# Empty: run multi-version sanity tests (compile, import) on every interpreter found.
SANITY_PYTHON ?=
# Default: .venv's own Python.
UNITS_PYTHON ?= $(call venv_python,$(VENV))
UNITS_ARGS ?=
INTEGRATION_PYTHON ?= $(call venv_python,$(VENV))
INTEGRATION_ARGS ?=
PYTEST_ARGS ?=

# Copy ansible-test's junit files of one step into build/reports/<step>/.
define collect_junit
mkdir -p $(REPORTS)/$(1); \
if compgen -G '$(COLL)/tests/output/junit/*.xml' >/dev/null; then mv $(COLL)/tests/output/junit/*.xml $(REPORTS)/$(1)/; fi
endef

.PHONY: help deps venv floor-venv versions collection sanity units matrix integration functional integration-floor \
	functional-floor lint dist test clean \
	$(if $(wildcard $(ROOT)/scripts/demo.sh),demo) $(if $(wildcard $(ROOT)/scripts/bench.sh),bench) $(if $(wildcard $(ROOT)/scripts/docs.sh),docs)

help:
	@sed -n '3,/^$$/p' $(ROOT)/Makefile | sed -e '/^$$/d' -e 's/^# \{0,1\}//'

# ---------------------------------------------------------------- environment
# The Debian packages the real-infrastructure suites use (skopeo, podman, dockerd, sshd, the registry, ...): as root,
# .ci/install-deps.sh installs what is missing; otherwise the missing ones are listed with the command to install them.
deps:
	@$(ROOT)/scripts/system-deps.sh

venv: $(VENV_STAMP)
	@echo "venv: $$($(call core_of,$(VENV))) in .venv"

$(VENV_STAMP): $(ROOT)/requirements-test.txt
	@test -n "$(PYTHON)" || { $(FIND_PYTHON) --why 'the test tools need Python 3.11 or newer (3.12+ for ansible-core $(ANSIBLE_NEWEST))' 3.13 3.12 3.11; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "venv: $(PYTHON) is Python %d.%d; ansible-core $(ANSIBLE_FLOOR) needs 3.11+" % sys.version_info[:2])'
	@if [ -x $(VBIN)/python ] && [ "$(call venv_python,$(VENV))" != "$(PYTHON_VERSION)" ]; then \
		echo "venv: $(VENV) has Python $(call venv_python,$(VENV)); rebuilding it with Python $(PYTHON_VERSION)"; rm -rf $(VENV); fi
	@test -x $(VBIN)/python || { echo "venv: creating $(VENV) with $(PYTHON) (Python $(PYTHON_VERSION))"; $(PYTHON) -m venv $(VENV); }
	@if [ "$(PYTHON_VERSION)" = 3.11 ]; then echo "venv: Python 3.11: .venv gets ansible-core $(ANSIBLE_FLOOR)," \
		"the newest it allows; ansible-core 2.20+ needs Python 3.12 or 3.13 (e.g. pyenv install 3.13)"; fi
	@echo "venv: installing requirements-test.txt"
	@$(VBIN)/python -m pip install --disable-pip-version-check -r $(ROOT)/requirements-test.txt \
		>$(VENV)/pip-install.log 2>&1 || { cat $(VENV)/pip-install.log; echo "venv: pip install failed" >&2; exit 1; }
	@rm -f $(VENV)/.installed*
	@touch $@

# .venv-2.19: the floor, for make matrix, integration-floor and functional-floor (scripts/matrix.sh --venv-only).
floor-venv:
	@$(ROOT)/scripts/matrix.sh --venv-only $(ANSIBLE_FLOOR)

versions: venv
	@echo "versions: $$($(call core_of,$(VENV))) in .venv - $(if $(filter 3.11,$(PYTHON_VERSION)),Python 3.11 was chosen: ansible-core 2.20+ needs 3.12+,the newest ansible-core this machine's Python allows)"
	@echo "versions: floor: $$(if [ -x $(FLOOR_VENV)/bin/python ]; then $(call core_of,$(FLOOR_VENV)); else echo "ansible-core $(ANSIBLE_FLOOR) (not installed yet)"; fi) in .venv-$(ANSIBLE_FLOOR)"
	@echo "versions: matrix: sanity and units with ansible-core $(MATRIX_VERSIONS)"

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

# Every ansible-core from the floor to the newest: sanity and units with each one that .venv does not hold (.venv's
# are make sanity and make units), from its own venv (.venv-X.Y, requirements-ansible-X.Y.txt, on the Python that
# release needs: 3.12+ for 2.20) and ansible-test HOME (build/home-X.Y). See scripts/matrix.sh.
MATRIX_VERSIONS ?= 2.19 2.20 2.21

matrix: venv collection
	@$(ROOT)/scripts/matrix.sh $(MATRIX_VERSIONS)

# run_integration STEP VENV PYTHON HOME: ansible-test integration of every target, JUnit into build/reports/STEP/.
define run_integration
rm -rf $(REPORTS)/$(1) $(COLL)/tests/output/junit; \
if [ -z "$$(find $(COLL)/tests/integration/targets -mindepth 1 -maxdepth 1 -type d -print -quit 2>/dev/null)" ]; then \
	echo "$(1): no targets under tests/integration/targets: nothing to run"; exit 0; fi; \
echo "$(1): $$($(call core_of,$(2)))"; \
rc=0; VENV=$(2) ANSIBLE_TEST_HOME=$(4) $(ANSIBLE_TEST) integration --python $(3) --allow-destructive $(INTEGRATION_ARGS) || rc=$$?; \
$(call collect_junit,$(1)); exit $$rc
endef

integration: venv collection
	@$(call run_integration,integration,$(VENV),$(INTEGRATION_PYTHON),$(BUILD)/home)

integration-floor: floor-venv collection
	@$(call run_integration,integration-floor,$(FLOOR_VENV),$(call venv_python,$(FLOOR_VENV)),$(BUILD)/home-$(ANSIBLE_FLOOR))

# ---------------------------------------------------------------- pytest suites (repository tree)
# One pytest run per suite (each has its own conftest.py and sys.path set-up; a single test file works too); a suite
# directory that does not exist is skipped, and pytest's exit code 5 (no tests
# collected) is not a failure. The suites run ansible-playbook & co. from the venv of the Python that runs pytest.
FUNCTIONAL_SUITES ?= tests/emulator/tests tests/infra/tests tests/bench/tests tests/functional
# With the floor, only what ansible-core runs: the emulator's, the infrastructure's and the benchmark's own tests, and
# the functional tests that run no play and load no ansible-core code (the secret scanner, the summary, the typed-
# function count, the curated list, the ledger, the credential helper run on its own, the writers killed at random
# and the 50 concurrent writer processes), do not depend on its release.
FUNCTIONAL_FLOOR_SUITES ?= tests/functional
FUNCTIONAL_FLOOR_SKIP ?= test_secret_scan.py test_test_summary.py test_typed_functions.py test_curated_mutants.py \
	test_rel_ledger.py test_credential_helper_runtime.py test_rel_crash.py test_rel_writers.py
# tests/functional runs on FUNCTIONAL_WORKERS pytest-xdist workers, one per core by default, each taking whole files
# (--dist loadfile: a module's fixtures start once). Its tests are mostly ansible-playbook processes, run one after
# another they leave a core idle about 40% of the time. Every test already makes its own daemons, ports, users
# (pid- or file-named) and directories. FUNCTIONAL_WORKERS=1: one pytest process, as before.
FUNCTIONAL_WORKERS ?= $(shell nproc 2>/dev/null || echo 1)
FUNCTIONAL_PARALLEL_SUITES ?= tests/functional

# run_functional STEP VENV SUITES [PYTEST ARGS]: every suite with VENV's pytest, JUnit into build/reports/STEP/.
define run_functional
rm -rf $(REPORTS)/$(1); mkdir -p $(REPORTS)/$(1); \
echo "$(1): $$($(call core_of,$(2)))"; \
rc=0; ran=0; cd $(ROOT); \
for d in $(3); do \
	if [ ! -e "$$d" ]; then echo "$(1): $$d: not present, skipped"; continue; fi; \
	ran=1; par=; \
	if [ "$(FUNCTIONAL_WORKERS)" -gt 1 ] && [[ " $(FUNCTIONAL_PARALLEL_SUITES) " == *" $$d "* ]]; then \
		par="-n $(FUNCTIONAL_WORKERS) --dist loadfile"; fi; \
	echo "$(1): pytest $$d$${par:+ ($(FUNCTIONAL_WORKERS) workers)}"; \
	r=0; $(2)/bin/python -m pytest "$$d" -q -p no:cacheprovider $$par \
		--junitxml=$(REPORTS)/$(1)/$$(echo "$$d" | tr '/' '_').xml $(4) $(PYTEST_ARGS) || r=$$?; \
	if [ $$r -eq 5 ]; then echo "$(1): $$d: pytest collected no tests: FAILED (a suite that runs nothing proves nothing)"; fi; \
	if [ $$r -ne 0 ]; then rc=$$r; fi; \
done; \
if [ $$ran -eq 0 ]; then echo "$(1): no test suites present: FAILED"; rc=1; fi; \
exit $$rc
endef

functional: venv
	@$(call run_functional,functional,$(VENV),$(FUNCTIONAL_SUITES))

functional-floor: floor-venv
	@echo "functional-floor: not run again with the floor (independent of ansible-core):" \
		"$(filter-out $(FUNCTIONAL_FLOOR_SUITES),$(FUNCTIONAL_SUITES)) $(addprefix tests/functional/,$(FUNCTIONAL_FLOOR_SKIP))"
	@$(call run_functional,functional-floor,$(FLOOR_VENV),$(FUNCTIONAL_FLOOR_SUITES),$(addprefix --ignore=tests/functional/,$(FUNCTIONAL_FLOOR_SKIP)))

# ---------------------------------------------------------------- lint and docs
MODULES = $(sort $(basename $(notdir $(filter-out %/__init__.py,$(wildcard $(ROOT)/plugins/modules/*.py)))))
ROLES = $(sort $(patsubst $(ROOT)/roles/%/,%,$(wildcard $(ROOT)/roles/*/)))
LINT_DIRS = $(notdir $(wildcard $(ROOT)/roles $(ROOT)/playbooks))

# Lowest share of plugins/ functions (module_utils, modules, filter) with every parameter and the return annotated
# (scripts/typed-functions.py), in percent.
TYPED_MIN ?= 80

# ansible-doc's warnings fail lint, except one that ansible-core 2.21 prints about its own internal collection
# ansible._protomatter when it documents a role (ansible/ansible#85689, fixed after 2.21.5): it says nothing of icr.auth.
DOC_WARNINGS = grep -E '\[(WARNING|DEPRECATION WARNING)\]' $(1) | grep -vF "ansible_collections/ansible/_protomatter' does not have a MANIFEST.json"

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
		elif $(call DOC_WARNINGS,$(REPORTS)/lint/ansible-doc-$$m.err); then \
			echo "lint: ansible-doc icr.auth.$$m printed a warning"; rc=1; \
		else echo "lint: ansible-doc icr.auth.$$m ok"; fi; \
	done; \
	for r in $(ROLES); do \
		if ! ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS) ANSIBLE_NOCOLOR=1 $(VBIN)/ansible-doc -t role icr.auth.$$r \
			>$(REPORTS)/lint/ansible-doc-role-$$r.txt 2>$(REPORTS)/lint/ansible-doc-role-$$r.err; then \
			echo "lint: ansible-doc -t role icr.auth.$$r FAILED"; cat $(REPORTS)/lint/ansible-doc-role-$$r.err; rc=1; \
		elif $(call DOC_WARNINGS,$(REPORTS)/lint/ansible-doc-role-$$r.err); then \
			echo "lint: ansible-doc -t role icr.auth.$$r printed a warning"; rc=1; \
		else echo "lint: ansible-doc -t role icr.auth.$$r ok"; fi; \
	done; \
	$(ROOT)/scripts/lint-extra.sh || rc=1; \
	echo "lint: type hints of plugins/ (at least $(TYPED_MIN)% of functions)"; \
	$(VBIN)/python $(ROOT)/scripts/typed-functions.py --min $(TYPED_MIN) || rc=1; \
	exit $$rc

# ---------------------------------------------------------------- release artifact
dist: venv collection
	@rm -rf $(BUILD)/dist; mkdir -p $(BUILD)/dist
	@cd $(COLL) && ANSIBLE_NOCOLOR=1 $(VBIN)/ansible-galaxy collection build --force --output-path $(BUILD)/dist >/dev/null
	@$(VBIN)/python $(ROOT)/scripts/check-dist.py $(BUILD)/dist/icr-auth-*.tar.gz

# ---------------------------------------------------------------- everything
TEST_STEPS ?= deps sanity units matrix integration functional integration-floor functional-floor lint docs dist

test: venv collection
	@$(MAKE) versions
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
	rm -rf $(BUILD) $(VENV) $(ROOT)/.venv-[0-9]* $(ROOT)/tests/output $(ROOT)/.pytest_cache $(ROOT)/.hypothesis $(ROOT)/*.tar.gz
	find $(ROOT) -name __pycache__ -type d -not -path '*/.git/*' -prune -exec rm -rf {} +

# ---------------------------------------------------------------- mutation testing (not part of make test)
# make mutants: the curated mutations of tests/mutants/curated.yml, then mutmut over plugins/module_utils/ file by
# file, each against its own unit tests first, then its survivors against all the fast tests (the sweep)
# (scripts/mutants.py; reports in build/mutants/). MUTANTS_ARGS=curated or sweep runs one part, mutmut one run;
# MUTMUT_PATHS='plugins/module_utils/_obtain.py ...' narrows mutmut, MUTMUT_TESTS='tests/unit/...' its tests,
# MUTMUT_NAMES='*xǁTransportǁrequest__mutmut_*' its mutants; MUTMUT_TIMEOUT_MULTIPLIER=3 MUTMUT_TIMEOUT_CONSTANT=1
# shorten mutmut's timeout (about 30 s a mutant) for code whose mutants loop for ever (see scripts/mutants.py).
# Tools in .venv-mutants (requirements-mutants.txt).
MUTANTS_ARGS ?= all
.PHONY: mutants
mutants: $(ROOT)/.venv-mutants/.installed
	@$(ROOT)/.venv-mutants/bin/python $(ROOT)/scripts/mutants.py $(MUTANTS_ARGS)

$(ROOT)/.venv-mutants/.installed: $(ROOT)/requirements-mutants.txt $(ROOT)/requirements-test.txt
	@test -x $(ROOT)/.venv-mutants/bin/python || $(PYTHON) -m venv $(ROOT)/.venv-mutants
	@$(ROOT)/.venv-mutants/bin/python -m pip install --disable-pip-version-check -q -r $(ROOT)/requirements-mutants.txt
	@touch $@
