#!/usr/bin/env bash
# Renders an `attend explain` report.html with headless Chromium into a PNG (default
# docs/images/report.png), for the documentation.
#   scripts/screenshot_report.sh OUT_DIR/report.html [docs/images/report.png]
# Installs Debian's chromium when it is missing (needs root and the package mirror).
set -euo pipefail
report=${1:?usage: $0 REPORT.html [OUT.png]}
out=${2:-docs/images/report.png}
[ -f "$report" ] || { echo "error: $report: no such file" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium missing: installing it (apt-get install -y chromium)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  browser=$(command -v chromium)
fi
mkdir -p "$(dirname "$out")"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1400,3000 \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$report")" 2>/dev/null
[ -s "$out" ] || { echo "error: chromium wrote no screenshot" >&2; exit 1; }
echo "screenshot: $out"
