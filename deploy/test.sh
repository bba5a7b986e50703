#!/usr/bin/env bash
# The whole test suite: starts the services it needs (PostgreSQL, the moto AWS KMS emulator, a
# SoftHSM2 token, Debian's Chromium), then runs it on PostgreSQL and on embedded PGlite. Set DATABASE_URL,
# AWS_ENDPOINT_URL or KMSGW_PKCS11_MODULE (with _TOKEN and _PIN_FILE) to use your own.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ]; then eval "$(bash deploy/postgres.sh env)"; fi
export DATABASE_URL
# The AWS KMS emulator, unless an endpoint is given (LocalStack users: set AWS_ENDPOINT_URL).
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then eval "$(bash deploy/moto.sh env)"; fi
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
# The outage tests stop and start an emulator of their own, whatever the endpoint above.
KMSGW_MOTO_SERVER=${KMSGW_MOTO_SERVER:-$(bash deploy/moto.sh server)}
export KMSGW_MOTO_SERVER
if [ -z "${KMSGW_PKCS11_MODULE:-}" ]; then eval "$(bash deploy/softhsm.sh env)"; fi
export SOFTHSM2_CONF KMSGW_PKCS11_MODULE KMSGW_PKCS11_TOKEN KMSGW_PKCS11_PIN_FILE
# Debian's Chromium for the web UI's browser tests, unless a browser is given.
if [ -z "${KMSGW_CHROMIUM:-}" ]; then eval "$(bash deploy/chromium.sh env)"; fi
export KMSGW_CHROMIUM

mkdir -p .run
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.run/vitest.json "$@" || status=$?
# One closing line in the plain form CI reads: "N passed, N failed".
node -e 'const r = require("./.run/vitest.json"); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' || true
exit $status
