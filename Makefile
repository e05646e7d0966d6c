# debwheels' own Makefile. debwheels packages itself the way 'debwheels init' sets up any
# project: the targets (builder lock update wheels verify deb install-test repro apt-repo) are the
# template init writes, run with this checkout's bin/debwheels. Host tooling is Debian's
# python3 and packages plus debwheels' own runtime wheels from its verified, signed mirror in
# .debwheels/host-venv (scripts/setup-host.sh makes both); nothing comes from PyPI onto the host.
PYTHON ?= $(CURDIR)/.debwheels/host-venv/bin/python
DEBWHEELS = $(CURDIR)/bin/debwheels

include src/debwheels/data/templates/debwheels.mk

.PHONY: setup corpus corpus-select corpus-save corpus-restore rebuild-check-pypi test unit-test

setup:
	@bash scripts/setup-host.sh

# Every debwheels target needs the host set up first.
builder lock update wheels verify deb install-test repro apt-repo: setup

# The reproducibility corpus (tests/corpus): the 250 most downloaded PyPI projects, each built twice
# from its sdist under every variation; report in tests/corpus/report/ (README.md, index.html,
# report.json). Resumable: a killed run, started again, reuses every finished outcome by build key.
# 'make corpus-select' chooses the versions again from tests/corpus/ranking.tsv.
CORPUS_JOBS ?= 2
corpus: setup
	$(DEBWHEELS) -C tests/corpus lock -j$(CORPUS_JOBS) --keep-going
	-$(DEBWHEELS) -C tests/corpus repro -j$(CORPUS_JOBS) --resume --report $(CURDIR)/tests/corpus/.debwheels/corpus-repro
	$(PYTHON) tests/corpus/corpus.py check; status=$$?; $(PYTHON) tests/corpus/corpus.py report && exit $$status

# debwheels rebuild-check on 20 pure wheels their maintainers published on PyPI (tests/corpus/rebuild-check/).
rebuild-check-pypi: setup
	-$(DEBWHEELS) -C tests/corpus/rebuild-check rebuild-check -j$(CORPUS_JOBS) --report $(CURDIR)/tests/corpus/rebuild-check/report \
		$$(grep -v '^#' tests/corpus/rebuild-check/wheels.txt)
	$(PYTHON) tests/corpus/corpus.py rebuild-report

# A corpus run outlasts a sitting on two cores: corpus-save copies its finished outcomes (by build
# key) into tests/corpus/progress/ to commit; corpus-restore puts them back on another machine.
corpus-save corpus-restore: setup
	$(PYTHON) tests/corpus/corpus.py $(@:corpus-%=%)

corpus-select: setup
	PYTHONPATH=$(CURDIR)/src $(PYTHON) tests/corpus/corpus.py select

# The test suite: unit tests and the end-to-end tests (network, root, container). The doctor
# first: a missing host tool fails here, once, naming its fix, not test by test.
test: setup
	$(DEBWHEELS) doctor --all
	$(PYTHON) -m pytest

unit-test: setup
	$(PYTHON) -m pytest -m "not network and not container and not root"
