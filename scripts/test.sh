#!/usr/bin/env bash
# Sets up everything, then runs every test suite (unit, property, end to end on every target).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --for test
# Warm the XS engine object caches once, so the suites' firmware builds only relink.
printf '\n== firmware (qemu-mps2 and posix)\n'
npx tsx tools/build-firmware.ts --target qemu-mps2 --quiet
npx tsx tools/build-firmware.ts --target posix --quiet
printf '\n== tests\n'
mkdir -p build
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=build/vitest-results.json "$@" || status=$?
# One plain closing line for CI: "N passed, N failed, N skipped".
node -e '
  const r = JSON.parse(require("fs").readFileSync("build/vitest-results.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit "$status"
