"""Inline SVG charts for the review pack: plain strings, no JavaScript, no fonts or files to fetch.

Each function returns one ``<svg>`` element (a ``str``) sized by ``viewBox`` so it scales
with the page and prints sharply. Text is escaped; colours come from ``PALETTE``.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
           "#9333ea", "#ea580c", "#0d9488", "#4b5563"]
GRID = "#e5e7eb"
AXIS_TEXT = "#4b5563"
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""


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
    """The next 'round' number at or above value (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10 ** exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
            f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="11">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def line_chart(labels: list[str], series: dict[str, list[float | None]], *, title: str, currency: str = "",
               width: int = 720, height: int = 260, value_format=None, max_x_labels: int = 12) -> str:
    """One line per series over shared x labels (periods or days); a legend under the plot."""
    fmt = value_format or (lambda v: money(v, ""))
    left, right, top = 56, 28, 12
    legend_rows = math.ceil(len(series) / 4)
    bottom = 28 + 18 * legend_rows
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    lo = min(0.0, min(values, default=0.0))
    hi = _nice_max(max(values, default=1.0))
    span = (hi - lo) or 1.0
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v - lo) / span

    body = []
    for k in range(5):
        v = lo + span * k / 4
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="{AXIS_TEXT}">'
                    f"{escape(fmt(v))}</text>")
    step = max(1, math.ceil(n / max_x_labels))
    for i, label in enumerate(labels):
        if i % step == 0 or (i == n - 1 and i % step >= step / 2):  # the last label, unless it would collide
            body.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="{AXIS_TEXT}">'
                        f"{escape(label)}</text>")
    for s, (name, vs) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        points = [(x(i), y(v)) for i, v in enumerate(vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            body.append(f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" points="{path}">'
                        f"<title>{escape(name)}</title></polyline>")
        if len(points) <= 12:
            for (px, py), v in zip(points, [v for v in vs if v is not None]):
                body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                            f"<title>{escape(name)}: {escape(fmt(v))}</title></circle>")
        lx = left + (s % 4) * (plot_w / 4)
        ly = top + plot_h + 30 + 18 * (s // 4)
        body.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{lx + 14:.1f}" y="{ly}" fill="#111827">{escape(name)}</text>')
    return _svg(width, height, body, title)


def hbar_chart(rows: list[tuple[str, float]], *, title: str, currency: str = "", width: int = 720,
               bar_height: int = 20, value_format=None, colour: str = PALETTE[0],
               negative_colour: str = PALETTE[2]) -> str:
    """Horizontal bars (one per row), diverging around zero when some values are negative."""
    fmt = value_format or (lambda v: money(v, currency))
    label_w, value_w, top = 190, 80, 6
    height = top * 2 + bar_height * max(len(rows), 1)
    plot_w = width - label_w - value_w
    lo = min(0.0, min((v for _, v in rows), default=0.0))
    hi = max(0.0, max((v for _, v in rows), default=0.0))
    span = (hi - lo) or 1.0
    zero = label_w + plot_w * (-lo) / span
    body = [f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height}" stroke="{GRID}"/>']
    for i, (label, v) in enumerate(rows):
        yy = top + i * bar_height
        w = plot_w * abs(v) / span
        x0 = zero if v >= 0 else zero - w
        fill = colour if v >= 0 else negative_colour
        short = label if len(label) <= 30 else label[:29] + "…"
        body.append(f'<text x="{label_w - 6}" y="{yy + bar_height * 0.68:.1f}" text-anchor="end" fill="#111827">'
                    f"{escape(short)}</text>")
        body.append(f'<rect class="bar" x="{x0:.1f}" y="{yy + 3}" width="{max(w, 0.5):.1f}" '
                    f'height="{bar_height - 6}" fill="{fill}"><title>{escape(label)}: {escape(fmt(v))}</title></rect>')
        tx = (x0 + w + 4) if v >= 0 else (x0 - 4)
        anchor = "start" if v >= 0 else "end"
        if v < 0 and tx < label_w + 40:
            tx, anchor = zero + 4, "start"
        body.append(f'<text x="{tx:.1f}" y="{yy + bar_height * 0.68:.1f}" text-anchor="{anchor}" '
                    f'fill="{AXIS_TEXT}">{escape(fmt(v))}</text>')
    return _svg(width, height, body, title)


def range_chart(rows: list[dict], *, title: str, currency: str = "", width: int = 720, bar_height: int = 24) -> str:
    """Budget vs forecast: per row a bar (forecast), a whisker (low–high) and a marker (budget).

    ``rows``: dicts with label, forecast, low, high, budget (budget may be None), actual (month to date).
    """
    label_w, right, top = 150, 70, 22
    height = top + bar_height * max(len(rows), 1) + 8
    plot_w = width - label_w - right
    hi = _nice_max(max([max(r.get(k) or 0 for k in ("forecast", "high", "budget", "actual")) for r in rows],
                       default=1.0))

    def x(v: float) -> float:
        return label_w + plot_w * max(v, 0.0) / hi

    body = [f'<text x="{label_w}" y="12" fill="{AXIS_TEXT}">'
            f'<tspan fill="{PALETTE[0]}">■</tspan> forecast  <tspan fill="#93c5fd">■</tspan> month to date  '
            f'<tspan fill="#111827">┃</tspan> forecast range  <tspan fill="{PALETTE[3]}">◆</tspan> budget</text>']
    for i, r in enumerate(rows):
        yy = top + i * bar_height
        mid = yy + bar_height / 2
        over = r.get("budget") is not None and (r.get("forecast") or 0) > r["budget"]
        body.append(f'<text x="{label_w - 6}" y="{mid + 4:.1f}" text-anchor="end" fill="#111827">'
                    f'{escape(str(r["label"]))}</text>')
        body.append(f'<rect class="bar" x="{label_w}" y="{yy + 4}" width="{x(r.get("forecast") or 0) - label_w:.1f}" '
                    f'height="{bar_height - 8}" fill="{PALETTE[3] if over else PALETTE[0]}" fill-opacity="0.85">'
                    f'<title>{escape(str(r["label"]))} forecast {escape(money(r.get("forecast"), currency))}</title></rect>')
        if r.get("actual") is not None:
            body.append(f'<rect x="{label_w}" y="{yy + 8}" width="{x(r["actual"]) - label_w:.1f}" '
                        f'height="{bar_height - 16}" fill="#93c5fd"/>')
        if r.get("low") is not None and r.get("high") is not None:
            body.append(f'<line x1="{x(r["low"]):.1f}" x2="{x(r["high"]):.1f}" y1="{mid:.1f}" y2="{mid:.1f}" '
                        f'stroke="#111827" stroke-width="1.5"/>')
        if r.get("budget") is not None:
            bx = x(r["budget"])
            body.append(f'<path d="M{bx:.1f},{mid - 6:.1f} L{bx + 5:.1f},{mid:.1f} L{bx:.1f},{mid + 6:.1f} '
                        f'L{bx - 5:.1f},{mid:.1f} Z" fill="{PALETTE[3]}"><title>budget '
                        f'{escape(money(r["budget"], currency))}</title></path>')
        body.append(f'<text x="{width - right + 6}" y="{mid + 4:.1f}" fill="{AXIS_TEXT}">'
                    f'{escape(money(r.get("forecast"), ""))}</text>')
    return _svg(width, height, body, title)


def meter(value: float | None, target: float | None = None, *, title: str, width: int = 220,
          height: int = 26, colour: str = PALETTE[0]) -> str:
    """A 0–100 % bar with an optional target tick (coverage, utilization)."""
    v = 0.0 if value is None else max(0.0, min(100.0, value))
    body = [f'<rect x="0" y="6" width="{width - 50}" height="12" fill="{GRID}" rx="2"/>',
            f'<rect class="bar" x="0" y="6" width="{(width - 50) * v / 100:.1f}" height="12" fill="{colour}" rx="2">'
            f"<title>{escape(title)}: {v:.1f}%</title></rect>",
            f'<text x="{width - 44}" y="17" fill="#111827">{"–" if value is None else f"{value:.1f}%"}</text>']
    if target is not None:
        tx = (width - 50) * max(0.0, min(100.0, target)) / 100
        body.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="2" y2="22" stroke="#111827" stroke-width="2">'
                    f"<title>target {target:.0f}%</title></line>")
    return _svg(width, height, body, title)
