#!/usr/bin/env bash
# Installs the cross toolchain and emulator the remote's XS targets need (idempotent).
# gcc-arm-none-eabi + newlib-nano build the qemu-mps2 firmware, qemu-system-arm runs it,
# gcc builds the posix remote. Skips everything that is already present.
set -euo pipefail

packages=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gcc)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# newlib-nano is what --specs=nano.specs needs; check the file, not only the package.
if ! arm-none-eabi-gcc --specs=nano.specs -print-file-name=libc_nano.a 2>/dev/null | grep -q /; then
  dpkg-query -W libnewlib-arm-none-eabi >/dev/null 2>&1 || missing+=(libnewlib-arm-none-eabi)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-toolchain: already installed ($(arm-none-eabi-gcc -dumpversion), $(qemu-system-arm --version | head -1))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Another apt run (e.g. a background install) may hold the lock: wait for it.
for _ in $(seq 1 300); do
  if ! command -v fuser >/dev/null || ! fuser /var/lib/dpkg/lock-frontend /var/lib/apt/lists/lock >/dev/null 2>&1; then break; fi
  echo "install-toolchain: waiting for another apt/dpkg run to finish..."
  sleep 2
done

echo "install-toolchain: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# apt-get update only when the package lists are absent or the install cannot find a package.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  $SUDO apt-get update
fi
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "install-toolchain: done ($(arm-none-eabi-gcc -dumpversion), $(qemu-system-arm --version | head -1))"
