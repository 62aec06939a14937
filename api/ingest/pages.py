"""The source pages: the archived texts in `seeds/pages/`, and places in them.

A `source` record names its page file and the file's SHA-256 (`page: {file, sha256, lines}`);
`lines` says which lines of the file are the article, when a page holds several. Offsets are
code points of the file read as UTF-8 (a Python `str` index), counted from the file's start,
so that anyone holding the file can check a span: `text[start:end]`.

Quotes are matched as the evidence check always has: every run of white space counts as
one space. `Text.folded` is the article's text folded that way, and `Text.offsets` maps each
of its characters back to the page, so a match in the folded text is a span in the page.
"""

import hashlib
import pathlib
import re
from dataclasses import dataclass
from functools import cached_property

from api import config
from api.ingest.seedfile import NotReadable, read_bytes

PAGES = "pages"  # the folder of page files, inside the seeds folder
PAGE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.txt$")
# The most characters of a quote's sentence that a citation carries on either side of the
# quote. The page is kept for checking, not served whole (seeds/README.md): the quotes already
# hold most of it, and whole sentences around them would give back almost all the rest, so a
# quote is served in the words around it, not its whole sentence.
CONTEXT_MARGIN = 40
ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")
# A sentence ends at a line break, or after . ? ! (and any closing quotation marks) that
# white space follows: '101.3' and 'kwangju.co.kr' do not end one.
_SENTENCE_END = re.compile(r"\n|[.?!][”’\"')\]]*(?=\s|$)")


def squash(text):
    return _SPACE.sub(" ", text).strip()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def pages_dir(seeds_dir):
    return pathlib.Path(seeds_dir) / PAGES


class PageError(ValueError):
    """A page file that cannot be used, with what is wrong in words."""


@dataclass(frozen=True)
class Page:
    file: str
    sha256: str
    text: str  # the whole file, decoded
    line_starts: tuple  # the offset of each line's first character; line n is line_starts[n - 1]

    @classmethod
    def read(cls, directory, file):
        if not PAGE_FILE.match(file):
            raise PageError(f"{file!r} is not a page file name: a plain name ending in .txt, in {PAGES}/")
        path = pathlib.Path(directory) / file
        if not path.is_file():  # a folder, a FIFO or a link to a device is no page either
            raise PageError(f"the page file {PAGES}/{file} is missing (looked for {path})")
        try:
            data = read_bytes(path, config.from_environment()["SEED_MAX_BYTES"])
        except NotReadable as exc:
            raise PageError(f"the page file {PAGES}/{file} is not read: it {exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PageError(f"the page file {PAGES}/{file} is not UTF-8 text: byte {exc.start} cannot be decoded") from exc
        starts = [0] + [m.end() for m in re.finditer("\n", text)]
        return cls(file, sha256(data), text, tuple(starts))

    @property
    def line_count(self):
        return len(self.line_starts) - (1 if self.text.endswith("\n") else 0)

    def lines(self, first, last):
        """The offsets [start, end) of lines first..last (1-based, inclusive)."""
        start = self.line_starts[first - 1]
        end = self.line_starts[last] if last < len(self.line_starts) else len(self.text)
        return start, end

    def where(self, offset):
        """'line L, column C' of an offset (both 1-based)."""
        line = _bisect(self.line_starts, offset)
        return f"line {line}, column {offset - self.line_starts[line - 1] + 1}"

    def line_of(self, offset):
        return _bisect(self.line_starts, offset)


def _bisect(starts, offset):
    low, high = 0, len(starts)
    while low < high:
        middle = (low + high) // 2
        if starts[middle] <= offset:
            low = middle + 1
        else:
            high = middle
    return low


@dataclass(frozen=True)
class Text:
    """The part of a page that one source is: its lines, or the whole file."""

    page: Page
    start: int
    end: int

    @cached_property
    def _folding(self):
        folded, offsets = [], []
        for match in re.finditer(r"\s+|\S+", self.page.text[self.start : self.end]):
            at = self.start + match.start()
            if match.group().isspace():
                if folded:  # none at the start; one at the end is dropped below
                    folded.append(" ")
                    offsets.append(at)
            else:
                folded.append(match.group())
                offsets.extend(range(at, at + len(match.group())))
        text = "".join(folded)
        if text.endswith(" "):
            text, offsets = text[:-1], offsets[:-1]
        return text, offsets

    @property
    def folded(self):
        return self._folding[0]

    @property
    def offsets(self):
        return self._folding[1]

    def find(self, quote):
        """Every span [start, end) in the page where `quote` stands, white space folded."""
        needle = squash(quote)
        if not needle:
            return []
        spans, at = [], self.folded.find(needle)
        while at >= 0:
            spans.append((self.offsets[at], self.offsets[at + len(needle) - 1] + 1))
            at = self.folded.find(needle, at + 1)
        return spans

    @cached_property
    def sentences(self):
        """The spans of this text's sentences, in order."""
        out, begin = [], self.start
        for match in _SENTENCE_END.finditer(self.page.text, self.start, self.end):
            out.append((begin, match.end()))
            begin = match.end()
        out.append((begin, self.end))
        return [(a, b) for a, b in (_trim(self.page.text, a, b) for a, b in out) if a < b]

    def context(self, start, end, limit=None):
        """The sentence(s) the span [start, end) stands in, at most `limit` characters (by
        default the span and CONTEXT_MARGIN on either side): {"text", "start", "end"}, `start`
        and `end` being the quote's place in `text`. A sentence too long is cut around the
        quote at spaces, and the cut marked with '…'."""
        if limit is None:
            limit = end - start + 2 * CONTEXT_MARGIN
        inside = [(a, b) for a, b in self.sentences if a < end and start < b]
        if not inside:
            return {"text": self.page.text[start:end], "start": 0, "end": end - start}
        left, right = min(start, inside[0][0]), max(end, inside[-1][1])
        text = self.page.text
        if right - left > limit:
            spare = max(limit - (end - start), 0)
            # half the room on each side, and what one side cannot use to the other
            before = min(start - left, max(spare // 2, spare - (right - end)))
            after = min(right - end, spare - before)
            left = _cut_at_space(text, start - before, left, start, forward=True)
            right = _cut_at_space(text, end + after, end, right, forward=False)
        before = ELLIPSIS if left > inside[0][0] else ""
        after = ELLIPSIS if right < inside[-1][1] else ""
        body = before + text[left:right] + after
        return {"text": body, "start": len(before) + start - left, "end": len(before) + end - left}


def _trim(text, start, end):
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cut_at_space(text, at, low, high, forward):
    """A place near `at` (kept within [low, high]) just after (or before) a space, so that a
    cut sentence does not start or end in the middle of a word."""
    at = min(max(at, low), high)
    if forward:
        while at < high and not (at == low or text[at - 1].isspace()):
            at += 1
        return at
    while at > low and not (at == high or text[at].isspace()):
        at -= 1
    return at


def text_of(page, lines):
    """The `Text` of a source: `lines` ({first, last}, 1-based) of the page, or all of it."""
    if lines is None:
        return Text(page, 0, len(page.text))
    if lines["last"] > page.line_count:
        raise PageError(f"lines {lines['first']}-{lines['last']}: the page file {PAGES}/{page.file} has {page.line_count} lines")
    start, end = page.lines(lines["first"], lines["last"])
    return Text(page, start, end)
