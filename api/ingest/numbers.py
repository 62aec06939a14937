"""Read Korean number expressions as newspapers print them, and write numbers back that way.

`parse('1만2000여명')` reads one expression: value 12000, qualifier 'at_least', suffix '명'.
`to_korean(1470000000)` writes '14억7000만', which `parse` reads back.

Decisions a reader of the seed data needs to know:

- Text is NFKC-normalised first (full-width `１，５２３` reads as `1,523`); error positions,
  `number_text`, `prefix` and `suffix` all refer to the normalised text.
- A bare unit with no digits (`만명`) is an error, not 10000: papers write `1만`, and
  accepting bare units would read words such as `만족` or `조회` as numbers.
- Spaces may follow a group ending in 만/억/조 (`14억 7000만`); nowhere else inside a number,
  so `3 천` is the number 3 followed by the word `천`.
- A group after a larger one must be below 10000 (`14억 17000만` is an error); the leading
  group may be any size (`12,000만`, `10000조`). Only the last part of a number may have a
  decimal point (`2.5억`, `1만2345.67`; not `2.5억 3000만`).
- After the ordinal prefix `제` units are not read: `제5조` is article 5, not 5 trillion.
- Qualifiers: `이상`/`초과` -> at_least and `이하`/`미만` -> at_most (there are no strict
  bounds, so 초과 and 미만 lose their strictness); `여` right after the number -> at_least;
  prefix `약`/`대략` or suffix `가량`/`정도`/`쯤` -> approximate. A bound word wins over `여`,
  which wins over an approximation.
- The suffix is everything after the number (and its `여`), stripped. It may hold no second
  number: a digit in it is an error unless glued to a Latin letter (`m2`, `CO2`), so
  `218t(14억 7000만원` is rejected rather than silently read as 218.
- Negative numbers (`-5`) are rejected rather than read without their sign.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, localcontext

__all__ = ["UNIT_WORDS", "NumberFormatError", "ParsedNumber", "parse", "to_korean", "unit_for_suffix"]

SMALL_UNITS = {"십": 10, "백": 100, "천": 1000}
BIG_UNITS = {"만": 10**4, "억": 10**8, "조": 10**12}

# Suffix as printed -> unit code in seeds/vocabulary.yaml.
UNIT_WORDS = {
    "원": "KRW",
    "t": "t",
    "톤": "t",
    "kg": "kg",
    "명": "person",
    "개사": "company",
    "개 제품": "product",
    "개 기관·단체": "organisation",
    "개 지방자치단체": "local_government",
    "개 지표": "indicator",
    "개 분야": "field",
    "%": "percent",
    "위": "rank",
    "년": "year",
    "회": "edition",
    "주년": "anniversary",
    "중": "layer",
}

_QUALIFIER_WORDS = {
    "이상": "at_least",
    "초과": "at_least",
    "이하": "at_most",
    "미만": "at_most",
    "가량": "approximate",
    "정도": "approximate",
    "쯤": "approximate",
}
_APPROXIMATE_PREFIXES = {"약", "대략"}
_ORDINAL_PREFIX = "제"
# Particles that may follow a unit word in running text (`5위에`, `9676만원으로`).
_PARTICLES = {
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "의",
    "에",
    "에서",
    "으로",
    "로",
    "도",
    "나",
    "와",
    "과",
    "보다",
    "보다도",
    "까지",
    "부터",
    "씩",
    "만큼",
}

_TERM = re.compile(r"([0-9]+(?:,[0-9]+)*(?:\.[0-9]+)?)([십백천]?)([만억조]?)")
_WELL_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_STRAY_SEPARATOR = re.compile(r"[.,][0-9]")
_DIGIT = re.compile(r"[0-9]")
_UNGLUED_DIGIT = re.compile(r"(?<![A-Za-z])[0-9]")
_QUALIFIER = re.compile("|".join(_QUALIFIER_WORDS))
_BARE_UNIT = re.compile("[십백천만억조](?=$|\\s|여|" + "|".join(map(re.escape, UNIT_WORDS)) + ")")


class NumberFormatError(ValueError):
    """Text that does not read as one Korean number expression.

    `text` is the normalised input and `position` the index in it where reading failed.
    """

    def __init__(self, problem: str, text: str | None = None, position: int | None = None):
        self.problem, self.text, self.position = problem, text, position
        where = "" if text is None else f" (at position {position} in {text!r})"
        super().__init__(problem + where)


@dataclass(frozen=True)
class ParsedNumber:
    value: Decimal
    qualifier: str  # 'exact' | 'approximate' | 'at_least' | 'at_most'
    number_text: str
    prefix: str
    suffix: str


@dataclass(frozen=True)
class _Term:
    """One piece of a number such as '14억', '3천', '5백만' or '2000'."""

    literal: str
    small: str
    big: str
    start: int
    end: int


def parse(text: str) -> ParsedNumber:
    """Read one number expression, e.g. '약 14억 7000만원', '1만2000여명' or '제5회'."""
    text = unicodedata.normalize("NFKC", text)
    if not text.strip():
        raise NumberFormatError("empty text: expected a number such as '1만2000명'", text, 0)
    first_digit = _DIGIT.search(text)
    if first_digit is None:
        bare = _BARE_UNIT.search(text)
        if bare:
            unit = bare.group()
            raise NumberFormatError(f"no digits: the unit {unit!r} has no number before it (write '1{unit}', not '{unit}')", text, bare.start())
        raise NumberFormatError("no digits: expected a number such as '1,523' or '14억'", text, 0)
    start = first_digit.start()
    if text[:start].endswith((".", ",")):
        raise NumberFormatError("a number may not start with '.' or ','", text, start - 1)
    if text[:start].rstrip().endswith(("-", "\u2212")):
        raise NumberFormatError("negative numbers are not supported", text, start)
    prefix = text[:start].strip()
    prefix_words = prefix.split()
    ordinal = bool(prefix_words) and prefix_words[-1] == _ORDINAL_PREFIX

    terms = _read_terms(text, start, ordinal)
    end = terms[-1].end
    with localcontext() as context:
        context.prec = len(text) + 40  # enough digits that no sum or product here rounds
        value = _evaluate(terms, text)
        value = Decimal(int(value)) if value == value.to_integral_value() else value.normalize()

    has_yeo = text.startswith("여", end)
    rest_start = end + 1 if has_yeo else end
    second = _UNGLUED_DIGIT.search(text, rest_start)
    if second:
        raise NumberFormatError(f"a second number follows {text[start:end]!r}: parse one number at a time", text, second.start())
    suffix = text[rest_start:].strip()
    return ParsedNumber(value, _qualifier(prefix_words, has_yeo, suffix), text[start:end], prefix, suffix)


def _read_terms(text: str, pos: int, ordinal: bool) -> list[_Term]:
    terms = []
    while True:
        literal, small, big = _TERM.match(text, pos).groups()
        if ordinal:
            small = big = ""
        end = pos + len(literal) + len(small) + len(big)
        if "," in literal and not _WELL_GROUPED.fullmatch(literal):
            raise NumberFormatError(f"malformed thousands separators in {literal!r}: use groups of three, as in '1,523'", text, pos)
        after_literal = pos + len(literal)
        if _STRAY_SEPARATOR.match(text, after_literal):
            raise NumberFormatError(f"malformed number {text[pos : after_literal + 2]!r}: a stray separator", text, after_literal)
        terms.append(_Term(literal, small, big, pos, end))
        # A unit glues the next digits on; only 만/억/조 may be followed by a space first.
        next_pos = end
        if big:
            while next_pos < len(text) and text[next_pos].isspace():
                next_pos += 1
        if not ((small or big) and _DIGIT.match(text, next_pos)):
            return terms
        pos = next_pos


def _evaluate(terms: list[_Term], text: str) -> Decimal:
    total = group = Decimal(0)
    group_start = terms[0].start
    previous_small = previous_big = None
    for index, term in enumerate(terms):
        is_last = index == len(terms) - 1
        piece = text[term.start : term.end]
        if "." in term.literal and not is_last:
            raise NumberFormatError(f"a decimal point may appear only in the last part of a number, not in {piece!r}", text, term.start)
        small = SMALL_UNITS.get(term.small, 1)
        term_value = Decimal(term.literal.replace(",", "")) * small
        if previous_small is not None and (small >= previous_small or term_value >= previous_small):
            raise NumberFormatError(
                f"{piece!r} cannot follow {text[group_start : term.start]!r}: write 천, 백, 십 "
                "in descending order, each part smaller than the one before",
                text,
                term.start,
            )
        group += term_value
        previous_small = small
        if not (term.big or is_last):
            continue
        big = BIG_UNITS.get(term.big, 1)
        if previous_big is not None:
            group_text = text[group_start : term.end]
            before = text[terms[0].start : group_start].rstrip()
            if big >= previous_big:
                raise NumberFormatError(
                    f"units out of order: {group_text!r} cannot follow {before!r} (write 조, then 억, then 만, then the rest)", text, group_start
                )
            if group >= 10000:
                raise NumberFormatError(
                    f"{group_text!r} is too large to follow {before!r}: a group after a larger unit must be below 10000", text, group_start
                )
        total += group * big
        group, previous_small, previous_big = Decimal(0), None, big
        if not is_last:
            group_start = terms[index + 1].start
    return total


def _qualifier(prefix_words: list[str], has_yeo: bool, suffix: str) -> str:
    # Only the first two words can qualify the number ('명 이상'); later text is prose.
    marker = _QUALIFIER.search(" ".join(suffix.split()[:2]))
    said = _QUALIFIER_WORDS[marker.group()] if marker else None
    if said in ("at_least", "at_most"):
        return said
    if has_yeo:
        return "at_least"
    if said == "approximate" or (prefix_words and prefix_words[-1] in _APPROXIMATE_PREFIXES):
        return "approximate"
    return "exact"


def unit_for_suffix(suffix: str) -> str | None:
    """The unit code for a suffix such as '명', '개사의', '개 제품' or '명 이상'; else None."""
    text = " ".join(suffix.split())
    without_marker = re.sub(f"\\s*(?:{_QUALIFIER.pattern})$", "", text)
    for candidate in (text, without_marker, text.split(" ", 1)[0]):
        for word in sorted(UNIT_WORDS, key=len, reverse=True):
            rest = candidate[len(word) :] if candidate.startswith(word) else None
            if rest == "" or rest in _PARTICLES:
                return UNIT_WORDS[word]
    return None


def to_korean(value: int | Decimal | float, *, spaced: bool = False, commas: bool = False) -> str:
    """Write a non-negative number the newspaper way: 1470000000 -> '14억7000만'.

    Whole numbers use 조/억/만 groups; other numbers are written as plain decimals ('101.3'),
    because a unit with a fractional tail ('1만0.5') reads badly. `commas` puts thousands
    separators inside each group ('1조 2,345억'); `spaced` puts a space between groups.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"to_korean needs an int, float or Decimal, not {type(value).__name__}")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or number < 0:
        raise ValueError(f"to_korean needs a finite non-negative number, not {value!r}")
    if number != number.to_integral_value():
        return format(number, ",f" if commas else "f").rstrip("0").rstrip(".")
    remaining, groups = int(number), []
    for unit, size in (("조", 10**12), ("억", 10**8), ("만", 10**4), ("", 1)):
        coefficient, remaining = divmod(remaining, size)
        if coefficient:
            groups.append((f"{coefficient:,}" if commas else str(coefficient)) + unit)
    return (" " if spaced else "").join(groups) or "0"
