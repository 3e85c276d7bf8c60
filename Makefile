# vpsorg.cloud developer loop. Two commands matter: `make demo` and `make test`.
# Everything is installed into .venv (and .venv313 for the newest ansible-core) from pinned requirements.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# python3.13 runs the newest ansible-core; pyenv keeps it off PATH unless selected, so look for it.
PY313 ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do "$$p" -c '' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV313 := .venv313
BIN313 := $(CURDIR)/$(VENV313)/bin
TMP := $(CURDIR)/.tmp
STAGE_ROOT := $(TMP)/collections
STAGE := $(STAGE_ROOT)/ansible_collections/vpsorg/cloud
ANSIBLE_TEST_FLAGS ?= --venv --color no
# The unit tests mostly wait (on the emulator's clocks, on retries' back-off): more workers than cores cut their time.
UNITS_FLAGS ?= --num-workers 4

export ANSIBLE_COLLECTIONS_PATH := $(STAGE_ROOT)
export ANSIBLE_LOCAL_TEMP := $(TMP)/ansible-local
export ANSIBLE_HOME := $(TMP)/ansible-home
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help
help:
	@echo "make demo         set everything up and run the story against the local emulator"
	@echo "make test         set everything up and run the whole test suite (what CI runs)"
	@echo "make check        the dev loop: ansible-lint, unit tests, emulator tests (side by side, about a minute)"
	@echo "make emulator     run the local VPS.org API emulator in the foreground"
	@echo "make sanity | units | integration | emulator-tests | lint | docs | changelog | build"
	@echo "make test-newest  integration and units on the newest ansible-core with python3.13"
	@echo "make integration-os  the role's built-in apt upgrade on a real Debian root (root needed)"
	@echo "make bench        benchmarks (not part of make test)"
	@echo "make test-2.20 | sanity-newest   the version matrix: units on ansible-core 2.20 (python3.12), sanity on the newest"
	@echo "make importer     galaxy-importer (Galaxy and Automation Hub checks) on the tarball of make build"
	@echo "make release VERSION=X.Y.Z   the release cut: version in galaxy.yml, CHANGELOG.md from the fragments"

# --- setup -------------------------------------------------------------------------------

$(VENV)/.installed: tests/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r tests/requirements-dev.txt
	touch $@

$(VENV313)/.installed: tests/requirements-newest.txt
	$(PY313) -m venv $(VENV313)
	$(BIN313)/python -m pip install -q --upgrade pip
	$(BIN313)/python -m pip install -q -r tests/requirements-newest.txt
	touch $@

.PHONY: setup shellcheck stage
setup: $(VENV)/.installed shellcheck

# ansible-test's shellcheck sanity test only warns and skips without it.
shellcheck:
	@command -v shellcheck >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; }

stage:
	@tests/utils/stage.sh $(STAGE_ROOT) >/dev/null

# --- tests ---------------------------------------------------------------------------------

# The dev loop, in about a minute: what most changes need before `make test`. The three share nothing but the
# staged copy and the venv, which the inner make builds once, so they run side by side (the tests mostly wait).
.PHONY: check
check:
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint units emulator-tests

.PHONY: test fresh-machine sanity units integration emulator-tests lint docs changelog build test-newest
test: setup
	@MAKE="$(MAKE)" tests/utils/test-all.sh $(TMP) "$(PY313)"

# make test on a machine that never ran it: two integration runs at once, and the files under ~/.ansible/test they share.
fresh-machine: $(VENV)/.installed
	PATH=$(BIN):$$PATH $(BIN)/pytest -q -p no:cacheprovider tests/utils

emulator-tests: $(VENV)/.installed
	$(BIN)/pytest -q -p no:cacheprovider tests/emulator

sanity: setup stage
	tests/utils/install-get-pip.sh $(BIN)/python
	cd $(STAGE) && PATH=$(BIN):$$PATH ansible-test sanity $(ANSIBLE_TEST_FLAGS) --python 3.11

units: $(VENV)/.installed stage
	tests/utils/install-get-pip.sh $(BIN)/python
	cd $(STAGE) && PATH=$(BIN):$$PATH ansible-test units $(ANSIBLE_TEST_FLAGS) $(UNITS_FLAGS) --python 3.11

integration: $(VENV)/.installed stage
	PATH=$(BIN):$$PATH tests/utils/run-integration.sh $(STAGE) 3.11 $(INTEGRATION_TARGETS)

# The same targets against the API that INTEGRATION_CONFIG names (the real one included): tests/integration/README.md.
INTEGRATION_CONFIG ?= tests/integration/integration_config.yml
.PHONY: integration-live live-selftest
integration-live: $(VENV)/.installed stage
	PATH=$(BIN):$$PATH INTEGRATION_LIVE_CONFIG=$(abspath $(INTEGRATION_CONFIG)) tests/utils/run-integration.sh $(STAGE) 3.11 $(INTEGRATION_TARGETS)

# make integration-live against a second, independent API implementation (tests/live/second_api.py).
live-selftest: $(VENV)/.installed
	$(BIN)/pytest -q -p no:cacheprovider tests/live

# The newest ansible-core (python3.13): units and integration. `make test` runs the two as separate lanes.
.PHONY: units-newest integration-newest
test-newest: units-newest integration-newest

units-newest: $(VENV313)/.installed stage
	tests/utils/install-get-pip.sh $(BIN313)/python
	cd $(STAGE) && PATH=$(BIN313):$$PATH ansible-test units $(ANSIBLE_TEST_FLAGS) $(UNITS_FLAGS) --python 3.13

integration-newest: $(VENV313)/.installed stage
	PATH=$(BIN313):$$PATH tests/utils/run-integration.sh $(STAGE) 3.13 $(INTEGRATION_TARGETS)

lint: $(VENV)/.installed stage
	PATH=$(BIN):$$PATH ansible-lint --offline -q

docs: $(VENV)/.installed stage
	cd $(STAGE) && PATH=$(BIN):$$PATH antsibull-docs lint-collection-docs --plugin-docs .

changelog: $(VENV)/.installed
	PATH=$(BIN):$$PATH antsibull-changelog lint

# Build the tarball, install it somewhere empty, and read every plugin's docs from the installed copy.
build: $(VENV)/.installed
	rm -rf $(TMP)/dist $(TMP)/installed
	PATH=$(BIN):$$PATH ansible-galaxy collection build --output-path $(TMP)/dist . >/dev/null
	PATH=$(BIN):$$PATH ANSIBLE_COLLECTIONS_PATH=$(TMP)/installed ansible-galaxy collection install --force $(TMP)/dist/vpsorg-cloud-*.tar.gz -p $(TMP)/installed >/dev/null
	tests/utils/smoke-installed.sh $(BIN) $(TMP)/installed
	$(BIN)/python tests/utils/check-tarball.py $(TMP)/dist/vpsorg-cloud-*.tar.gz tests/utils/tarball-allowlist.txt
	$(BIN)/python tests/utils/check-readme.py .

# AWX / Automation Platform (docs/awx.md): fleet_snapshot under ansible-runner, job slicing, ansible-builder create.
# AWX_SLICING_ROUNDS (default 8) repeats the 4-slice job, whose listing race shows only in some rounds.
.PHONY: awx
awx: $(VENV)/.installed stage
	PATH=$(BIN):$$PATH PYTHONPATH=$(STAGE_ROOT) $(BIN)/pytest -q -p no:cacheprovider tests/awx

# The role's built-in upgrade run for real on a minimal Debian root of this machine's release (root, Debian, network to
# the machine's Debian mirror). The root is built once into OS_TEST_CACHE and copied for each run; see docs/safe_upgrade.md.
OS_TEST_CACHE ?= /var/cache/vpsorg-os-test
.PHONY: integration-os
integration-os: $(VENV)/.installed stage
	PATH=$(BIN):$$PATH PYTHONPATH=$(STAGE_ROOT) timeout 1200 tests/os/run.sh $(TMP)/os-test $(OS_TEST_CACHE)

# --- running things ----------------------------------------------------------------------------

.PHONY: emulator demo bench
emulator: $(VENV)/.installed
	$(BIN)/python tests/emulator/emulator.py --port $${PORT:-8765} --snapshot-seconds $${SNAPSHOT_SECONDS:-5} --restore-seconds $${RESTORE_SECONDS:-5}

demo: $(VENV)/.installed stage
	PATH=$(BIN):$$PATH tests/utils/demo.sh

# BENCH_ARGS: e.g. --quick, or "--only slices --write-doc" (see python -m bench --help). The benchmarks import the
# emulator's harness from the staged collection (ansible_collections.vpsorg.cloud.tests.emulator).
bench: $(VENV)/.installed stage
	PATH=$(BIN):$$PATH PYTHONPATH=$(STAGE_ROOT) $(BIN)/python -m bench $(BENCH_ARGS)

# --- release 1.0.0 (issue 15): the version matrix, the tarball as Galaxy and Automation Hub see it, the cut ------------

# ansible-core 2.20 runs with python3.12 (found like python3.13 above); 2.19 (.venv) and 2.21 (.venv313) bracket it.
PY312 ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do "$$p" -c '' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV312 := .venv312
BIN312 := $(CURDIR)/$(VENV312)/bin
IMPORTER_VENV := $(TMP)/importer-venv

$(VENV312)/.installed: tests/requirements-2.20.txt
	$(PY312) -m venv $(VENV312)
	$(BIN312)/python -m pip install -q --upgrade pip
	$(BIN312)/python -m pip install -q -r tests/requirements-2.20.txt
	touch $@

$(IMPORTER_VENV)/.installed: tests/requirements-importer.txt
	$(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_VENV)/bin/python -m pip install -q --upgrade pip
	$(IMPORTER_VENV)/bin/python -m pip install -q -r tests/requirements-importer.txt
	touch $@

.PHONY: test-2.20 sanity-newest importer release matrix-venvs
# Every venv of the version matrix, made before `make test` starts its lanes, so no two lanes build one at once.
matrix-venvs: $(VENV)/.installed $(IMPORTER_VENV)/.installed $(if $(PY313),$(VENV313)/.installed)

# Units on ansible-core 2.20 (python3.12), in its own staged copy so it can run beside the others (sanity runs on 2.19
# and the newest, which bracket it).
test-2.20: $(VENV312)/.installed shellcheck
	tests/utils/install-get-pip.sh $(BIN312)/python
	tests/utils/stage.sh $(TMP)/collections312 >/dev/null
	cd $(TMP)/collections312/ansible_collections/vpsorg/cloud && PATH=$(BIN312):$$PATH ansible-test units $(ANSIBLE_TEST_FLAGS) $(UNITS_FLAGS) --python 3.12

# Sanity on the newest ansible-core (python3.13); `make test-newest` runs its units and integration.
sanity-newest: $(VENV313)/.installed shellcheck
	tests/utils/install-get-pip.sh $(BIN313)/python
	tests/utils/stage.sh $(TMP)/collections313s >/dev/null
	cd $(TMP)/collections313s/ansible_collections/vpsorg/cloud && PATH=$(BIN313):$$PATH ansible-test sanity $(ANSIBLE_TEST_FLAGS) --python 3.13

# galaxy-importer on the tarball that `make build` left in .tmp/dist (run `make build` first).
importer: $(IMPORTER_VENV)/.installed
	tests/utils/run-importer.sh $(IMPORTER_VENV) $(TMP)

# The release cut: `make release VERSION=1.0.0` sets galaxy.yml's version, turns the fragments into
# changelogs/changelog.yaml and CHANGELOG.md (antsibull-changelog release), and lints the result. Commit what it changes.
release: $(VENV)/.installed
	@[[ "$(VERSION)" =~ ^[0-9]+\.[0-9]+\.[0-9]+$$ ]] || { echo "usage: make release VERSION=X.Y.Z" >&2; exit 2; }
	sed -i -E 's/^version: .*/version: $(VERSION)/' galaxy.yml
	@# While the client still spells its version out (User-Agent), keep it equal to galaxy.yml's.
	grep -rlE "^COLLECTION_VERSION = '[0-9.]+'" plugins/module_utils | xargs -r sed -i -E "s/^COLLECTION_VERSION = '[0-9.]+'/COLLECTION_VERSION = '$(VERSION)'/"
	PATH=$(BIN):$$PATH antsibull-changelog release --version $(VERSION) --reload-plugins
	PATH=$(BIN):$$PATH antsibull-changelog lint
	@echo "released $(VERSION): review and commit galaxy.yml, changelogs/ and CHANGELOG.md, then run make build importer"

.PHONY: clean
clean:
	rm -rf $(TMP) tests/output
