"""Charts drawn on the server as inline SVG: no script, no external asset, and readable as
text. Each chart is an `<svg role="img">` labelled (aria-labelledby) by its `<title>` and
`<desc>`, which say in Korean and English what the bars show; labels carry `lang` so a
screen reader reads each language as itself; and each chart comes with its numbers as
rows for a table beside it, for anyone who would rather read than look.

- `parts_chart`: a breakdown against its total: the total, the parts stacked (so a
  reader sees whether they add up) and each part on its own bar.
- `comparison_chart`: the two values a growth rate is stated between.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from markupsafe import Markup

WIDTH = 720
BAR_WIDTH = 500  # the longest bar; the value is written after it
BAR_HEIGHT = 18
ROW = 48
PAD = 12
# Colours with at least 3:1 contrast against white, as WCAG asks of graphics.
TOTAL, BASE, CURRENT = "#1f4e79", "#5f6368", "#b03a2e"
STACK = ("#2e6da4", "#3b7d23", "#8a5a00", "#6b4c9a", "#0f6e6e", "#b03a2e")


@dataclass
class Bar:
    ko: str
    en: str
    text: str  # the value as printed
    segments: list  # [(value, colour)]: one, or several for a stacked bar


@dataclass
class Chart:
    """An SVG and what it shows, as rows (ko, en, as printed, value) for its table."""

    id: str
    kind: str  # parts or comparison
    caption_ko: str
    caption_en: str
    svg: Markup
    rows: list = field(default_factory=list)


# Units whose numbers name a year or a place in a series rather than count an amount: read as
# written ("2014 년", not "2,014 년"). tests/test_charts.py holds every unit of the vocabulary
# to one side or the other, so a new unit is a decision, not a default.
UNGROUPED_UNITS = frozenset({"year", "rank", "edition", "anniversary"})


def number_text(value, unit=None):
    """1470000000 -> '1,470,000,000'; 33.60 -> '33.6'; 2014 as a year -> '2014'."""
    if value is None:
        return ""
    return f"{Decimal(str(value)).normalize():{'' if unit in UNGROUPED_UNITS else ','}f}"


def value_of(figure):
    return Decimal(str(figure["value"])) if figure.get("value") is not None else None


def _label(bar, y):
    return Markup(
        '<text x="{x}" y="{y}" font-size="14" fill="#222">'
        '<tspan lang="ko">{ko}</tspan> / <tspan lang="en">{en}</tspan>'
        ' <tspan font-weight="bold">{text}</tspan></text>'
    ).format(x=PAD, y=y, ko=bar.ko, en=bar.en, text=bar.text)


def _bar(bar, y, scale):
    out, x = [], Decimal(PAD)
    for value, colour in bar.segments:
        width = max(Decimal(0), value) * scale
        out.append(
            Markup('<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h}" fill="{c}" stroke="#fff"/>').format(
                x=x, y=y, w=width, h=BAR_HEIGHT, c=colour
            )
        )
        x += width
    total = sum((value for value, _ in bar.segments), Decimal(0))
    out.append(Markup('<text x="{x:.1f}" y="{y}" font-size="13" fill="#222">{n}</text>').format(x=x + 6, y=y + 14, n=number_text(total)))
    return Markup("").join(out)


def draw(chart_id, title, description, bars):
    """An SVG of horizontal bars, one row per `Bar`, all on one scale."""
    largest = max((sum((v for v, _ in b.segments), Decimal(0)) for b in bars), default=Decimal(0))
    scale = Decimal(BAR_WIDTH) / largest if largest > 0 else Decimal(0)
    height = PAD * 2 + ROW * len(bars)
    rows = Markup("").join(_label(bar, PAD + ROW * i + 14) + _bar(bar, PAD + ROW * i + 20, scale) for i, bar in enumerate(bars))
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {w} {h}" '
        'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="{id}-title {id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{rows}</svg>'
    ).format(w=WIDTH, h=height, id=chart_id, title=title, desc=description, rows=rows)


def _listing(figures, lang):
    return ", ".join(f"{f['name'][lang]} {f['value_text']}" for f in figures)


def parts_chart(whole, parts):
    """The parts of a breakdown against its total, or None when there is nothing to draw."""
    parts = [p for p in parts if value_of(p) is not None]
    if not parts or value_of(whole) is None:
        return None
    summed = sum((value_of(p) for p in parts), Decimal(0))
    same = summed == value_of(whole)
    bars = [
        Bar("합계", "Total", whole["value_text"], [(value_of(whole), TOTAL)]),
        Bar("부분의 합", "Sum of the parts", number_text(summed), [(value_of(p), STACK[i % len(STACK)]) for i, p in enumerate(parts)]),
        # Each part in the colour of its segment above, so the eye can match them.
        *(Bar(p["name"]["ko"], p["name"]["en"], p["value_text"], [(value_of(p), STACK[i % len(STACK)])]) for i, p in enumerate(parts)),
    ]
    title = f"부분과 합계 / Parts and total: {whole['name']['ko']} / {whole['name']['en']}"
    description = (
        f"합계 {whole['value_text']}; 부분 {len(parts)}개: {_listing(parts, 'ko')}; "
        f"부분의 합 {number_text(summed)}, 합계와 {'같음' if same else '다름'}. "
        f"Total {whole['value_text']}; {len(parts)} parts: {_listing(parts, 'en')}; "
        f"the parts add up to {number_text(summed)}, {'equal to' if same else 'not equal to'} the total."
    )
    chart_id = f"chart-parts-{whole['id']}"
    rows = [
        ("합계", "Total", whole["value_text"], value_of(whole)),
        *((p["name"]["ko"], p["name"]["en"], p["value_text"], value_of(p)) for p in parts),
        ("부분의 합", "Sum of the parts", "", summed),
    ]
    return Chart(chart_id, "parts", "부분과 합계", "Parts and total", draw(chart_id, title, description, bars), rows)


def comparison_chart(rate, base, current):
    """The base and the current value a rate compares, or None when either has no value."""
    if value_of(base) is None or value_of(current) is None:
        return None
    bars = [
        Bar(f"기준: {base['name']['ko']}", f"Base: {base['name']['en']}", base["value_text"], [(value_of(base), BASE)]),
        Bar(f"현재: {current['name']['ko']}", f"Current: {current['name']['en']}", current["value_text"], [(value_of(current), CURRENT)]),
    ]
    title = f"비교 / Comparison: {rate['name']['ko']} / {rate['name']['en']} {rate['value_text']}"
    description = (
        f"기준 {base['name']['ko']} {base['value_text']}, 현재 {current['name']['ko']} {current['value_text']}: "
        f"{rate['name']['ko']} {rate['value_text']}. "
        f"Base {base['name']['en']} {base['value_text']}, current {current['name']['en']} {current['value_text']}: "
        f"{rate['name']['en']} {rate['value_text']}."
    )
    chart_id = f"chart-comparison-{rate['id']}-{base['id']}"
    rows = [
        (f"기준: {base['name']['ko']}", f"Base: {base['name']['en']}", base["value_text"], value_of(base)),
        (f"현재: {current['name']['ko']}", f"Current: {current['name']['en']}", current["value_text"], value_of(current)),
        (rate["name"]["ko"], rate["name"]["en"], rate["value_text"], value_of(rate)),
    ]
    return Chart(chart_id, "comparison", "비교", "Comparison", draw(chart_id, title, description, bars), rows)
