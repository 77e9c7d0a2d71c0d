#!/usr/bin/env bash
# Regenerates docs/images/report.png, the README's picture of the demo report:
#   bash docs/screenshot.sh
# The picture is the report's top (title, contents, study definition) above its first
# Kaplan–Meier figure (curves and numbers at risk), as Chromium draws them at 1,100 px.
# Needs mmrwe installed and Chromium (Debian: apt-get install chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmrwe --quiet demo --out "$work/demo" >/dev/null
report="$work/demo/run/shareable/report.html"
browser=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
  --hide-scrollbars --window-size=1100,9000)
# where the first KM figure sits: a copy of the report with a measuring script (and no CSP)
python - "$report" "$work/probe.html" <<'PY'
import re, sys
from pathlib import Path

page = Path(sys.argv[1]).read_text(encoding="utf-8")
page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
script = (
    '<script>window.addEventListener("load", () => { const f = document.querySelector('
    '"figure[id^=fig-km_]").getBoundingClientRect(); const p = document.createElement("pre");'
    ' p.id = "at"; p.textContent = `${Math.round(f.top)} ${Math.round(f.bottom)}`;'
    " document.body.appendChild(p); });</script>"
)
Path(sys.argv[2]).write_text(page.replace("</body>", script + "</body>"), encoding="utf-8")
PY
"${browser[@]}" --virtual-time-budget=5000 --dump-dom "file://$work/probe.html" 2>/dev/null \
  | sed -n 's/.*<pre id="at">\([0-9]*\) \([0-9]*\)<\/pre>.*/\1 \2/p' > "$work/at.txt"
"${browser[@]}" --screenshot="$work/report.png" "file://$report" 2>/dev/null
python - "$work/report.png" docs/images/report.png "$work/at.txt" <<'PY'
import sys
from pathlib import Path

import numpy as np
from matplotlib import image

picture = image.imread(sys.argv[1])
top, bottom = (int(v) for v in Path(sys.argv[3]).read_text().split())
head = picture[:560]  # title, lede, contents, the start of the study definition
rule = np.full((6, picture.shape[1], picture.shape[2]), 0.85, dtype=picture.dtype)
figure = picture[max(top - 10, 0) : bottom + 10]
image.imsave(sys.argv[2], np.concatenate([head, rule, figure])[:1700, :1100])
PY
echo "written docs/images/report.png"
