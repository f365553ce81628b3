#!/usr/bin/env bash
# Fetches the Moddable XS engine sources (XS 13.3.0) from the pinned npm package
# @agoric/xsnap@0.15.0 into .cache/ (idempotent). Uses `npm pack` so no install script of
# the package ever runs and none of its runtime dependencies is installed; the tarball is
# checked against the registry integrity before anything is extracted.
# Prints the path of the extracted xs/ folder (package/moddable/xs) as its last line.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache/xs"
version="0.15.0"
integrity="sha512-ZBm4DZxbtfacxMHVVdJjZi0Y8zOxN77vpu1WwI5RWfPkaRh0aHkz/dVdTGKXalDNzWfz183lljKxlxl3/h0n+A=="
tarball="$cache/agoric-xsnap-$version.tgz"
xs="$cache/xsnap-$version/moddable/xs"

if [ -f "$xs/.extracted" ]; then
  echo "$xs"
  exit 0
fi

mkdir -p "$cache"
# Parallel callers: one fetches, the others wait and then find it extracted.
exec 9>"$cache/.lock"
flock 9
if [ -f "$xs/.extracted" ]; then
  echo "$xs"
  exit 0
fi
if [ ! -f "$tarball" ]; then
  echo "fetch-xs: npm pack @agoric/xsnap@$version" >&2
  (cd "$cache" && npm pack "@agoric/xsnap@$version" --ignore-scripts --silent >/dev/null)
fi

# node is always there (openssl may not be on a minimal image)
actual="$(node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
if [ "$actual" != "$integrity" ]; then
  echo "fetch-xs: EINTEGRITY: $tarball has $actual, expected $integrity; delete it and retry" >&2
  rm -f "$tarball"
  exit 1
fi

tmp="$cache/extract.$$"
rm -rf "$tmp" && mkdir -p "$tmp"
tar -xzf "$tarball" -C "$tmp" package/moddable/xs package/LICENSE 2>/dev/null || tar -xzf "$tarball" -C "$tmp" package/moddable/xs
rm -rf "$cache/xsnap-$version"
mv "$tmp/package" "$cache/xsnap-$version"
rmdir "$tmp"
touch "$xs/.extracted"
echo "fetch-xs: extracted XS sources ($(ls "$xs/sources" | wc -l) files in sources/)" >&2
echo "$xs"
