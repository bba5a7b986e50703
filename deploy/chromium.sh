#!/usr/bin/env bash
# Installs Debian's Chromium (package `chromium`, if missing) for the web UI's browser tests, which
# drive it with playwright-core: no browser is downloaded from anywhere else.
#   deploy/chromium.sh start   install if needed; prints the browser's path
#   deploy/chromium.sh env     the same, then print the export for eval
set -euo pipefail
. "$(dirname "$0")/debian.sh"

BROWSER=${KMSGW_CHROMIUM:-/usr/bin/chromium}

start() {
  [ -x "$BROWSER" ] || debian_install chromium Chromium
  echo "chromium.sh: $("$BROWSER" --version 2>/dev/null) at $BROWSER" >&2
}

case "${1:-start}" in
  start) start ;;
  env) start; echo "export KMSGW_CHROMIUM=$BROWSER" ;;
  *) echo "usage: $0 start|env" >&2; exit 2 ;;
esac
