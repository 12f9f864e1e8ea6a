#!/usr/bin/env bash
# Sourced by the run and test commands: makes `uv` available and syncs the locked environment.
# Needs nothing but Python 3.11+; uv comes from PyPI into a private venv under .local/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v uv >/dev/null 2>&1; then
  if [ ! -x .local/uv-venv/bin/uv ]; then
    echo "bootstrap: installing uv into .local/uv-venv" >&2
    python3 -m venv .local/uv-venv
    .local/uv-venv/bin/pip install --quiet --disable-pip-version-check uv
  fi
  export PATH="$ROOT/.local/uv-venv/bin:$PATH"
fi

# BOOTSTRAP_SYNC_ARGS: extra `uv sync` arguments (which dependency groups). Not positional: a
# sourced script sees its caller's arguments, which belong to the caller (pytest's, for test.sh).
# --inexact keeps packages that another command installed, so switching between running and
# testing does not reinstall anything.
read -r -a sync_args <<< "${BOOTSTRAP_SYNC_ARGS:-}"
uv sync --frozen --inexact "${sync_args[@]}" >&2
