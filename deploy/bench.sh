#!/usr/bin/env bash
# npm run bench: the local encrypt/decrypt bench, the AWS adapter bench against moto, the pkcs11
# provider against local on a SoftHSM2 token, failover and repair with AWS frozen, what access decisions and audit cost, and the
# inventory at 1,000,000 keys in PostgreSQL, and backup and restore of 1,000,000 keys against pg_dump and psql
# (services started here).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsx test/bench/encrypt.bench.ts
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then eval "$(bash deploy/moto.sh env)"; fi
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
npx tsx test/bench/aws.bench.ts
if [ -z "${KMSGW_PKCS11_MODULE:-}" ]; then eval "$(bash deploy/softhsm.sh env)"; fi
export SOFTHSM2_CONF KMSGW_PKCS11_MODULE KMSGW_PKCS11_TOKEN KMSGW_PKCS11_PIN_FILE
npx tsx test/bench/pkcs11.bench.ts
KMSGW_MOTO_SERVER=${KMSGW_MOTO_SERVER:-$(bash deploy/moto.sh server)}
export KMSGW_MOTO_SERVER
npx tsx test/bench/failover.bench.ts
if [ -z "${DATABASE_URL:-}" ]; then eval "$(bash deploy/postgres.sh env)"; fi
export DATABASE_URL
npx tsx test/bench/policy-audit.bench.ts
npx tsx test/bench/inventory.bench.ts
npx tsx test/bench/backup.bench.ts
