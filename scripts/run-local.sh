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

# Web Push: a local-only VAPID key pair, generated once like the signing key (deployments take
# VAPID_PRIVATE_KEY from a Kubernetes Secret). Browsers subscribe with the public half; the
# notifier signs with the private one and pushes to the browser vendor's push service.
if [ -z "${VAPID_PRIVATE_KEY:-}" ]; then
  if [ ! -s .local/vapid-private-key ]; then
    (umask 077 && uv run --frozen --no-sync python -c \
      'from app.core.vapid import generate; print(generate()[0])' > .local/vapid-private-key)
  fi
  VAPID_PRIVATE_KEY="$(cat .local/vapid-private-key)"
fi
if [ -z "${VAPID_PUBLIC_KEY:-}" ]; then
  VAPID_PUBLIC_KEY="$(uv run --frozen --no-sync python -c \
    'import sys; from app.core.vapid import public_key_from_private as p; print(p(sys.argv[1]))' \
    "$VAPID_PRIVATE_KEY")"
fi
export VAPID_PRIVATE_KEY VAPID_PUBLIC_KEY
export VAPID_SUBJECT="${VAPID_SUBJECT:-mailto:admin@localhost}"
export NOTIFIER_CHANNELS="${NOTIFIER_CHANNELS:-log,push,user_webhook}"

exec uv run --frozen --no-sync python -m services.local "$@"
