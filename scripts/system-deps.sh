#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, only those missing. Needs root (CI and dev boxes are).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# A CJK font, so browser screenshots of the Chinese pages show characters, not boxes.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
# The reverse proxy of the two-node test (tests/integration/test_two_nodes.py); only the binary is used.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if ((${#need[@]})); then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${need[@]}"
fi
