#!/usr/bin/env bash
# The Debian packages the tests start as real components (and shellcheck, which actionlint runs
# on the workflows; wrk, for bench/api.py; ffmpeg, for the demo video). Installs the missing
# ones when run as root; otherwise names them and stops, since the tests cannot run without them.
set -euo pipefail

PACKAGES=(postgresql openjdk-17-jre-headless maven prometheus prometheus-alertmanager chromium chromium-driver shellcheck wrk ffmpeg)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing Debian packages: ${missing[*]} (install them as root)" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps prometheus-alertmanager from pulling a desktop's worth of deps.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
