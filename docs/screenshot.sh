#!/usr/bin/env bash
# Regenerates docs/images/report.png, the README's picture of the demo report:
#   bash docs/screenshot.sh
# Needs mmrwe installed and Chromium (Debian: apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmrwe --quiet demo --out "$work/demo" >/dev/null
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --hide-scrollbars --window-size=1100,1500 \
  --screenshot="$work/report.png" "file://$work/demo/run/report.html" 2>/dev/null
python - "$work/report.png" docs/images/report.png <<'PY'
import sys
from matplotlib import image

picture = image.imread(sys.argv[1])
image.imsave(sys.argv[2], picture[:1500, :1100])
PY
echo "written docs/images/report.png"
