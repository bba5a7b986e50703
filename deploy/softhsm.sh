#!/usr/bin/env bash
# Installs SoftHSM2 (Debian's `softhsm2`, if missing) and initialises a token for the `pkcs11`
# provider in a project-local directory, so the tests and local runs have a real PKCS#11 token.
# Idempotent: an initialised token is kept with its keys.
#   deploy/softhsm.sh start   install if needed, initialise the token; prints the connection settings
#   deploy/softhsm.sh env     the same, then print the exports for eval
#   deploy/softhsm.sh reset   delete the token and its keys
set -euo pipefail
. "$(dirname "$0")/debian.sh"
cd "$(dirname "$0")/.."

DIR=${KMSGW_SOFTHSM_DIR:-$PWD/.run/softhsm}
LABEL=${KMSGW_PKCS11_TOKEN:-kmsgw}
CONF="$DIR/softhsm2.conf"
PIN_FILE="$DIR/user.pin"

log() { echo "softhsm.sh: $*" >&2; }

module() {
  local m
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    [ -f "$m" ] && { echo "$m"; return; }
  done
}

install() {
  [ -n "$(module)" ] && command -v softhsm2-util >/dev/null && return
  debian_install softhsm2 SoftHSM2
}

start() {
  install
  mkdir -p "$DIR/tokens"
  chmod 700 "$DIR"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' "$DIR/tokens" >"$CONF"
  # The PINs are random per token and stay in files only this user can read.
  if [ ! -s "$PIN_FILE" ]; then
    (umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PIN_FILE"; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/so.pin")
  fi
  if ! SOFTHSM2_CONF="$CONF" softhsm2-util --show-slots 2>/dev/null | grep -q "Label:.*\b$LABEL\b"; then
    SOFTHSM2_CONF="$CONF" softhsm2-util --init-token --free --label "$LABEL" --pin "$(cat "$PIN_FILE")" --so-pin "$(cat "$DIR/so.pin")" >/dev/null
    log "initialised token '$LABEL' in $DIR/tokens"
  fi
}

settings() {
  cat <<EOF
# A connection for KMSGW_CONFIG (SOFTHSM2_CONF=$CONF must be in the gateway's environment):
#   - name: hsm
#     provider: pkcs11
#     module: $(module)
#     token: $LABEL
#     pinFile: $PIN_FILE
EOF
}

case "${1:-start}" in
  start) start; settings ;;
  env) start; echo "export SOFTHSM2_CONF=$CONF KMSGW_PKCS11_MODULE=$(module) KMSGW_PKCS11_TOKEN=$LABEL KMSGW_PKCS11_PIN_FILE=$PIN_FILE" ;;
  reset) rm -rf "$DIR"; log "deleted $DIR" ;;
  *) echo "usage: $0 start|env|reset" >&2; exit 2 ;;
esac
