#!/usr/bin/env bash
# Runs the platform locally: the API on http://127.0.0.1:8000 (OpenAPI docs at /docs) with the
# worker services in the same process. Defaults: SQLite file database and the in-process event
# bus. Set DATABASE_URL (postgresql://...) and/or KAFKA_BOOTSTRAP (host:port) to use real ones.
set -euo pipefail
BOOTSTRAP_SYNC_ARGS="--no-default-groups" source "$(dirname "$0")/bootstrap.sh"

mkdir -p .local
if [ -z "${JWT_SECRET:-}" ]; then
  # A local-only signing key, generated once and kept out of git, so tokens survive restarts.
  if [ ! -s .local/jwt-secret ]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > .local/jwt-secret)
  fi
  JWT_SECRET="$(cat .local/jwt-secret)"
  export JWT_SECRET
fi

exec uv run --frozen --no-sync python -m services.local "$@"
