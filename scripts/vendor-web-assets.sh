#!/usr/bin/env bash
# The pages load every script and style sheet from the ledger's own origin, never a CDN (many
# networks cannot reach one, and a CDN could change what runs): copy the npm packages' built
# files, with their licences, into the web package's static folder.
set -euo pipefail
cd "$(dirname "$0")/.."
out=ledger_api/web/static/vendor
rm -rf "$out"
mkdir -p "$out/swagger-ui" "$out/redoc" "$out/echarts"
ui=node_modules/swagger-ui-dist
cp "$ui/swagger-ui-bundle.js" "$ui/swagger-ui.css" "$ui/favicon-32x32.png" "$ui/LICENSE" "$out/swagger-ui/"
cp node_modules/redoc/LICENSE "$out/redoc/"
# Redoc's sidebar credit loads its logo from the vendor's CDN, unconditionally: an empty
# inline image instead, so the page asks nothing of another origin.
logo='https://cdn.redoc.ly/redoc/logo-mini.svg'
grep -q "$logo" node_modules/redoc/bundles/redoc.standalone.js
sed "s|$logo|data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E|" \
  node_modules/redoc/bundles/redoc.standalone.js >"$out/redoc/redoc.standalone.js"
cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE "$out/echarts/"
