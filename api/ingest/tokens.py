"""Number-like tokens: every number a page prints, found by one pattern.

A token is digits (with thousands separators and a decimal part), the Korean units glued on
(`14억 7000만원`, `1만2000여명`), a list or range of them (`1·2차`, `10~20명`), an ordinal
(`제5회`), a dotted date (`2023.12.17.`), a percentage (`33.6%`), or a Korean numeral with
천/만/억/조 and no digit at all (`수억원`, `삼천만원`). A counter glued to the number
(`개사`, `일`, `년말`) is kept with it, so a token can be told apart as a date, a figure or a
name; what accounts for it is api/ingest/coverage.py.

The pattern never takes a digit that is part of a word, a code or an address (`3D`, `5G`,
`CO2`, `A4`, `lucky@kwangju.co.kr`), nor a unit word with no number (`만족도`, `한국`).
"""

import datetime
import re
from dataclasses import dataclass

from api.ingest.numbers import UNIT_WORDS, NumberFormatError, parse

_NUM = r"[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?"
_AMOUNT = rf"{_NUM}[십백천]?(?:[만억조](?:[ ]?{_NUM}[십백천]?[만억조]?)*)?"
# Counters that say what a number counts: the units the figures use, and those of dates,
# ordinals and denominators. Only for telling tokens apart; accounting does not depend on them.
COUNTERS = sorted(
    {
        *(word for word in UNIT_WORDS if " " not in word or word == "개 제품"),
        *("개소", "개", "년말", "월", "일", "명당", "인당", "차", "%p", "퍼센트", "포인트"),
    },
    key=len,
    reverse=True,
)
_HANGUL_DIGIT = "수몇일이삼사오육칠팔구"
NUMBER_TOKEN = re.compile(
    rf"""
    (?<![0-9A-Za-z.,@_/-])                      # not the tail of a word, code, address or number
    (?:
        [0-9]{{4}}\.[ ]?[0-9]{{1,2}}\.[ ]?[0-9]{{1,2}}\.?     # a dotted date: 2023.12.17.
      | (?:(?<![가-힣])제[ ]?)?                  # an ordinal's 제 (제5회), at the start of a word only
        {_AMOUNT}(?:[·~∼-]{_AMOUNT})*           # a list or range: 1·2(차), 10~20(명)
        여?                                     # 'more than': 50여, 1만2000여명
        (?:{"|".join(map(re.escape, COUNTERS))})?
      | (?<![가-힣])                             # a Korean numeral with no digit: 수억원, 삼천만원
        (?:[{_HANGUL_DIGIT}]?[십백천]|[{_HANGUL_DIGIT}십백천]+[만억조])(?:원|명|개|달러|톤)
    )
    (?![A-Za-z0-9])                             # not glued to Latin or more digits: m2, 3D, 5G
    """,
    re.X,
)
_DAY = re.compile(r"^([0-9]{1,2})일$")
_MONTH = re.compile(r"^([0-9]{1,2})월$")
_YEAR = re.compile(r"^([0-9]{4})년(말)?$")
_DOTTED = re.compile(r"^([0-9]{4})\.[ ]?([0-9]{1,2})\.[ ]?([0-9]{1,2})\.?$")


@dataclass(frozen=True)
class Token:
    start: int  # offsets in the page file
    end: int
    text: str

    def covered_by(self, start, end):
        return start <= self.start and self.end <= end

    @property
    def value(self):
        """The number the token reads as (numbers.parse), or None for a list, a range or words."""
        if any(mark in self.text for mark in "·~∼-") or not re.search("[0-9]", self.text):
            return None
        try:
            return parse(self.text)
        except NumberFormatError:
            return None

    def is_date_of(self, day):
        """Whether the token could be `day` (a datetime.date) as printed: 17일, 11월, 2021년말."""
        if (m := _DAY.match(self.text)) is not None:
            return day.day == int(m[1])
        if (m := _MONTH.match(self.text)) is not None:
            return day.month == int(m[1])
        if (m := _YEAR.match(self.text)) is not None:
            return day.year == int(m[1]) and (not m[2] or (day.month, day.day) == (12, 31))
        if (m := _DOTTED.match(self.text)) is not None:
            try:
                return day == datetime.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return False
        return False


def tokens(text):
    """The number-like tokens in a `pages.Text`, in page order."""
    found = NUMBER_TOKEN.finditer(text.page.text, text.start, text.end)
    return [Token(m.start(), m.end(), m.group()) for m in found]
