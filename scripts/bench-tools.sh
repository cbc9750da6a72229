#!/usr/bin/env bash
# What `npm run bench` needs beyond the workspace: Debian's redis-server and the BullMQ peer's
# packages (bench/peers, its own lock file, so CI's `npm ci` never installs them). Installs what is
# missing with apt when it can (as root); otherwise says what to install, and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench tools: installing redis-server with apt-get" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >/dev/null; }
  else
    echo "bench tools: please install redis-server (Debian/Ubuntu: apt-get install redis-server)" >&2
    exit 1
  fi
fi
if [ ! -d bench/peers/node_modules/bullmq ] || [ ! -d bench/peers/node_modules/ioredis ]; then
  echo "bench tools: installing the BullMQ peer's packages (bench/peers)" >&2
  npm ci --prefix bench/peers --no-audit --no-fund --silent
fi
