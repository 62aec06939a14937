"""The arithmetic a figure must pass: its text, its parts, its growth rate.

Each check returns a `CheckResult`; the loader turns a failure into a problem unless the
figure declares the mismatch as the source's own (`discrepancy`), in which case the
failed check is kept and served with the figure, never hidden or "fixed".
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from api.ingest.numbers import NumberFormatError, parse


@dataclass(frozen=True)
class CheckResult:
    kind: str  # value_text, parts_sum, growth_rate
    holds: bool
    detail: str


def plain(value):
    """A Decimal as people write it: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text


# Words that say "first" without a digit: a rank printed in words reads as 1.
RANK_WORDS = ("가장 많", "가장 높", "가장 크", "최다", "최고", "최대")


def check_value_text(figure):
    """`value` and `qualifier` must say what `value_text` says."""
    if figure.get("value_in_words"):
        return check_rank_in_words(figure)
    try:
        parsed = parse(figure["value_text"])
    except NumberFormatError as exc:
        return CheckResult("value_text", False, f"value_text {figure['value_text']!r}: {exc}")
    value = figure.get("value")
    if value is None:
        return CheckResult("value_text", False, f"value is null but value_text {figure['value_text']!r} reads {plain(parsed.value)}")
    if Decimal(value) != parsed.value:
        return CheckResult(
            "value_text",
            False,
            f"value {plain(Decimal(value))} disagrees with value_text {figure['value_text']!r}, which reads {plain(parsed.value)}",
        )
    if parsed.qualifier != figure["qualifier"]:
        return CheckResult(
            "value_text",
            False,
            f"qualifier {figure['qualifier']!r} disagrees with value_text {figure['value_text']!r}, which reads as {parsed.qualifier!r}",
        )
    return CheckResult("value_text", True, f"{figure['value_text']!r} reads {plain(parsed.value)}")


def check_rank_in_words(figure):
    """A value the page states in words: only 'the most/highest among ...', a rank of 1."""
    text = figure["value_text"]
    said = next((word for word in RANK_WORDS if word in text), None)
    if said is None or any(c.isdigit() for c in text):
        return CheckResult("value_text", False, f"value_in_words: {text!r} does not say 'first' in words ({', '.join(RANK_WORDS)})")
    if figure.get("unit") != "rank" or figure.get("value") is None or Decimal(figure["value"]) != 1 or figure["qualifier"] != "exact":
        return CheckResult("value_text", False, f"{text!r} ({said!r}) reads as rank 1, exact: unit rank, value 1, qualifier exact")
    return CheckResult("value_text", True, f"{text!r} ({said!r}) reads as rank 1")


def check_parts(whole, parts):
    """The parts of a breakdown add up to the whole, in the whole's unit."""
    units = {part.get("unit") for part in parts}
    if units != {whole.get("unit")}:
        return CheckResult("parts_sum", False, f"parts are in {sorted(map(str, units))}, the whole in {whole.get('unit')}")
    if whole.get("value") is None or any(part.get("value") is None for part in parts):
        return CheckResult("parts_sum", False, "a part or the whole has no value to add up")
    total = sum((Decimal(part["value"]) for part in parts), Decimal(0))
    terms = " + ".join(plain(Decimal(part["value"])) for part in parts)
    holds = total == Decimal(whole["value"])
    relation = "=" if holds else "≠"
    return CheckResult("parts_sum", holds, f"{terms} = {plain(total)} {relation} {plain(Decimal(whole['value']))}")


def printed_places(value_text):
    """How many decimal places the number in `value_text` was printed with."""
    number = parse(value_text).number_text
    return len(number.split(".", 1)[1]) if "." in number else 0


def check_growth_rate(rate, base, current):
    """A printed growth rate equals (current - base) / base, rounded as printed."""
    if any(f.get("value") is None for f in (rate, base, current)):
        return CheckResult("growth_rate", False, "the rate or one of its bases has no value")
    if base.get("unit") != current.get("unit"):
        return CheckResult("growth_rate", False, f"base is in {base.get('unit')}, current in {current.get('unit')}")
    before, after = Decimal(base["value"]), Decimal(current["value"])
    if before == 0:
        return CheckResult("growth_rate", False, "the base is zero, so no rate can be stated")
    exact = (after - before) / before * 100
    places = printed_places(rate["value_text"])
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    stated = Decimal(rate["value"])
    holds = rounded == stated
    relation = "=" if holds else "≠"
    return CheckResult(
        "growth_rate",
        holds,
        f"({plain(after)} - {plain(before)}) / {plain(before)} = {exact:.4f}%, "
        f"to {places} decimal place(s) {plain(rounded)}% {relation} {plain(stated)}% as printed",
    )
