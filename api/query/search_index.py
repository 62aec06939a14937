"""The word index behind search, built at load time: the same tables on SQLite and PostgreSQL.

Search matches substrings (김장 finds 빛고을사랑나눔김장대전), which no B-tree answers and
which SQLite's FTS5 trigram tokenizer and PostgreSQL's pg_trgm cannot do for 2-character
queries, and many Korean words are 2 characters. But a query without a space is inside a
text exactly when it is inside one of the text's words (the texts are folded, so words are
split by single spaces). So the index keeps the vocabulary (`SearchToken`: every distinct
word, marked as a first word or a whole one-word text where it is one, for the prefix and
whole-text ranks) and, per word and field weight, the records that have it (`SearchPosting`). A query
scans the vocabulary, which is small next to the texts, then unions the postings of the
words that contain it: the exact answer, without reading a text. The vocabulary itself is
found through its 2-character pieces (`SearchTokenGram`), so even that is not scanned.

A record is numbered so that numeric order is the order hits are ranked in after their
score: (record type, record id). The type is in the top bits, so a type filter is a range.
"""

import collections
import functools
import re

import numpy

from api.store import models as m

ANY, FIRST, WHOLE = 0, 1, 2  # kinds of vocabulary entry: a word after the first, a text's first word, a one-word text
TYPE_BITS = 28  # record numbers below 2**28 per type
TYPE_RANK = {t: i for i, t in enumerate(sorted(m.RECORD_TYPES.values()))}
NUMBER = numpy.dtype("<u4")  # record numbers as stored: 4 bytes, little-endian on every machine
POSTING_BYTES = 1 << 20  # a posting list longer than this goes into several rows


def record_number(record_type, rank):
    """The number of the record at `rank` in the sorted ids of `record_type`."""
    return (TYPE_RANK[record_type] << TYPE_BITS) | rank


def numbering(ids_by_type):
    """{(record_type, record_id): record number} for {record_type: ids}."""
    return {(t, record_id): record_number(t, rank) for t, ids in ids_by_type.items() for rank, record_id in enumerate(sorted(ids))}


def vocabulary_of(folded):
    """The (kind, word) entries a folded text contributes: each word once, as what it is there."""
    words = folded.split(" ")
    if len(words) == 1:
        return {(WHOLE, folded)}
    return {(FIRST, words[0])} | {(ANY, w) for w in words[1:]}


def bonus(kind, word, folded):
    """What a match of `folded` in this vocabulary entry adds to the field weight, as
    api.query.search.score counts it (None: no match): 3 for the whole text, 2 for its start, 1 for
    the start of a word inside it, 0 anywhere else. A word follows a space, so its own start
    is a word start; inside it, a match starts a word where a non-word character precedes."""
    if kind == WHOLE and word == folded:
        return 3
    if kind != ANY and word.startswith(folded):
        return 2
    if folded not in word:
        return None
    return 1 if starts_a_word(folded)(word) else 0


@functools.lru_cache(maxsize=1024)
def starts_a_word(folded):
    """A compiled search for `folded` where a word starts (no word character before it): a
    page of hits asks it of some hundred texts, and compiling it once saves most of each ask."""
    return re.compile(r"(?<!\w)" + re.escape(folded)).search


def grams(text):
    """The distinct 2-character pieces of `text`."""
    return {text[i : i + 2] for i in range(len(text) - 1)}


def unpack(blob):
    return numpy.frombuffer(blob, dtype=NUMBER)


class IndexBuilder:
    """Collects the vocabulary and postings of records given one at a time; `flush` hands
    back the rows to insert so far (vocabulary ids stay stable across flushes)."""

    def __init__(self):
        self.tokens = {}  # (kind, word) -> id
        self.new_tokens = []
        self.new_grams = []
        self.postings = collections.defaultdict(set)  # (token id, weight) -> record numbers

    def add(self, record_no, texts):
        """texts: [(weight, folded text)] of one record."""
        for weight, folded in texts:
            for entry in vocabulary_of(folded):
                token = self.tokens.get(entry)
                if token is None:
                    token = self.tokens[entry] = len(self.tokens) + 1
                    self.new_tokens.append((token, *entry))
                    self.new_grams += [(gram, token) for gram in grams(entry[1])]
                self.postings[(token, weight)].add(record_no)

    def flush(self):
        """([(id, kind, token)], [(gram, token_id)], [(token_id, weight, records blob)]) collected since the last flush."""
        tokens, self.new_tokens = self.new_tokens, []
        token_grams, self.new_grams = self.new_grams, []
        rows = []
        per_row = POSTING_BYTES // 4
        for (token, weight), numbers in self.postings.items():
            ordered = sorted(numbers)
            for start in range(0, len(ordered), per_row):
                rows.append((token, weight, numpy.array(ordered[start : start + per_row], dtype=NUMBER).tobytes()))
        self.postings.clear()
        return tokens, token_grams, rows
