#!/usr/bin/env bash
# Sets up everything, then runs every test suite (unit, property, end to end on every target).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --for test
printf '\n== tests\n'
npx vitest run "$@"
