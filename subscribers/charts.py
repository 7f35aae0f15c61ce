"""Small bar charts as inline SVG, drawn on the server: no chart script, nothing for the CSP to allow.

Colours come from classes in app.css. Each bar carries a <title> with its figure, and every chart is
shown beside (or above) a table of the same figures, which is what a screen reader reads.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 720
HEIGHT = 220
LEFT = 48
BOTTOM = 28
TOP = 10


def _nice_max(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return value


def _axis(top_value: int, plot_h: float) -> SafeString:
    ticks = [(top_value * n // 4) for n in range(5)]
    return format_html_join(
        "",
        '<line class="grid-line" x1="{}" x2="{}" y1="{}" y2="{}"></line><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (LEFT, WIDTH, y, y, LEFT - 6, y + 4, f"{tick:,}")
            for tick in ticks
            for y in [round(TOP + plot_h - plot_h * tick / top_value, 1)]
        ),
    )


def bars(items: list[tuple[str, int]], *, label: str) -> SafeString:
    """One series: a bar per (label, value), labels under every few bars."""
    if not items:
        return SafeString("")
    plot_h = HEIGHT - TOP - BOTTOM
    top_value = _nice_max(max(value for _, value in items))
    slot = (WIDTH - LEFT) / len(items)
    every = max(1, len(items) // 8)
    parts = []
    for i, (name, value) in enumerate(items):
        h = plot_h * value / top_value
        x = LEFT + i * slot + slot * 0.15
        parts.append(
            format_html(
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
                round(x, 1),
                round(TOP + plot_h - h, 1),
                round(slot * 0.7, 1),
                round(h, 1),
                name,
                f"{value:,}",
            )  # fmt: skip
        )
        if i % every == 0:
            parts.append(
                format_html(
                    '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    round(x + slot * 0.35, 1),
                    HEIGHT - 8,
                    name,
                )
            )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}</svg>',
        WIDTH, HEIGHT, label, _axis(top_value, plot_h), SafeString("".join(parts)),
    )  # fmt: skip


def opt_changes(days, *, label: str) -> SafeString:
    """Two series per day: opted in (above the line) and opted out (below it)."""
    if not days:
        return SafeString("")
    half = (HEIGHT - TOP - BOTTOM) / 2
    mid = TOP + half
    top_value = _nice_max(max(max(d.opted_in, d.opted_out) for d in days))
    slot = (WIDTH - LEFT) / len(days)
    every = max(1, len(days) // 6)
    parts = [
        format_html('<line class="baseline" x1="{}" x2="{}" y1="{}" y2="{}"></line>', LEFT, WIDTH, mid, mid),
        format_html(
            '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>', LEFT - 6, TOP + 8, f"{top_value:,}"
        ),
        format_html('<text class="axis" x="{}" y="{}" text-anchor="end">0</text>', LEFT - 6, mid + 4),
        format_html(
            '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>', LEFT - 6, TOP + 2 * half, f"{top_value:,}"
        ),
    ]
    for i, day in enumerate(days):
        x = round(LEFT + i * slot + slot * 0.1, 1)
        w = round(max(slot * 0.8, 1), 1)
        name = day.day.strftime("%b %-d")
        up = half * day.opted_in / top_value
        down = half * day.opted_out / top_value
        parts.append(format_html('<rect class="bar bar-in" x="{}" y="{}" width="{}" height="{}"><title>{}: {} opted in</title></rect>',
                                 x, round(mid - up, 1), w, round(up, 1), name, f"{day.opted_in:,}"))  # fmt: skip
        parts.append(format_html('<rect class="bar bar-out" x="{}" y="{}" width="{}" height="{}"><title>{}: {} opted out</title></rect>',
                                 x, mid, w, round(down, 1), name, f"{day.opted_out:,}"))  # fmt: skip
        if i % every == 0:
            parts.append(
                format_html('<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>', x, HEIGHT - 8, name)
            )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        WIDTH,
        HEIGHT,
        label,
        SafeString("".join(parts)),
    )
