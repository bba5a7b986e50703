#!/usr/bin/env bash
# The whole test suite: starts the services it needs (PostgreSQL), then runs it on PostgreSQL and
# on embedded PGlite. Set DATABASE_URL to use a PostgreSQL of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then eval "$(bash deploy/postgres.sh env)"; fi
export DATABASE_URL

mkdir -p .run
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.run/vitest.json "$@" || status=$?
# One closing line in the plain form CI reads: "N passed, N failed".
node -e 'const r = require("./.run/vitest.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' || true
exit $status
