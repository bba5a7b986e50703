#!/usr/bin/env bash
# Installs moto's server (from PyPI, into a project-local virtualenv) and starts it on loopback as
# the AWS KMS emulator for the tests. Idempotent: a running server is left as it is.
#   deploy/moto.sh start   install if needed and start; prints the endpoint
#   deploy/moto.sh env     the same, then print the exports for eval
#   deploy/moto.sh stop
#   deploy/moto.sh server  install if needed; print the moto_server program (tests that stop and
#                          start an emulator of their own run it)
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${KMSGW_MOTO_PORT:-55500}
VENV=${KMSGW_MOTO_VENV:-$PWD/.run/moto-venv}
URL="http://127.0.0.1:$PORT"
LOG=.run/moto.log
MOTO_VERSION=5.2.5

log() { echo "moto.sh: $*" >&2; }
# moto's server picks the service from the credential scope of a request's signature (unsigned, moto
# 5.2.6 takes it for S3): the probe names kms there, as the SDK's signed requests do.
up() {
  curl -sf -o /dev/null -X POST "$URL/" -H 'X-Amz-Target: TrentService.ListKeys' -H 'Content-Type: application/x-amz-json-1.1' \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0' -d '{}'
}

install() {
  mkdir -p .run
  if [ ! -x "$VENV/bin/moto_server" ] || [ "$("$VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$MOTO_VERSION" ]; then
    log "installing moto[server] from PyPI into $VENV"
    python3 -m venv "$VENV"
    # Pinned: the suite's emulator exceptions (test/conformance/exceptions.ts) are for this release.
    "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
  fi
}

start() {
  install
  if ! up; then
    nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
    for _ in $(seq 1 100); do up && break; sleep 0.2; done
    up || { log "moto did not start; see $LOG"; exit 1; }
    log "started on $URL"
  fi
}

case "${1:-start}" in
  start) start; echo "$URL" ;;
  env) start; echo "export AWS_ENDPOINT_URL=$URL AWS_ACCESS_KEY_ID=\${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-test} AWS_REGION=\${AWS_REGION:-us-east-1}" ;;
  server) install; echo "$VENV/bin/moto_server" ;;
  stop) pkill -f "moto_server -H 127.0.0.1 -p $PORT" || true ;;
  *) echo "usage: $0 start|env|stop|server" >&2; exit 2 ;;
esac
