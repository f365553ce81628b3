#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine with Node, npm and root (idempotent).
# Usage: bash scripts/setup.sh [--for demo|test]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
purpose="${2:-test}"
[ "${1:-}" = "--for" ] || purpose="test"

step() { printf '\n== setup: %s\n' "$*"; }

# npm dependencies: reinstall only when package-lock.json changed since the last install.
stamp="node_modules/.xs-rpmsg-lock"
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  step "npm ci"
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

# Cross compiler, newlib-nano, QEMU (Debian) and the pinned XS engine sources (npm pack).
if [ -f scripts/install-toolchain.sh ]; then
  step "toolchain (gcc-arm-none-eabi, newlib, qemu-system-arm)"
  bash scripts/install-toolchain.sh
fi
if [ -f tools/fetch-xs.sh ]; then
  step "XS engine sources (@agoric/xsnap, pinned)"
  bash tools/fetch-xs.sh >/dev/null
fi
# The bridge's tests drive it with ordinary Debian programs (python3, socat).
if [ "$purpose" = "test" ]; then
  missing=()
  for pkg in python3 socat; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "Debian programs the bridge tests use (${missing[*]})"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" ||
      { $SUDO apt-get -o DPkg::Lock::Timeout=600 update && $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"; }
  fi
fi
# The real Linux kernel (UML) is needed by the tests only.
if [ "$purpose" = "test" ] && [ -f linux/build-kernel.sh ]; then
  step "User-Mode Linux kernel with rpmsg (cached after the first build)"
  bash linux/build-kernel.sh
fi
