#!/usr/bin/env bash
# `make run`: the sandbox when neither Slack nor Google is configured; otherwise start a persistent local Redis
# when none is configured, then run the bot.
# The bot reads ./.env itself (so its error messages can say which line a bad value came from).
set -euo pipefail
cd "$(dirname "$0")/.."
# Nothing of Slack or Google configured (in the environment or ./.env): the sandbox, which needs neither.
if [[ "$#" -eq 0 ]] && ! env | grep -qE '^(SLACK|GOOGLE)_' \
    && ! { [[ -f .env ]] && grep -qE '^[[:space:]]*(export[[:space:]]+)?(SLACK|GOOGLE)_[A-Z_]*=' .env; }; then
  echo "no Slack or Google configuration found: starting the sandbox; see README > Create the Slack app to run it for real"
  exec .venv/bin/python -m bot sandbox
fi
configured_redis="${REDIS_URL:-}"
if [[ -z "$configured_redis" && -f .env ]]; then
  configured_redis="$(grep -E '^(export )?REDIS_URL=.' .env || true)"
fi
if [[ -z "$configured_redis" ]] && command -v redis-server >/dev/null 2>&1; then
  mkdir -p .data
  port="${MEETBOT_LOCAL_REDIS_PORT:-6390}"
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/.data" --appendonly yes --daemonize yes \
      --logfile "$PWD/.data/redis.log" --pidfile "$PWD/.data/redis.pid"
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export REDIS_URL="redis://127.0.0.1:${port}/0"
  echo "Using local Redis on port ${port}, data in ./.data (stop it with: redis-cli -p ${port} shutdown)"
fi
exec .venv/bin/python -m bot "$@"
