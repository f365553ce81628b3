#!/usr/bin/env bash
# Builds the User-Mode Linux kernel that plays the rpmsg host (virtio_rpmsg_bus, rpmsg_char,
# rpmsg_client_sample.ko) plus the guest-side rpmsg_char exercise, cached under .cache/uml/.
#
# Usage: linux/build-kernel.sh            (prints progress on stderr, the output folder on stdout)
# The output folder holds: linux (the UML kernel), rpmsg_client_sample.ko, rpmsg-char-exercise,
# config (the final .config) and build.log. It is keyed by a hash of what shapes the kernel
# (uml.config, the patches, the kernel source package version), so a second run with nothing
# changed returns at once; the exercise is recompiled (a second) whenever its source changes.
set -euo pipefail
shopt -s nullglob

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${XSR_UML_CACHE:-$repo/.cache/uml}"
source_tarball=/usr/src/linux-source-6.1.tar.xz
jobs="$(nproc 2>/dev/null || echo 2)"

say() { printf '[build-kernel %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- host packages -------------------------------------------------------------------------
packages=(linux-source-6.1 flex bison bc libelf-dev xz-utils kmod gcc make libc6-dev)

missing_packages() {
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

wait_for_dpkg_lock() {
  # Another apt run (e.g. the machine's background install) may hold the lock: wait, don't fight.
  local waited=0
  while pgrep -x apt-get >/dev/null || pgrep -x dpkg >/dev/null || pgrep -x apt >/dev/null; do
    if (( waited % 15 == 0 )); then say "waiting for another apt/dpkg run to finish (see /tmp/apt-install.log)"; fi
    sleep 1; waited=$((waited + 1))
    if (( waited > 900 )); then say "gave up waiting for the dpkg lock after 15 minutes"; exit 1; fi
  done
}

ensure_packages() {
  local missing
  missing="$(missing_packages)"
  [[ -z "$missing" ]] && return 0
  wait_for_dpkg_lock
  missing="$(missing_packages)"
  [[ -z "$missing" ]] && return 0
  local sudo=""
  if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
  say "installing from Debian: $(echo $missing)"
  if [[ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]]; then
    $sudo apt-get update >&2
  fi
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing >&2; then
    say "apt-get install failed; running apt-get update once and retrying"
    $sudo apt-get update >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing >&2
  fi
}

ensure_packages
[[ -f "$source_tarball" ]] || { say "missing $source_tarball after install"; exit 1; }

# --- cache key -----------------------------------------------------------------------------
source_version="$(dpkg-query -W -f='${Version}' linux-source-6.1)"
patches=("$here"/*.patch)
key="$( { cat "$here/uml.config" "${patches[@]}"; echo "$source_version"; } | sha256sum | cut -c1-16)"
out="$cache/$key"

# The guest-side rpmsg_char exercise: static, so it runs whatever the hostfs root holds. The cache
# is shared by every worktree, so each version of the source gets its own file,
# rpmsg-char-exercise.<first 16 hex of its sha256> (linux/uml.ts passes that one to init);
# rpmsg-char-exercise is a copy of the last one built.
build_exercise() {
  local sum target
  sum="$(sha256sum < "$here/rpmsg-char-exercise.c" | cut -c1-16)"
  target="$out/rpmsg-char-exercise.$sum"
  if [[ ! -x "$target" ]]; then
    say "compiling rpmsg-char-exercise (static)"
    gcc -O2 -Wall -Wextra -Werror -static -o "$target.$$" "$here/rpmsg-char-exercise.c"
    mv "$target.$$" "$target"
  fi
  if [[ -x "$out/rpmsg-char-exercise" && "$(cat "$out/exercise.sha" 2>/dev/null)" == "$sum" ]]; then return 0; fi
  cp "$target" "$out/rpmsg-char-exercise.$$"
  mv "$out/rpmsg-char-exercise.$$" "$out/rpmsg-char-exercise"
  echo "$sum" > "$out/exercise.sha"
}

if [[ -f "$out/.complete" ]]; then
  build_exercise
  ln -sfn "$key" "$cache/current"
  say "cached: $out"
  echo "$out"
  exit 0
fi

# One build at a time (test files run in parallel and may all ask for the kernel).
mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
  say "another build-kernel.sh is running; waiting for it"
  flock 9
fi
if [[ -f "$out/.complete" ]]; then
  build_exercise
  ln -sfn "$key" "$cache/current"
  say "built meanwhile by the other run: $out"
  echo "$out"
  exit 0
fi

started=$(date +%s)
work="$cache/build-$key"
rm -rf "$work" "$out"
mkdir -p "$work" "$out"
trap 'rc=$?; if (( rc != 0 )); then say "FAILED (rc $rc); build tree kept at $work, log $work/build.log"; fi' EXIT

# --- source --------------------------------------------------------------------------------
say "unpacking $source_tarball (linux-source-6.1 $source_version)"
tar -C "$work" -xf "$source_tarball"
src="$work/linux-source-6.1"

for p in "${patches[@]}"; do
  say "applying $(basename "$p")"
  patch -d "$src" -p1 --forward --quiet < "$p"
done

# --- configure -----------------------------------------------------------------------------
say "configuring ARCH=um from tinyconfig + linux/uml.config"
log="$out/build.log"
make -C "$src" ARCH=um tinyconfig >"$log" 2>&1
(cd "$src" && ARCH=um scripts/kconfig/merge_config.sh -m .config "$here/uml.config") >>"$log" 2>&1
make -C "$src" ARCH=um olddefconfig >>"$log" 2>&1

# Every option the fragment asks for must have survived olddefconfig (a dependency may drop one).
bad=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*)
      if ! grep -qx -- "$line" "$src/.config"; then say "option not applied: $line"; bad=1; fi ;;
    "# CONFIG_"*" is not set")
      opt="${line#\# }"; opt="${opt%% *}"
      if grep -q "^$opt=" "$src/.config"; then say "option still set: $opt"; bad=1; fi ;;
  esac
done < "$here/uml.config"
(( bad == 0 )) || { say "kernel configuration does not match linux/uml.config"; exit 1; }
cp "$src/.config" "$out/config"

# --- build ---------------------------------------------------------------------------------
say "building the kernel and modules with -j$jobs (a few minutes cold; log: $log)"
if ! make -C "$src" ARCH=um -j"$jobs" linux modules >>"$log" 2>&1; then
  tail -40 "$log" >&2
  exit 1
fi
cp "$src/linux" "$out/linux"
cp "$src/samples/rpmsg/rpmsg_client_sample.ko" "$out/rpmsg_client_sample.ko"

build_exercise
touch "$out/.complete"
ln -sfn "$key" "$cache/current"
rm -rf "$work"
trap - EXIT
say "done in $(( $(date +%s) - started )) s: $out ($(du -h "$out/linux" | cut -f1) kernel)"
echo "$out"
