#!/usr/bin/env bash
# npm run bench: the local encrypt/decrypt bench, then the AWS adapter bench against moto (started here).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsx test/bench/encrypt.bench.ts
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then eval "$(bash deploy/moto.sh env)"; fi
export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
npx tsx test/bench/aws.bench.ts
