#!/usr/bin/env bash
# Sets up and runs the whole test suite: lint and type checks, then pytest. The tests start the
# real components they need (PostgreSQL, Kafka, Prometheus, Chromium) on 127.0.0.1 themselves.
# Arguments are passed to pytest (e.g. `scripts/test.sh tests/api -k sqlite`).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"

bash scripts/system-deps.sh
uv run --frozen --no-sync python -m devtools.kafka fetch

uv run --frozen --no-sync ruff check .
uv run --frozen --no-sync ruff format --check .
# mypy's cache lives outside the checkout, so a fresh clone (CI) starts warm after the first run.
MYPY_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/todo-platform/mypy" uv run --frozen --no-sync mypy

exec uv run --frozen --no-sync pytest -p no:cacheprovider "$@"
