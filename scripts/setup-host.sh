#!/usr/bin/env bash
# Install the Debian packages debwheels needs on the host (Debian 12 bookworm, as root).
# Idempotent: only missing packages are installed. Used by 'make' targets and .ci/run.
set -euo pipefail
packages=(
  podman runc netavark aardvark-dns # containers (runc: crun fails in some sandboxes; netavark: network)
  iptables                          # netavark's firewall driver: without it every networked container fails
  mmdebstrap                        # reproducible builder and endpoint rootfs
  gnupg                             # signing and verification (python-gnupg drives gpg)
  apt-utils                         # debwheels apt-repo: apt-ftparchive writes Packages and Release
  diffoscope-minimal disorderfs fuse3   # debwheels repro: explain differences, shuffle directory order
  python3 python3-click python3-packaging python3-debian python3-gnupg python3-tomlkit  # debwheels itself
  python3-pip python3-venv          # the host venv of debwheels' verified wheels (below)
  python3-pytest python3-hypothesis strace binutils  # the test suite (strace: the kill test injects SIGKILL; hypothesis: property tests of the parsers; binutils: readelf shows compiled extensions' flags)
  git make ca-certificates
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-host: missing Debian packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup-host: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# debwheels' own Python dependencies come from its signed wheels-mirror, not from PyPI: some
# (cyclonedx-python-lib) are not packaged in Debian bookworm. Verify the mirror with debwheels
# itself (Debian's python3 packages suffice for that), then install its runtime wheels, hash
# checked and without an index, into .debwheels/host-venv, a venv that also sees Debian's
# packages (pytest). The Makefile runs debwheels with it (PYTHONPATH=src: the checkout's code).
# Redone only when those wheels change.
# The mirror has the runtime set of each target; the host's own suite says which this python3 is.
venv=.debwheels/host-venv
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
requirements=wheels-mirror/verified-requirements-$suite.txt
if [ ! -f "$requirements" ]; then
  echo "setup-host: this host is Debian '$suite', which debwheels' mirror has no wheels for: use a bookworm or trixie host" >&2
  exit 1
fi
stamp=$(grep -v '^debwheels==' "$requirements" | sha256sum | cut -c1-64)
if [ "$(cat "$venv/debwheels-stamp" 2>/dev/null)" != "$stamp" ]; then
  PYTHONPATH=src /usr/bin/python3 -m debwheels verify >&2
  rm -rf "$venv.tmp"
  /usr/bin/python3 -m venv --system-site-packages --without-pip "$venv.tmp"
  grep -v '^debwheels==' "$requirements" >"$venv.tmp/requirements.txt"
  env -u PIP_FIND_LINKS -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL /usr/bin/python3 -m pip \
    --isolated --python "$venv.tmp/bin/python" install --quiet --no-index --no-deps \
    --require-hashes --only-binary=:all: --find-links wheels-mirror \
    $( [ -d "wheels-mirror/$suite" ] && echo --find-links "wheels-mirror/$suite" ) -r "$venv.tmp/requirements.txt"
  echo "$stamp" >"$venv.tmp/debwheels-stamp"
  rm -rf "$venv" && mv "$venv.tmp" "$venv"
  echo "setup-host: $venv holds debwheels' verified runtime wheels" >&2
fi

# Check the host for real (containers with and without network, the tools, disk space): one
# line per check, and the Debian package or setting that fixes each failure. Fails when
# something lock, build or deb need is broken ('make test' runs 'debwheels doctor --all').
bin/debwheels doctor
