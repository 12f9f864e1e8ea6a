#!/usr/bin/env bash
# Sets up and runs the whole test suite: lint and type checks, then pytest. The tests start the
# real components they need (PostgreSQL, Kafka, Prometheus, Chromium, a Kubernetes control
# plane, the Pulumi engine) on 127.0.0.1 themselves.
# Arguments are passed to pytest (e.g. `scripts/test.sh tests/api -k sqlite`).
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"

# First of all, in the background and at the lowest priority: the Go builds of the control
# plane, the Pulumi CLI and its Kubernetes provider (about an hour of CPU on a fresh machine,
# nothing once cached in ~/.cache/todo-platform). The deploy tests wait for them through the
# status files; everything else runs meanwhile. The build outlives this script if the tests
# finish first (a later run then finds it cached, or waits for it: builds are locked).
export DEVTOOLS_GOBUILD_STATUS_DIR="${DEVTOOLS_GOBUILD_STATUS_DIR:-$ROOT/.local/gobuild}"
rm -rf "$DEVTOOLS_GOBUILD_STATUS_DIR"
mkdir -p "$DEVTOOLS_GOBUILD_STATUS_DIR"
nohup nice -n 19 uv run --frozen --no-sync python -m devtools.gobuild \
  --status-dir "$DEVTOOLS_GOBUILD_STATUS_DIR" >"$DEVTOOLS_GOBUILD_STATUS_DIR/gobuild.out" 2>&1 &

bash scripts/system-deps.sh
uv run --frozen --no-sync python -m devtools.kafka fetch

uv run --frozen --no-sync ruff check .
uv run --frozen --no-sync ruff format --check .
# mypy's cache lives outside the checkout, so a fresh clone (CI) starts warm after the first run.
MYPY_CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/todo-platform/mypy" uv run --frozen --no-sync mypy

status=0
uv run --frozen --no-sync pytest -p no:cacheprovider "$@" || status=$?
# What was built and how long each component took (or that it came from the cache).
uv run --frozen --no-sync python -m devtools.gobuild --report "$DEVTOOLS_GOBUILD_STATUS_DIR"
exit "$status"
