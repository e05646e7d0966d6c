# The debwheels pipeline of @PACKAGE@ (written by 'debwheels init'). DEBWHEELS is how to run
# debwheels: the installed command by default.
DEBWHEELS ?= debwheels
JOBS ?= $(shell nproc)

.PHONY: builder lock update wheels verify deb install-test repro apt-repo

# The pinned Debian builder and endpoint images of every target (mmdebstrap rootfs, builder-lock.json).
builder:
	$(DEBWHEELS) builder

# Pin requirements/requirements.in (and every build requirement) to sdist sha256.
lock: builder
	$(DEBWHEELS) lock

# Upgrade NAMES (default: every package): relock, build what changed, rebuild the changed
# wheels under varied conditions, print the review (sdist diffs, build environments, wheel
# hashes); with DEBWHEELS_SIGNING_KEY, sign the mirror and build the .deb.
NAMES ?=
update: builder
	$(DEBWHEELS) update -j $(JOBS) $(NAMES)

# Build what changed into wheels-mirror/, print the review diff, sign when it changed
# (DEBWHEELS_SIGNING_KEY: a secret key in $$GNUPGHOME whose fingerprint is trusted).
# An up-to-date mirror is a read-only no-op (no images, no key needed).
wheels:
	$(DEBWHEELS) wheels -j $(JOBS)

verify:
	$(DEBWHEELS) verify

# dpkg-buildpackage in each target's builder, from the verified mirror only: one .deb per target
# in dist/ (<package>_<version>+deb<N>u1_<arch>.deb; 'debwheels deb --target SUITE' builds one).
deb: builder
	$(DEBWHEELS) deb

# Install each target's .deb from dist/ on a fresh endpoint container of that target and run
# install-test-commands ('debwheels install-test --target SUITE' tests one).
install-test: builder
	$(DEBWHEELS) install-test

# Rebuild every wheel and the .deb under varied conditions; report in .debwheels/repro-report/.
repro: builder
	$(DEBWHEELS) repro --deb

# A signed static apt repository of dist/ in apt-repo/, one suite per target (same key policy as the mirror).
apt-repo:
	$(DEBWHEELS) apt-repo dist -o apt-repo
