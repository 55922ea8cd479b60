"""The monthly cost review pack: every section from the published marts, offline, drawn by a real browser.

The browser test drives Debian's headless Chromium over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages on file descriptors 3 and 4, no websocket
library needed), loads the pack from a file URL with the network switched off, and asks
the page itself how large each chart was laid out and whether anything logged an error.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from orchestration.cli import main
from orchestration.publish import publish_marts
from orchestration.reports import write_review_pack
from tests.test_publish import real_build, write_build_file  # noqa: F401  (the shared session build)

SECTION_IDS = ["cost_trend", "showback", "top_movers", "anomalies", "budget", "commitments", "unit_costs", "kpis",
               "maturity", "untagged"]
CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-extensions", "--mute-audio",
                  "--hide-scrollbars"]


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fd 3: commands in, fd 4: out)."""

    def __init__(self, profile_dir: Path):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        shell = 'exec "$0" "$@" 3<&"$IN" 4>&"$OUT"'
        self.proc = subprocess.Popen(
            ["bash", "-c", shell, CHROMIUM, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={profile_dir}", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), env={**os.environ, "IN": str(to_chrome_r), "OUT": str(from_chrome_w)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium exited (status {self.proc.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def open(self, url: str, width: int = 1280, height: int = 900) -> str:
        """A new tab with console and log capture, offline, at ``url``; returns its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                       "uploadThroughput": -1}, session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        return session

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Uncaught exceptions, console errors/warnings, error log entries and failed requests seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"uncaught: {params['exceptionDetails'].get('text')} "
                             f"{params['exceptionDetails'].get('exception', {}).get('description', '')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append(f"console.{params['type']}: {[a.get('value') for a in params.get('args', [])]}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry'].get('text')}")
            elif method == "Network.loadingFailed":
                found.append(f"request failed: {params.get('errorText')}")
        return found

    def screenshot(self, session: str, path: Path, *, clip: dict | None = None) -> None:
        params = {"format": "png", "captureBeyondViewport": True}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", params, session=session)["data"]))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


CHART_STATS = """JSON.stringify(Array.from(document.querySelectorAll('svg.chart')).map(function (svg) {
  var box = svg.getBoundingClientRect();
  var marks = svg.querySelectorAll('polyline, rect.bar, circle, path');
  var drawn = Array.from(marks).filter(function (m) { var b = m.getBBox(); return b.width > 0 || b.height > 0; });
  return {section: svg.closest('section') ? svg.closest('section').id : null, width: box.width, height: box.height,
          marks: marks.length, drawn: drawn.length};
}))"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test installs it as root with apt)")
    chrome = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chrome
    chrome.close()


@pytest.mark.slow
def test_the_build_writes_a_review_pack_with_every_section_for_the_demo_organisation(real_build):
    reports = real_build["settings"].data_dir / "reports"
    pack = reports / "finops-review-2026-10.html"  # the last closed billing period
    assert [p.name for p in reports.glob("*.html")] == [pack.name]
    html = pack.read_text()
    for section in SECTION_IDS:
        assert f'<section id="{section}">' in html
    assert "Not available yet" not in html and "data-missing" not in html
    assert html.count("<svg") >= 8
    assert "negative margin" in html  # the sample's ML feature earns less per inference than it costs
    assert re.search(r'<span class="pill (ok|warn|breach)">(ok|warn|breach)</span>', html)
    assert re.search(r'<span class="pill (crawl|walk|run)">(crawl|walk|run)</span>', html)


@pytest.mark.slow
def test_finops_report_writes_one_self_contained_file_for_a_named_period(real_build, capsys, monkeypatch):
    data_dir = real_build["settings"].data_dir
    monkeypatch.setenv("FINOPS_DATA_DIR", str(data_dir))

    assert main(["report", "--period", "2026-09"]) == 0

    pack = data_dir / "reports" / "finops-review-2026-09.html"
    assert str(pack) in capsys.readouterr().out
    html = pack.read_text()
    assert "Monthly cost review — 2026-09" in html and "compared with 2026-08" in html
    # offline: nothing is fetched (no external scripts, styles, images or fonts)
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "@import" not in html and "url(" not in html


@pytest.mark.slow
def test_an_unknown_period_is_a_clear_error(real_build, capsys, monkeypatch):
    monkeypatch.setenv("FINOPS_DATA_DIR", str(real_build["settings"].data_dir))
    assert main(["report", "--period", "2019-01"]) == 1
    assert "billing period 2019-01 is not in the published warehouse (published: 2026-08, 2026-09, 2026-10)" \
        in capsys.readouterr().err


def test_marts_not_published_yet_are_reported_per_section_not_a_crash(tmp_path):
    import duckdb

    build = tmp_path / "build" / "warehouse.duckdb"
    build.parent.mkdir()
    with duckdb.connect(str(build)) as con:  # only the allocation marts exist so far
        con.execute("create schema marts")
        con.execute("""create table marts.fct_cost_allocated_daily as select date '2026-10-01' as billing_period,
            date '2026-10-02' as charge_date, '210987654301' as sub_account_id, 'Amazon S3' as service_name,
            'checkout' as team, 'account_default' as allocation_method, 'USD' as billing_currency,
            12.5 as billed_cost, 12.5 as effective_cost""")
        con.execute("""create table marts.rpt_showback_monthly as select date '2026-10-01' as billing_period,
            'checkout' as team, 10.0 as direct_cost, 2.5 as shared_cost, 12.5 as total_cost,
            null::double as prior_period_cost, null::double as change_pct, 100.0 as untagged_cost_pct""")
    publish_marts(build, tmp_path / "data")

    pack = write_review_pack(tmp_path / "data", "2026-10")

    assert sorted(pack.unavailable) == ["anomalies", "budget", "commitments", "kpis", "maturity", "unit_costs"]
    html = pack.path.read_text()
    assert 'data-missing="kpis"' in html and "Not available yet" in html and "fct_finops_kpis_monthly" in html
    assert '<section id="showback">' in html and 'data-missing="showback"' not in html
    assert "210987654301" in html  # the untagged account is listed even without dim_accounts


@pytest.mark.slow
def test_the_pack_renders_in_headless_chromium_with_charts_and_no_console_errors(real_build, browser):
    pack = real_build["settings"].data_dir / "reports" / "finops-review-2026-10.html"
    session = browser.open(pack.as_uri())

    charts = json.loads(browser.evaluate(session, CHART_STATS))
    sections = browser.evaluate(session, "Array.from(document.querySelectorAll('main section')).map(s => s.id)")
    sorted_first = browser.evaluate(session, """(function () {
        var th = document.querySelector('#showback th:nth-child(6)'); th.click(); th.click();
        return document.querySelector('#showback tbody tr td').textContent; })()""")

    assert sections == SECTION_IDS
    assert len(charts) >= 8
    for chart in charts:  # every chart was laid out with a size and drew its marks
        assert chart["width"] > 100 and chart["height"] > 20 and chart["drawn"] >= 1, chart
    assert {c["section"] for c in charts} >= {"cost_trend", "top_movers", "budget", "commitments", "unit_costs",
                                              "untagged"}
    assert sorted_first  # the inline sort script ran (largest total first after two clicks)
    assert browser.problems() == []


@pytest.mark.slow
def test_the_browser_check_does_catch_script_errors(tmp_path, browser):
    """The check above is only worth something if a broken page fails it."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><svg class='chart'></svg><script>console.error('boom'); undefinedCall();"
                    "</script></body></html>")
    browser.events.clear()
    browser.open(page.as_uri())
    problems = browser.problems()
    assert any("boom" in p for p in problems) and any("undefinedCall" in p for p in problems)


def test_text_from_the_bill_is_escaped_in_the_pack(tmp_path):
    """Issue 15.12: a team (tag value) or account named like markup is shown as text, never run."""
    import duckdb

    team, account = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"
    build = tmp_path / "build" / "warehouse.duckdb"
    build.parent.mkdir()
    with duckdb.connect(str(build)) as con:
        con.execute("create schema marts")
        con.execute("""create table marts.fct_cost_allocated_daily as select date '2026-10-01' as billing_period,
            date '2026-10-02' as charge_date, $account as sub_account_id, 'Amazon S3' as service_name,
            $team as team, 'account_default' as allocation_method, 'USD' as billing_currency,
            12.5 as billed_cost, 12.5 as effective_cost""", {"account": account, "team": team})
        con.execute("""create table marts.rpt_showback_monthly as select date '2026-10-01' as billing_period,
            $team as team, 10.0 as direct_cost, 2.5 as shared_cost, 12.5 as total_cost,
            null::double as prior_period_cost, null::double as change_pct, 100.0 as untagged_cost_pct""",
                    {"team": team})
    publish_marts(build, tmp_path / "data")

    html = write_review_pack(tmp_path / "data", "2026-10").path.read_text()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert team not in html and account not in html
    assert_no_markup_from_the_bill(html)


def parsed_tags(html: str) -> dict[str, int]:
    """Elements as a browser's tokenizer sees them; fails on any on…= event-handler attribute."""
    from collections import Counter
    from html.parser import HTMLParser

    tags: Counter = Counter()

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags[tag] += 1
            handlers = [name for name, _ in attrs if name.startswith("on")]
            assert not handlers, f"<{tag}> has event handler attribute(s) {handlers}"

    Parser().feed(html)
    return tags


def assert_no_markup_from_the_bill(html: str) -> None:
    """The only script is the pack's own sort script, allowed by hash in a CSP that forbids any other."""
    import base64
    import hashlib

    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S | re.I)
    assert len(scripts) == 1 and "table.sortable" in scripts[0]
    assert len(re.findall(r"<script", html, flags=re.I)) == 1
    assert parsed_tags(html)["script"] == 1 and "img" not in parsed_tags(html)
    [csp] = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    directives = dict((d.split()[0], d.split()[1:]) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == ["'none'"]
    assert directives["img-src"] == ["data:"]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert directives["script-src"] == [f"'sha256-{digest}'"]  # our script and nothing inline besides
    assert html.index("Content-Security-Policy") < html.index("<title>")


def test_chart_labels_and_tooltips_from_the_bill_are_escaped():
    """Charts are built as strings: labels, legends, <title> tooltips and aria-label attributes escape text."""
    from orchestration.reports import charts

    hostile = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    svgs = [charts.hbar_chart([(hostile, 5.0), ("ok", -2.0)], title=hostile),
            charts.line_chart(["2026-09", hostile], {hostile: [1.0, 2.0]}, title=hostile),
            charts.range_chart([{"label": hostile, "forecast": 10.0, "low": 8.0, "high": 12.0, "budget": 9.0,
                                 "actual": 5.0}], title=hostile),
            charts.meter(50.0, 80.0, title=hostile)]
    for svg in svgs:
        assert "<script" not in svg and "<img" not in svg
        assert "script" not in parsed_tags(svg) and "img" not in parsed_tags(svg)
        assert 'aria-label="&quot;&gt;&lt;script&gt;' in svg
        assert "<title>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in svg
