#!/usr/bin/env bash
# Debian's Chromium for the HTML report's browser test (tests/html.rs), installed when missing,
# as `make test` installs the Python venv. CI runs as root; elsewhere this asks for sudo.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "installing Debian's chromium for the HTML report's browser test" >&2
run() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
run apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null || { echo "chromium did not install: apt-get install chromium" >&2; exit 1; }
