"""Inline SVG charts for the review pack: plain strings, no JavaScript, no fonts or files to fetch.

Each chart is one ``<svg>`` (a ``str``) whose width/height equal its ``viewBox``: it is drawn
at its own size and only shrinks, never stretches, so its 13 px text stays 13 px. Line, bar
and range charts come in a ``<figure>`` whose caption is the visible title with its unit.
Text is escaped; colours come from ``PALETTE``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from html import escape

# Okabe & Ito's colour-blind-safe set (8, "Color Universal Design", 2008) followed by four
# colours from Paul Tol's "muted" qualitative set (indigo, green, wine, olive) that stay apart
# from it: every pair of the 12 differs by ΔE*ab ≥ 20 in normal vision and ≥ 10 under simulated
# deuteranopia, protanopia and tritanopia (tests/test_report.py checks both). Yellow is last:
# it is the weakest on white, so it is only used when 12 series are drawn.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#332288",
           "#117733", "#882255", "#999933", "#F0E442"]
OTHER = "#8C8C8C"  # the residual series ("other teams"): grey, so it reads as not-a-team
GRID = "#e5e7eb"
AXIS_TEXT = "#4b5563"
INK = "#111827"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""
# Charts are drawn at their viewBox size (1 unit = 1 CSS px) and only shrink below it on narrow
# screens, so 13 here still renders ≥ 12 px at an 820 px window and on A4 (the browser test checks).
FONT_SIZE = 13
CHAR_W = 0.64 * FONT_SIZE  # DejaVu Sans (wide) digits are 0.64 em: lay labels out without measuring them


def money(value: float | None, currency: str = "") -> str:
    """Compact money label: 1.2k, 3.4M (chart axes); tables use full figures."""
    if value is None:
        return "–"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{sign}{value / limit:.1f}{suffix}{(' ' + currency) if currency else ''}"
    return f"{sign}{value:,.0f}{(' ' + currency) if currency else ''}"


def _nice_max(value: float) -> float:
    """The next 'round' number at or above value, so that its quarters (the grid lines) are round too."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 1.2, 1.6, 2, 2.4, 3.2, 4, 6, 8, 10):  # each a multiple of 4 quarter-ticks that read well
        candidate = step * 10 ** exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _text_width(text: str) -> float:
    return len(text) * CHAR_W


def _clip(text: str, width: float) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` (estimated)."""
    fits = max(int(width / CHAR_W), 4)
    return text if len(text) <= fits else text[:fits - 1] + "…"


def _svg(width: int, height: int, body: list[str], title: str, css_class: str = "chart") -> str:
    # width/height make 1 viewBox unit one CSS pixel; CSS (max-width: 100%) only ever shrinks it.
    return (f'<svg class="{css_class}" role="img" aria-label="{escape(title)}" width="{width}" height="{height:.0f}" '
            f'viewBox="0 0 {width} {height:.0f}" xmlns="http://www.w3.org/2000/svg" {FONT} '
            f'font-size="{FONT_SIZE}"><title>{escape(title)}</title>{"".join(body)}</svg>')


def figure(svg: str, title: str, unit: str = "") -> str:
    """A chart with its visible title and unit above it (the SVG's own <title> is only a tooltip)."""
    unit_html = f' <span class="unit">({escape(unit)})</span>' if unit else ""
    return f'<figure class="chart"><figcaption>{escape(title)}{unit_html}</figcaption>{svg}</figure>'


DASH = "7 4"


def _legend(items: list[tuple[str, str | None]], x0: float, y0: float, width: float,
            lines: dict[str, bool] | None = None) -> tuple[list[str], float]:
    """Swatch + name per item, flowed left to right and wrapped, so no two entries overlap.

    ``lines`` maps a name to whether its line is dashed: those get a line swatch, not a square.
    Returns the SVG elements and the height used.
    """
    body, x, y, row_h = [], x0, y0, FONT_SIZE + 8
    lines = lines or {}
    for name, colour in items:
        label = _clip(name, width - 26)
        swatch_w = 0 if colour is None else 20 if name in lines else 11  # None: the name carries its own mark
        item_w = swatch_w + 5 + _text_width(label) + 16
        if x > x0 and x + item_w > x0 + width:
            x, y = x0, y + row_h
        if colour is None:
            pass
        elif name in lines:
            dash = f' stroke-dasharray="{DASH}"' if lines[name] else ""
            body.append(f'<line class="legend-swatch" x1="{x:.1f}" x2="{x + swatch_w:.1f}" y1="{y + 8:.1f}" '
                        f'y2="{y + 8:.1f}" stroke="{colour}" stroke-width="3"{dash}/>')
        else:
            body.append(f'<rect class="legend-swatch" x="{x:.1f}" y="{y + 2:.1f}" width="11" height="11" '
                        f'fill="{colour}"/>')
        body.append(f'<text class="legend" x="{x + swatch_w + (5 if swatch_w else 0):.1f}" y="{y + 12:.1f}" fill="{INK}">{escape(label)}'
                    f"<title>{escape(name)}</title></text>")
        x += item_w
    return body, (y - y0 + row_h) if items else 0


def _spike_ceiling(values: list[float], ratio: float = 2.0) -> float | None:
    """The axis ceiling that keeps a few isolated spikes from flattening everything else, or None.

    The top few values (at most 5 % of the points) are "spikes" when they stand ``ratio`` times
    above the rest; the axis then ends just above the rest and the spikes are drawn at the top
    edge, labelled with their value.
    """
    ordered = sorted((v for v in values if v is not None), reverse=True)
    if len(ordered) < 8:
        return None
    for k in range(1, max(1, len(ordered) // 20) + 1):
        rest = ordered[k]
        if rest > 0 and ordered[k - 1] > ratio * rest:
            return _nice_max(rest * 1.1)
    return None


def line_chart(labels: list[str], series: dict[str, list[float | None]], *, title: str, unit: str = "",
               currency: str = "", width: int = 720, height: int = 240, value_format=None,
               colours: dict[str, str] | None = None, dashed: set[str] = frozenset(),
               clip_spikes: bool = False) -> str:
    """One line per series over shared x labels (periods or days); a legend under the plot.

    ``colours`` fixes some series' colours (the rest take the palette in order); ``dashed``
    series are drawn dashed, a second encoding when colour alone would not tell them apart.

    With ``clip_spikes`` a few isolated spikes do not set the scale: the axis is cut above the
    other values and each spike is marked ▲ at the top edge with its date and value.
    """
    fmt = value_format or (lambda v: money(v, ""))
    colours = colours or {}
    values = [v for vs in series.values() for v in vs if v is not None]
    lo = min(0.0, min(values, default=0.0))
    ceiling = _spike_ceiling(values) if clip_spikes else None
    hi = ceiling if ceiling is not None else _nice_max(max(values, default=1.0))
    span = (hi - lo) or 1.0
    left = 12 + max(_text_width(fmt(lo + span * k / 4)) for k in range(5))
    # the first and last x labels are centred on the plot's edges: leave them room
    left = min(max(left, _text_width(labels[0]) / 2 + 4), width / 4) if labels else left
    right = min(max(24, _text_width(labels[-1]) / 2 + 4), width / 4) if labels else 24
    top = 46 if ceiling is not None else 12
    plot_w = width - left - right
    items = [(name, colours.get(name, PALETTE[s % len(PALETTE)])) for s, name in enumerate(series)]
    if ceiling is not None:
        items.append((f"▲ above {fmt(hi)}: value labelled", None))
    legend, legend_h = _legend(items, left, 0, plot_w, {name: name in dashed for name in series})
    plot_h = height - top - 32
    total_h = height + legend_h
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * (min(v, hi) - lo) / span

    body = []
    for k in range(5):
        v = lo + span * k / 4
        body.append(f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6:.1f}" y="{y(v) + 4:.1f}" text-anchor="end" fill="{AXIS_TEXT}">'
                    f"{escape(fmt(v))}</text>")
    if ceiling is not None:  # a break mark on the axis: the scale does not reach the spikes
        body.append(f'<path d="M{left - 5:.1f},{top + 4} l10,-4 M{left - 5:.1f},{top + 8} l10,-4" '
                    f'stroke="{INK}" stroke-width="1.5"/>')
    label_w = max((_text_width(lbl) for lbl in labels), default=0) + 12
    step = max(1, math.ceil(label_w / (plot_w / max(n - 1, 1)))) if n > 1 else 1
    shown = [i for i in range(n) if i % step == 0]
    if n - 1 not in shown and n - 1 - shown[-1] >= step:  # the last label too, unless it would collide
        shown.append(n - 1)
    for i in shown:
        body.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 22}" text-anchor="middle" fill="{AXIS_TEXT}">'
                    f"{escape(labels[i])}</text>")
    spikes: dict[int, list[tuple[str, float]]] = defaultdict(list)  # x index -> (colour, value) per series
    for (name, colour), vs in zip(items, series.values()):
        points = [(x(i), y(v), v, i) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points)
            dash = f' stroke-dasharray="{DASH}"' if name in dashed else ""
            body.append(f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2.5"{dash} '
                        f'stroke-linejoin="round" points="{path}"><title>{escape(name)}</title></polyline>')
        for px, py, v, i in points:
            tip = f"<title>{escape(name)} {escape(labels[i])}: {escape(fmt(v))}</title>"
            if v > hi:
                body.append(f'<path class="spike" d="M{px:.1f},{py - 9:.1f} l6,10 h-12 Z" fill="{colour}">{tip}</path>')
                spikes[i].append((colour, v))
            elif len(points) <= 12:
                body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}">{tip}</circle>')
    rows_end = [-1e9, -1e9]  # spike labels in two rows above the plot, so neighbours do not collide
    for i, marks in sorted(spikes.items()):  # one label per day: "10-01: 5.2k / 4.9k", values in their series' colour
        marks.sort(key=lambda m: -m[1])
        values = [f'<tspan fill="{colour}">{escape(fmt(v))}</tspan>' for colour, v in marks]
        w = _text_width(f"{labels[i]}: " + " / ".join(fmt(v) for _, v in marks))
        cx = min(max(x(i), left + w / 2), left + plot_w - w / 2)
        row = 0 if cx - w / 2 > rows_end[0] + 6 else 1
        if row == 1 and cx - w / 2 <= rows_end[1] + 6:
            continue  # a third spike this close: its value is in the tooltip
        rows_end[row] = cx + w / 2
        body.append(f'<text class="spike-label" x="{cx:.1f}" y="{top - 15 - 17 * row}" text-anchor="middle" '
                    f'fill="{INK}">{escape(labels[i])}: {" / ".join(values)}</text>')
    body.append(f'<g transform="translate(0 {height})">{"".join(legend)}</g>')
    return figure(_svg(width, total_h, body, title), title, unit)


def hbar_chart(rows: list[tuple[str, float]], *, title: str, unit: str = "", currency: str = "",
               width: int = 720, bar_height: int = 26, value_format=None, colour: str = PALETTE[0],
               negative_colour: str = PALETTE[2]) -> str:
    """Horizontal bars (one per row), diverging around zero when some values are negative."""
    fmt = value_format or (lambda v: money(v, ""))
    label_w = min(max((_text_width(label) for label, _ in rows), default=40) + 12, width * 0.42)
    value_w, top = max((_text_width(fmt(v)) for _, v in rows), default=40) + 10, 4
    height = top * 2 + bar_height * max(len(rows), 1)
    plot_w = width - label_w - value_w
    lo = min(0.0, min((v for _, v in rows), default=0.0))
    hi = max(0.0, max((v for _, v in rows), default=0.0))
    span = (hi - lo) or 1.0
    if lo < 0:  # room for the value labels of negative bars on their left
        plot_w -= value_w
    left = label_w + (value_w if lo < 0 else 0)
    zero = left + plot_w * (-lo) / span
    body = [f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height}" stroke="{GRID}"/>']
    for i, (label, v) in enumerate(rows):
        yy = top + i * bar_height
        base = yy + bar_height / 2 + FONT_SIZE * 0.36
        w = plot_w * abs(v) / span
        x0 = zero if v >= 0 else zero - w
        fill = colour if v >= 0 else negative_colour
        body.append(f'<text x="{label_w - 8:.1f}" y="{base:.1f}" text-anchor="end" fill="{INK}">'
                    f"{escape(_clip(label, label_w - 12))}</text>")
        body.append(f'<rect class="bar" x="{x0:.1f}" y="{yy + 4}" width="{max(w, 0.5):.1f}" '
                    f'height="{bar_height - 8}" fill="{fill}"><title>{escape(label)}: {escape(fmt(v))}</title></rect>')
        tx, anchor = ((x0 + w + 5), "start") if v >= 0 else ((x0 - 5), "end")
        body.append(f'<text x="{tx:.1f}" y="{base:.1f}" text-anchor="{anchor}" fill="{AXIS_TEXT}">'
                    f"{escape(fmt(v))}</text>")
    return figure(_svg(width, height, body, title), title, unit)


def range_chart(rows: list[dict], *, title: str, unit: str = "", currency: str = "", width: int = 720,
                bar_height: int = 28) -> str:
    """Budget vs forecast: per row a bar (forecast), a whisker (low–high) and a marker (budget).

    ``rows``: dicts with label, forecast, low, high, budget (budget may be None), actual (month to date).
    """
    label_w = min(max((_text_width(str(r["label"])) for r in rows), default=40) + 12, width * 0.3)
    right = max((_text_width(money(r.get("forecast"))) for r in rows), default=40) + 12
    plot_w = width - label_w - right
    legend, legend_h = _legend([("forecast", PALETTE[0]), ("forecast over budget", PALETTE[3]),
                                ("month to date", "#9ecae1"), ("▬ forecast range (low–high)", None),
                                ("◆ budget", None)], label_w, 0, plot_w + right)
    top = legend_h + 6
    height = top + bar_height * max(len(rows), 1) + 6
    hi = _nice_max(max([max(r.get(k) or 0 for k in ("forecast", "high", "budget", "actual")) for r in rows],
                       default=1.0))

    def x(v: float) -> float:
        return label_w + plot_w * max(v, 0.0) / hi

    body = list(legend)
    for i, r in enumerate(rows):
        yy = top + i * bar_height
        mid = yy + bar_height / 2
        over = r.get("budget") is not None and (r.get("forecast") or 0) > r["budget"]
        body.append(f'<text x="{label_w - 8:.1f}" y="{mid + 4.5:.1f}" text-anchor="end" fill="{INK}">'
                    f'{escape(_clip(str(r["label"]), label_w - 12))}</text>')
        forecast_w = x(r.get("forecast") or 0) - label_w
        body.append(f'<rect class="bar" x="{label_w:.1f}" y="{yy + 4}" width="{forecast_w:.1f}" '
                    f'height="{bar_height - 8}" fill="{PALETTE[3] if over else PALETTE[0]}" fill-opacity="0.85">'
                    f'<title>{escape(str(r["label"]))} forecast {escape(money(r.get("forecast"), currency))}'
                    f'</title></rect>')
        if r.get("actual") is not None:
            body.append(f'<rect x="{label_w:.1f}" y="{yy + 9}" width="{x(r["actual"]) - label_w:.1f}" '
                        f'height="{bar_height - 18}" fill="#9ecae1"/>')
        if r.get("low") is not None and r.get("high") is not None:
            body.append(f'<line x1="{x(r["low"]):.1f}" x2="{x(r["high"]):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" '
                        f'stroke="{INK}" stroke-width="2"/>')
        if r.get("budget") is not None:
            bx = x(r["budget"])
            body.append(f'<path d="M{bx:.1f},{mid - 7:.1f} L{bx + 6:.1f},{mid:.1f} L{bx:.1f},{mid + 7:.1f} '
                        f'L{bx - 6:.1f},{mid:.1f} Z" fill="{INK}" stroke="#fff"><title>budget '
                        f'{escape(money(r["budget"], currency))}</title></path>')
        body.append(f'<text x="{width - right + 6:.1f}" y="{mid + 4.5:.1f}" fill="{AXIS_TEXT}">'
                    f'{escape(money(r.get("forecast"), ""))}</text>')
    return figure(_svg(width, height, body, title), title, unit)


def meter(value: float | None, target: float | None = None, *, title: str, width: int = 170,
          height: int = 26, colour: str = PALETTE[0]) -> str:
    """A 0–100 % bar with an optional target tick (coverage, utilization)."""
    v = 0.0 if value is None else max(0.0, min(100.0, value))
    bar_w = width - 60  # the rest holds "100.0%"
    body = [f'<rect x="0" y="7" width="{bar_w}" height="12" fill="{GRID}" rx="2"/>',
            f'<rect class="bar" x="0" y="7" width="{bar_w * v / 100:.1f}" height="12" fill="{colour}" rx="2">'
            f"<title>{escape(title)}: {v:.1f}%</title></rect>",
            f'<text x="{bar_w + 6}" y="18" fill="{INK}">{"–" if value is None else f"{value:.1f}%"}</text>']
    if target is not None:
        tx = bar_w * max(0.0, min(100.0, target)) / 100
        body.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="2" y2="24" stroke="{INK}" stroke-width="2">'
                    f"<title>target {target:.0f}%</title></line>")
    return _svg(width, height, body, title, "chart meter")  # never shrunk: it sits in a table that scrolls
