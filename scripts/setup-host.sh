#!/usr/bin/env bash
# Install the Debian packages debwheels needs on the host (Debian 12 bookworm, as root).
# Idempotent: only missing packages are installed. Used by 'make' targets and .ci/run.
set -euo pipefail
packages=(
  podman runc netavark aardvark-dns # containers (runc: crun fails in some sandboxes; netavark: network)
  mmdebstrap                        # reproducible builder and endpoint rootfs
  gnupg                             # signing and verification (python-gnupg drives gpg)
  diffoscope-minimal disorderfs fuse3   # debwheels repro: explain differences, shuffle directory order
  python3 python3-click python3-packaging python3-debian python3-gnupg python3-tomlkit  # debwheels itself
  python3-pytest strace             # the test suite (strace: the kill test injects SIGKILL)
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
