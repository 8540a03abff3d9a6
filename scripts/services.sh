#!/usr/bin/env bash
# Runs the five mediarec services as separate processes on one machine that
# has PostgreSQL and NATS (with JetStream), as a Kubernetes deployment runs
# them, with web's one origin at WEB_ADDR. Prints "ready" once every service
# answers /readyz, and stops them all on Ctrl+C (SIGINT) or SIGTERM.
#
#   DATABASE_URL        PostgreSQL server, any database on it
#                       (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#   NATS_URL            NATS with JetStream (default nats://127.0.0.1:4222)
#   MEDIAREC_DB_PREFIX  prefix of the databases created if missing (default mediarec_):
#                       <prefix>catalog, <prefix>users, <prefix>recs
#   MEDIAREC_ADMIN_TOKEN  token for catalog writes (default: one is generated and printed)
#   WEB_ADDR            web's address (default 127.0.0.1:8080)
#   CATALOG_ADDR, USERS_ADDR, RECS_ADDR, WORKER_ADDR
#                       the services' own addresses (defaults 127.0.0.1:8081 … 8084)
#   MEDIAREC_DATA_DIR   where each service keeps its files (default ./data/services)
#   MEDIAREC_BIN        the mediarec binary (default: built into bin/mediarec)
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
prefix=${MEDIAREC_DB_PREFIX:-mediarec_}
WEB_ADDR=${WEB_ADDR:-127.0.0.1:8080}
CATALOG_ADDR=${CATALOG_ADDR:-127.0.0.1:8081}
WORKER_ADDR=${WORKER_ADDR:-127.0.0.1:8082}
USERS_ADDR=${USERS_ADDR:-127.0.0.1:8083}
RECS_ADDR=${RECS_ADDR:-127.0.0.1:8084}
data=${MEDIAREC_DATA_DIR:-./data/services}
unset MEDIAREC_DATA_DIR MEDIAREC_ADDR CATALOG_DATABASE_URL USERS_DATABASE_URL RECS_DATABASE_URL
if [[ -z "${MEDIAREC_ADMIN_TOKEN:-}" ]]; then
  MEDIAREC_ADMIN_TOKEN=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  echo "catalog writes: Authorization: Bearer $MEDIAREC_ADMIN_TOKEN"
fi
export MEDIAREC_ADMIN_TOKEN

if [[ -z "${MEDIAREC_BIN:-}" ]]; then
  GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -o bin/mediarec ./cmd/mediarec
  MEDIAREC_BIN=bin/mediarec
fi

# The URL of database $1 on the server of DATABASE_URL.
db_url() {
  local base=${DATABASE_URL%%\?*} query=""
  [[ "$DATABASE_URL" == *\?* ]] && query="?${DATABASE_URL#*\?}"
  echo "${base%/*}/$1$query"
}
for svc in catalog users recs; do
  name="${prefix}${svc}"
  if [[ ! "$name" =~ ^[a-z0-9_]+$ ]]; then
    echo "services.sh: database name $name: use lower-case letters, digits and _ in MEDIAREC_DB_PREFIX" >&2
    exit 2
  fi
  if [[ -z "$(psql "$DATABASE_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]]; then
    psql "$DATABASE_URL" -qc "CREATE DATABASE $name" >/dev/null
    echo "created database $name"
  fi
done

pids=()
stop() {
  trap - INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  exit "${1:-0}"
}
trap stop INT TERM

# start NAME COMMAND ADDR [VAR=value…]: one service, its logs in its data dir.
start() {
  local name=$1 cmd=$2 addr=$3
  shift 3
  mkdir -p "$data/$name"
  env "$@" MEDIAREC_ADDR="$addr" MEDIAREC_DATA_DIR="$data/$name" \
    "$MEDIAREC_BIN" "$cmd" >"$data/$name/stdout.log" 2>"$data/$name/stderr.log" &
  pids+=($!)
}
start catalog catalog "$CATALOG_ADDR" CATALOG_DATABASE_URL="$(db_url "${prefix}catalog")"
start users users "$USERS_ADDR" USERS_DATABASE_URL="$(db_url "${prefix}users")" CATALOG_URL="http://$CATALOG_ADDR"
start recs recs "$RECS_ADDR" RECS_DATABASE_URL="$(db_url "${prefix}recs")" USERS_URL="http://$USERS_ADDR"
start embed-worker embed-worker "$WORKER_ADDR"
start web web "$WEB_ADDR" CATALOG_URL="http://$CATALOG_ADDR" USERS_URL="http://$USERS_ADDR" RECS_URL="http://$RECS_ADDR"

for addr in "$CATALOG_ADDR" "$USERS_ADDR" "$RECS_ADDR" "$WORKER_ADDR" "$WEB_ADDR"; do
  for ((i = 0; ; i++)); do
    if curl -fs -o /dev/null "http://$addr/readyz"; then break; fi
    if ((i >= 600)); then
      echo "services.sh: http://$addr/readyz did not answer 200 within a minute; logs are in $data" >&2
      stop 1
    fi
    for pid in "${pids[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "services.sh: a service exited at start; logs are in $data" >&2
        stop 1
      fi
    done
    sleep 0.1
  done
done
echo "ready: http://$WEB_ADDR"
wait
