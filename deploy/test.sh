#!/usr/bin/env bash
# The whole test suite: starts the services it needs (PostgreSQL, the moto AWS KMS emulator), then
# runs it on PostgreSQL and on embedded PGlite. Set DATABASE_URL or AWS_ENDPOINT_URL to use your own.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then eval "$(bash deploy/postgres.sh env)"; fi
export DATABASE_URL
# The AWS KMS emulator, unless an endpoint is given (LocalStack users: set AWS_ENDPOINT_URL).
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then eval "$(bash deploy/moto.sh env)"; fi
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION

mkdir -p .run
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.run/vitest.json "$@" || status=$?
# One closing line in the plain form CI reads: "N passed, N failed".
node -e 'const r = require("./.run/vitest.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' || true
exit $status
