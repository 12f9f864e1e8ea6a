#!/usr/bin/env bash
# Records the demo video: starts the platform locally on its embedded defaults, plays the story
# in headless Chromium and writes artifacts/demo.mp4 (devtools/demo.py says what it shows).
# Needs Debian's chromium and ffmpeg (scripts/system-deps.sh installs them when run as root).
# Arguments go to `python -m devtools.demo` (--short, --out PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
source scripts/bootstrap.sh
exec uv run --frozen --no-sync python -m devtools.demo "$@"
