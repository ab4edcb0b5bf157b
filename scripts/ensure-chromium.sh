#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (Playwright cannot fetch its own browser builds
# here), and their screenshots need a font with Chinese glyphs: install what is missing.
set -euo pipefail
missing=()
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  missing+=(chromium)
fi
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  missing+=(fonts-noto-cjk)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing for the browser tests: install ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
