#!/usr/bin/env bash
# Installs the cross toolchain and emulator the remote's XS targets need (idempotent).
# gcc-arm-none-eabi + newlib-nano build the qemu-mps2 firmware, qemu-system-arm runs it,
# gcc builds the posix remote, strace lets test/platform/posix.test.ts count the posix remote's
# system calls per round trip. Skips everything that is already present.
set -euo pipefail

packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gcc strace)

find_missing() {
  missing=()
  for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
}

find_missing
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-toolchain: already installed ($(arm-none-eabi-gcc -dumpversion), $(qemu-system-arm --version | head -1))"
  exit 0
fi

# Parallel callers (e.g. several test files building at once): one installs, the others wait.
exec 9>"${TMPDIR:-/tmp}/xs-rpmsg-install-toolchain.lock"
flock 9
find_missing
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-toolchain: installed meanwhile by another run"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Another apt run (e.g. a background install) may hold dpkg's lock: apt waits up to 10 minutes.
apt_wait=(-o DPkg::Lock::Timeout=600)

echo "install-toolchain: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# apt-get update only when the package lists are absent or the install cannot find a package.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  $SUDO apt-get "${apt_wait[@]}" update
fi
if ! $SUDO apt-get "${apt_wait[@]}" install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get "${apt_wait[@]}" update
  $SUDO apt-get "${apt_wait[@]}" install -y --no-install-recommends "${missing[@]}"
fi
echo "install-toolchain: done ($(arm-none-eabi-gcc -dumpversion), $(qemu-system-arm --version | head -1))"
