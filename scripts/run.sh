#!/usr/bin/env bash
# `make run`: the sandbox when none of meetbot's own Slack or Google variables is set; otherwise start a persistent
# local Redis when none is configured, then run the bot.
# The bot reads ./.env itself (so its error messages can say which line a bad value came from).
set -euo pipefail
cd "$(dirname "$0")/.."
# meetbot's own Slack and Google variables (DESIGN §3), and their NAME_FILE forms. Other tools' variables, such as
# gcloud's GOOGLE_CLOUD_PROJECT or Google's GOOGLE_APPLICATION_CREDENTIALS alone, say nothing about meetbot.
own='(SLACK_(SIGNING_SECRET|BOT_TOKEN|APP_TOKEN|CLIENT_ID|CLIENT_SECRET|USER_SCOPES|API_URL)'
own+='|GOOGLE_(CLIENT_ID|CLIENT_SECRET|SERVICE_ACCOUNT_FILE|SCOPES|PUBSUB_TOPIC|PUBSUB_SUBSCRIPTION|PUBSUB_PUSH_ACCOUNT'
own+='|ALLOW_OTHER_EMAILS|EVENTS_URL|CERTS_URL|AUTH_URL|TOKEN_URL|REVOKE_URL|USERINFO_URL))(_FILE)?'
if [[ "$#" -eq 0 ]] && ! env | grep -qE "^${own}=" \
    && ! { [[ -f .env ]] && grep -qE "^[[:space:]]*(export[[:space:]]+)?${own}=" .env; }; then
  echo "no Slack or Google configuration for meetbot found: starting the sandbox;" \
       "see README > Create the Slack app to run it for real"
  exec .venv/bin/python -m bot sandbox
fi
configured_redis="${REDIS_URL:-}${REDIS_URL_FILE:-}"
if [[ -z "$configured_redis" && -f .env ]]; then
  configured_redis="$(grep -E '^[[:space:]]*(export[[:space:]]+)?REDIS_URL(_FILE)?=.' .env || true)"
fi
started_redis=""
if [[ -z "$configured_redis" ]] && command -v redis-server >/dev/null 2>&1; then
  mkdir -p .data
  port="${MEETBOT_LOCAL_REDIS_PORT:-6390}"
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/.data" --appendonly yes --daemonize yes \
      --logfile "$PWD/.data/redis.log" --pidfile "$PWD/.data/redis.pid"
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    started_redis=$port
  fi
  export REDIS_URL="redis://127.0.0.1:${port}/0"
  echo "Using local Redis on port ${port}, data in ./.data (stop it with: redis-cli -p ${port} shutdown)"
fi
if [[ -z "$started_redis" ]]; then
  exec .venv/bin/python -m bot "$@"
fi
# This run started the Redis: a bot that could not start (2: configuration, 3: data layout) must not leave it behind.
status=0
.venv/bin/python -m bot "$@" || status=$?
if [[ $status -eq 2 || $status -eq 3 ]]; then
  redis-cli -p "$started_redis" shutdown >/dev/null 2>&1 || true
  echo "Stopped the local Redis this run started on port ${started_redis} (meetbot did not start)."
fi
exit "$status"
