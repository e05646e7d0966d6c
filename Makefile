# debwheels: common paths. Host tooling is Debian's python3 with Debian's packages
# (scripts/setup-host.sh installs them); nothing is installed with pip on the host.
PYTHON ?= /usr/bin/python3
DEBWHEELS = PYTHONPATH=$(CURDIR)/src $(PYTHON) -m debwheels

.PHONY: setup builder lock wheels verify deb install-test repro corpus test unit-test

setup:
	@bash scripts/setup-host.sh

builder: setup
	$(DEBWHEELS) builder

# Resolve requirements/requirements.in into the three lock files (sdist sha256 pins, build closure, graph).
lock: builder
	$(DEBWHEELS) lock

# Refresh wheels-mirror/: build what changed (JOBS at once; default the number of cores), print
# the review diff, and sign and publish when the mirror changes. An up-to-date mirror is left
# alone and needs no key; otherwise DEBWHEELS_SIGNING_KEY (a secret key in $$GNUPGHOME).
JOBS ?= $(shell nproc)
wheels: setup
	$(DEBWHEELS) wheels -j $(JOBS)

verify: setup
	$(DEBWHEELS) verify

# Verify the signed mirror, then dpkg-buildpackage in the builder; output in dist/.
deb: builder
	$(DEBWHEELS) deb

install-test: builder
	$(DEBWHEELS) install-test

# Rebuild every wheel and the .deb under varied conditions; report in .debwheels/repro-report/.
repro: builder
	$(DEBWHEELS) repro --deb

# The reproducibility corpus (tests/corpus): rebuild ~70 popular packages twice, report in tests/corpus/report/.
corpus: builder
	-$(DEBWHEELS) -C tests/corpus repro --report report

# The test suite: unit tests and the end-to-end tests (network, root, container).
test: setup
	$(PYTHON) -m pytest

unit-test:
	$(PYTHON) -m pytest -m "not network and not container and not root"
