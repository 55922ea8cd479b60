"""The monthly cost review pack: every section from the published marts, offline, drawn by a real browser.

The browser test drives Debian's headless Chromium over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: JSON messages on file descriptors 3 and 4, no websocket
library needed), loads the pack from a file URL with the network switched off, and asks
the page itself how large each chart was laid out and whether anything logged an error.
"""

from __future__ import annotations

import json
import re

import pytest

from orchestration.cli import main
from orchestration.publish import publish_marts
from orchestration.reports import write_review_pack
from orchestration.reports.browser import CHROMIUM, Browser
from tests.test_publish import real_build, write_build_file  # noqa: F401  (the shared session build)

SECTION_IDS = ["cost_trend", "showback", "top_movers", "anomalies", "budget", "commitments", "unit_costs", "kpis",
               "maturity", "untagged", "kubernetes", "shared_paths", "optimize"]
CHART_STATS = """JSON.stringify(Array.from(document.querySelectorAll('svg.chart')).map(function (svg) {
  var box = svg.getBoundingClientRect();
  var marks = svg.querySelectorAll('polyline, rect.bar, circle, path');
  var drawn = Array.from(marks).filter(function (m) { var b = m.getBBox(); return b.width > 0 || b.height > 0; });
  return {section: svg.closest('section') ? svg.closest('section').id : null, width: box.width, height: box.height,
          marks: marks.length, drawn: drawn.length};
}))"""


# Asked of the page itself: what a reader would see as broken. Returns a list of problems.
#  - anything sticking out of the window (inside a .table-wrap, sideways scrolling is intended);
#  - text drawn smaller than 12 px (SVG text: its font size times the chart's on-screen scale);
#  - chart text outside its chart (cut off), or two texts of one chart on top of each other.
LAYOUT_PROBLEMS = """JSON.stringify((function () {
  var width = document.documentElement.clientWidth, problems = [];
  function where(el) {
    var section = el.closest('section');
    return (section ? '#' + section.id + ' ' : '') + '<' + el.tagName.toLowerCase() + '> "'
      + (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
  }
  function visible(r) { return r.width > 0 || r.height > 0; }
  document.querySelectorAll('body *').forEach(function (el) {
    var tag = el.tagName.toLowerCase();
    if (tag === 'title' || tag === 'script') return;
    var r = el.getBoundingClientRect();
    if (!visible(r)) return;
    var scrolled = el.parentElement && el.parentElement.closest('.table-wrap');
    if (!scrolled && !el.closest('svg text') && (r.right > width + 0.5 || r.left < -0.5))
      problems.push('sticks out of the ' + width + ' px window (' + r.left.toFixed(0) + '..' + r.right.toFixed(0)
                    + '): ' + where(el));
    var ownText = Array.from(el.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim(); });
    if (ownText) {
      var size = parseFloat(getComputedStyle(el).fontSize);
      if (el.closest('svg')) size *= el.closest('text').getScreenCTM().a;
      if (size < 11.95) problems.push('text drawn at ' + size.toFixed(1) + ' px: ' + where(el));
    }
  });
  if (document.documentElement.scrollWidth > width)
    problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    var texts = Array.from(svg.querySelectorAll('text')).map(function (t) { return [t, t.getBoundingClientRect()]; });
    texts.forEach(function (a, i) {
      var r = a[1];
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        problems.push('text outside its chart: ' + where(a[0]));
      texts.slice(i + 1).forEach(function (b) {
        var s = b[1], w = Math.min(r.right, s.right) - Math.max(r.left, s.left),
            h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
        if (w > 1 && h > 1) problems.push('texts overlap: ' + where(a[0]) + ' and ' + where(b[0]));
      });
    });
  });
  return problems;
})())"""


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
        con.execute("""create table marts.fct_tag_coverage_monthly as select date '2026-10-01' as billing_period,
            'USD' as billing_currency, '210987654301' as sub_account_id, 'Amazon S3' as service_name,
            'Usage' as charge_category, 'untagged' as tag_status, false as is_shared_by_design,
            12.5 as effective_cost""")
    publish_marts(build, tmp_path / "data")

    pack = write_review_pack(tmp_path / "data", "2026-10")

    assert sorted(pack.unavailable) == ["anomalies", "budget", "commitments", "kpis", "kubernetes", "maturity",
                                        "optimize", "shared_paths", "unit_costs"]
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
def test_the_pack_reads_at_1280_and_820_px_and_prints_on_a4(real_build, browser, tmp_path):
    """Issue 16.6: at a laptop split screen (820 px) nothing sticks out of the window, no text is
    under 12 px, no chart text overlaps or is cut; wide tables scroll inside their own box; the
    print layout (A4 landscape) needs no scrolling at all and makes a PDF."""
    pack = real_build["settings"].data_dir / "reports" / "finops-review-2026-10.html"
    figure_tops = ("Array.from(document.querySelectorAll('#cost_trend figure.chart'))"
                   ".map(f => f.getBoundingClientRect().top)")
    scrolling_tables = ("Array.from(document.querySelectorAll('.table-wrap'))"
                        ".filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.closest('section').id)")
    session = browser.open(pack.as_uri(), width=820)

    assert json.loads(browser.evaluate(session, LAYOUT_PROBLEMS)) == []
    stacked = browser.evaluate(session, figure_tops)
    assert len(stacked) == 2 and stacked[1] > stacked[0] + 100  # the two trend charts, one under the other
    assert "showback" in browser.evaluate(session, scrolling_tables)  # 12 columns: scrolls in its box, not the page
    captions = browser.evaluate(session, "Array.from(document.querySelectorAll('figcaption')).map(c => c.innerText)")
    assert captions[:2] == ["Daily cost (USD per day)", "Monthly cost per team (USD per month, effective)"]
    assert len(captions) >= 7 and all(re.fullmatch(r".+ \(.+\)", c) for c in captions), captions  # each with its unit

    browser.set_viewport(session, 1280)
    assert json.loads(browser.evaluate(session, LAYOUT_PROBLEMS)) == []
    side_by_side = browser.evaluate(session, figure_tops)
    assert side_by_side[0] == side_by_side[1]

    # A4 landscape less 12 mm margins is 273 mm = 1032 CSS px wide
    browser.set_viewport(session, 1032)
    browser.set_media(session, "print")
    assert json.loads(browser.evaluate(session, LAYOUT_PROBLEMS)) == []
    assert browser.evaluate(session, scrolling_tables) == []  # on paper every column is there
    assert browser.evaluate(session, "getComputedStyle(document.querySelector('nav')).display") == "none"
    pdf = tmp_path / "pack.pdf"
    browser.print_pdf(session, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    boxes = {tuple(round(float(v)) for v in box.split()[2:])
             for box in re.findall(rb"/MediaBox\s*\[([\d.\s]+)\]", data)}
    assert boxes == {(842, 595)}, boxes  # every page A4 landscape, in points
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
        con.execute("""create table marts.fct_tag_coverage_monthly as select date '2026-10-01' as billing_period,
            'USD' as billing_currency, $account as sub_account_id, 'Amazon S3' as service_name,
            'Usage' as charge_category, 'untagged' as tag_status, false as is_shared_by_design,
            12.5 as effective_cost""", {"account": account})
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


def _lab(hex_colour: str, cvd: list[list[float]] | None = None) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour, optionally as seen with a colour vision deficiency."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    rgb = [linear(int(hex_colour[i:i + 2], 16) / 255) for i in (1, 3, 5)]
    if cvd:
        rgb = [min(max(sum(m * c for m, c in zip(row, rgb)), 0.0), 1.0) for row in cvd]
    r, g, b = rgb
    xyz = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, \
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD_SIMULATIONS = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def test_the_team_palette_has_12_colours_that_stay_apart_for_colour_blind_readers():
    """Issue 16.6: twelve teams get twelve hues that differ in normal vision and with colour blindness."""
    import itertools
    import math

    from orchestration.reports import charts

    assert len(charts.PALETTE) == 12 and len({c.lower() for c in charts.PALETTE}) == 12
    closest = {"normal": min(math.dist(_lab(a), _lab(b)) for a, b in itertools.combinations(charts.PALETTE, 2))}
    for name, matrix in CVD_SIMULATIONS.items():
        closest[name] = min(math.dist(_lab(a, matrix), _lab(b, matrix))
                            for a, b in itertools.combinations(charts.PALETTE, 2))
    assert closest["normal"] >= 20, closest  # ΔE*ab: 2.3 is "just noticeable", 20+ reads as another colour
    assert min(closest.values()) >= 10, closest
    assert charts.OTHER not in charts.PALETTE


def test_no_text_in_the_pack_is_smaller_than_12px():
    """Issue 16.6: every font size in the stylesheet and in the charts is px and at least 12."""
    from orchestration.reports import charts
    from orchestration.reports.review_pack import TEMPLATE_DIR

    css = (TEMPLATE_DIR / "review_pack.css").read_text()
    declared = re.findall(r"font(?:-size)?\s*:\s*([^;}]*)", css)
    sizes = [re.match(r"([\d.]+)(px)?", d.strip()) for d in declared if re.match(r"[\d.]", d.strip())]
    assert len(sizes) >= 10 and all(m and m.group(2) == "px" for m in sizes), declared  # no em/rem/%: px only
    assert min(float(m.group(1)) for m in sizes) >= 12, declared
    svgs = [charts.line_chart(["2026-08", "2026-09"], {"a": [1.0, 2.0]}, title="t"),
            charts.hbar_chart([("a", 5.0), ("b", -2.0)], title="t"),
            charts.range_chart([{"label": "a", "forecast": 10.0, "low": 8.0, "high": 12.0, "budget": 9.0,
                                 "actual": 5.0}], title="t"),
            charts.meter(50.0, 80.0, title="t")]
    for svg in svgs:
        sizes = [float(v) for v in re.findall(r'font-size="([\d.]+)"', svg)]
        assert sizes and min(sizes) >= 12, svg[:200]
        assert "font-size:" not in svg and "scale(" not in svg  # nothing shrinks the text behind our back


def test_one_spike_does_not_flatten_the_daily_trend_but_is_labelled_with_its_value():
    """Issue 16.6: the axis ends above the ordinary days; the spike sits on the edge with its date and value."""
    from orchestration.reports import charts

    days = [f"10-{d:02d}" for d in range(1, 32)]
    cost = [1000.0 + 10 * (d % 7) for d in range(31)]
    cost[0] = 48_000.0  # an upfront commitment fee on the 1st
    svg = charts.line_chart(days, {"billed cost": cost}, title="Daily cost", unit="USD per day", clip_spikes=True)

    ticks = re.findall(r'text-anchor="end" fill="[^"]+">([^<]+)</text>', svg)
    assert ticks == ["0", "300", "600", "900", "1.2k"]  # the ordinary days (1,000–1,060) fill most of the height
    assert '<text class="spike-label"' in svg
    assert re.search(r'class="spike-label"[^>]*>10-01: <tspan fill="#0072B2">48\.0k</tspan></text>', svg)
    assert "▲ above 1.2k: value labelled" in svg
    assert '<figcaption>Daily cost <span class="unit">(USD per day)</span></figcaption>' in svg
    # without a spike, or without clip_spikes, the scale is the plain one
    plain = charts.line_chart(days, {"billed cost": cost}, title="Daily cost")
    assert "spike-label" not in plain and re.findall(r'text-anchor="end" fill="[^"]+">([^<]+)</text>', plain)[-1] \
        == "60.0k"
