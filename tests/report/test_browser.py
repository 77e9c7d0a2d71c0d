"""The report rendered by headless Chromium: it draws, logs nothing, and requests nothing.

Chromium is the Debian package ``chromium`` (``.ci/run`` installs it). Without it the test is
skipped locally and fails under ``CI=true``. Requests are read from Chromium's NetLog
(``--log-net-log``): a request whose network isolation key is the report's own ``file://``
page was made by the page (Chromium's own background requests carry other keys); a proxy on a
closed local port keeps anything from leaving the machine. Console messages (errors, and the
CSP violations an external reference would cause) are read from ``--enable-logging=stderr``.
A deliberately bad page checks that both detectors do fire.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mmrwe.report.html import build_report
from tests.report.run_fixture import write_run

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    message = (
        "headless Chromium not found (install the Debian package: apt-get install -y chromium)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI must run the browser test")
    pytest.skip(message)


def render(page: Path, out: Path, width: int = 1280, height: int = 2400) -> dict:
    """Screenshot ``page``; return the PNG path, page-initiated request URLs, console lines."""
    browser = find_browser()
    shot, netlog = out / "shot.png", out / "netlog.json"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--proxy-server=127.0.0.1:9",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={netlog}",
        f"--user-data-dir={out / 'profile'}",
        f"--window-size={width},{height}",
        f"--screenshot={shot}",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]
    return {"png": shot, "requests": page_requests(netlog), "console": console}


def page_requests(netlog: Path) -> list[str]:
    """URLs requested by the ``file://`` page (not by Chromium itself), data: excluded."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params", {})
        if event["type"] != start or "url" not in params:
            continue
        own = params.get("network_isolation_key", "").startswith("file://")
        if own and not params["url"].startswith("data:"):
            urls.append(params["url"])
    return urls


def pixels(png: Path) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(png)[..., :3]


def test_report_renders_without_errors_or_requests(tmp_path):
    run = write_run(tmp_path / "run")
    report = build_report(run)
    result = render(report, tmp_path)
    image = pixels(result["png"])
    assert image.shape[:2] == (2400, 1280)
    ink = (image.mean(axis=2) < 0.5).mean()
    assert ink > 0.005, "the screenshot is blank"
    assert image.std() > 0.05
    assert result["console"] == []
    assert result["requests"] == []


def test_the_detectors_fire_on_a_bad_page(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><body><p>bad page</p><script>console.error("boom")</script>'
        '<img src="http://example.invalid/pixel.png"></body></html>'
    )
    result = render(bad, tmp_path, width=400, height=300)
    assert any("boom" in line for line in result["console"])
    assert result["requests"] == ["http://example.invalid/pixel.png"]


def test_an_external_reference_in_the_report_would_be_blocked_and_logged(tmp_path):
    """The report's Content-Security-Policy blocks a remote image and Chromium says so."""
    run = write_run(tmp_path / "run", with_figures=False)
    report = build_report(run)
    text = report.read_text(encoding="utf-8")
    report.write_text(text.replace("</main>", '<img src="https://example.invalid/p.png"></main>'))
    result = render(report, tmp_path, width=400, height=300)
    assert result["requests"] == []
    assert any("Content Security Policy" in line for line in result["console"])


def test_missing_browser_fails_under_ci(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser test"):
        find_browser()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        find_browser()


def test_report_prints_to_pdf(tmp_path):
    """The print stylesheet yields a paginated A4 PDF."""
    run = write_run(tmp_path / "run")
    report = build_report(run)
    pdf = tmp_path / "report.pdf"
    command = [
        find_browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        report.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert pages >= 2
    # A4 is 595 x 842 points (Chromium writes 594.96 x 841.92)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert boxes
    assert all(abs(float(w) - 595) < 1 and abs(float(h) - 842) < 1 for w, h in boxes)


#: reads, once the page has loaded, where each table sits against its frame and the viewport
MEASURE = """<script>
window.addEventListener("load", () => {
  const out = {viewport: document.documentElement.clientWidth,
               page: document.documentElement.scrollWidth, tables: []};
  for (const t of document.querySelectorAll("table")) {
    const box = t.getBoundingClientRect(), frame = t.parentElement.getBoundingClientRect();
    const cells = [...t.querySelectorAll("th, td")].map((c) => c.getBoundingClientRect().right);
    out.tables.push({caption: t.caption ? t.caption.textContent : t.rows[0].textContent,
                     right: box.right, frame: frame.right, cells: Math.max(...cells)});
  }
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def measure(page: Path, out: Path, width: int) -> dict:
    """Table geometry of ``page`` in Chromium at ``width`` px. The copy measured differs from
    the report only by the script above (and a CSP letting it run)."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text)
    probe = out / f"measure-{width}.html"
    probe.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    command = [
        find_browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--proxy-server=127.0.0.1:9",
        f"--user-data-dir={out / 'profile'}",
        f"--window-size={width},2000",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probe.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    import html

    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [1280, 800])
def test_wide_tables_are_not_cut_off(tmp_path, width):
    """Table 1 with six lines and Total, and the 14-column comparison table: every column
    inside the table's frame (wrapped, not hidden behind a scroll), the page not wider than
    the window."""
    run = write_run(tmp_path / "run", with_figures=False, wide=True)
    found = measure(build_report(run), tmp_path, width)
    assert found["page"] <= found["viewport"] == width
    captions = [t["caption"] for t in found["tables"]]
    assert any(c.startswith("Table 1") for c in captions)
    assert any(c.startswith("Real-world cohort against the trial arm") for c in captions)
    for table in found["tables"]:
        assert table["right"] <= table["frame"] + 1, table["caption"]
        assert table["cells"] <= min(table["frame"], width) + 1, table["caption"]
