#!/usr/bin/env bash
# Sets up everything, builds the example firmware, boots it and runs the host simulator's
# rpmsg-client-sample exchange against it, printing what happened.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --for demo
printf '\n== demo\n'
npx tsx cli/main.ts demo "$@"
