#!/usr/bin/env bash
# Make a local Redis ready for the online store and the frequency caps: installed (apt), running
# on LAKECDP_REDIS_PORT (6379), answering PING. Idempotent; `make services` (and so `make test`)
# runs it. The server is the Debian package's binary started as a daemon with its data under
# .cache/redis, so it needs no systemd.
set -euo pipefail

PORT="${LAKECDP_REDIS_PORT:-6379}"
DATA_DIR="${LAKECDP_REDIS_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/.cache/redis}"

log() { echo "redis: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG; then
  log "ready on localhost:$PORT"
  exit 0
fi

mkdir -p "$DATA_DIR"
log "starting redis-server on port $PORT (data in $DATA_DIR)"
redis-server --port "$PORT" --bind 127.0.0.1 --daemonize yes --dir "$DATA_DIR" \
  --logfile "$DATA_DIR/redis.log" --pidfile "$DATA_DIR/redis.pid" --save "" --appendonly no

for _ in $(seq 1 60); do
  redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && { log "ready on localhost:$PORT"; exit 0; }
  sleep 0.25
done
log "not answering PING on port $PORT"; cat "$DATA_DIR/redis.log" >&2 || true
exit 1
