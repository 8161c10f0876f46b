#!/usr/bin/env bash
# Debian packages for the optional backends and the browser tests: apertium (Indonesian <-> Malay), FreeDict
# (English -> Indonesian), chromium (report screenshot, search-page test). Skipped when apt-get is not usable.
set -u
pkgs=(apertium apertium-ind-zlm dict-freedict-eng-ind chromium chromium-driver fonts-noto-core fonts-thai-tlwg)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: not root or no apt-get; tests needing ${missing[*]} will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
  || echo "system-deps: apt-get install failed; dependent tests will be skipped" >&2
exit 0
