"""Search across every record type: substring matching that works for 2-syllable Korean.

Search matches substrings of a folded copy of each searchable text (`SearchEntry.folded`),
found through the word index of api/search_index.py rather than by reading every text, on
SQLite and PostgreSQL alike; wildcards in the query are escaped by peewee's `contains`.
"""

import collections
import functools
import re
import unicodedata

import numpy
import orjson
from peewee import SQL, Value, fn

from api.query import search_index as index
from api.store import models as m
from api.store.db import is_postgres
from api.store.fastpath import among_condition, among_param, is_postgres_database, rows_among

# How much a match in each field counts: a hit in a name beats one in a quote.
FIELD_WEIGHTS = {
    "name.ko": 6,
    "name.en": 6,
    "other_names": 5,
    "value_text": 4,
    "subheadlines": 3,
    "note": 2,
    "sources.evidence": 2,
}


def fold(text):
    """What matching compares: NFKC (full-width to ASCII), lower case, one space."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


def among(column, numbers):
    """A condition: `column` holds one of `numbers` (a numpy array of record numbers), sent as
    one parameter however many there are: an array on PostgreSQL, a JSON list for SQLite's
    json_each (a parameter per number would pass SQLite's limit of 32766)."""
    if len(numbers) == 0:
        return SQL("1 = 0")
    postgres = is_postgres()
    value = among_param(numbers.tolist(), postgres)
    if postgres:
        return column == fn.ANY(Value(value, unpack=False))
    return column.in_(SQL("(SELECT value FROM json_each(?))", [value]))


Hit = collections.namedtuple("Hit", "record_type record_id field text score")
MAX_SCORE = max(FIELD_WEIGHTS.values()) * 10 + 3
MAX_CANDIDATES = 5000  # past this, checking candidate texts one by one costs more than a scan
# Posting entries /v1/search ranks in full at most: past it, a page is merged from the heads of
# the lists and the total is not counted. Ranking 73,000 entries (김장 at 10^6 figures) took
# longer than the rest of the request (bench/RESULTS.md).
RANK_BUDGET = 20_000
# A 2-character query whose words' postings hold more entries than this, or a longer word of the
# vocabulary whose own postings do, has its ranking kept at load (models.SearchGramRank), its
# first KEPT_HITS hits: 김장 is inside 329 words at 10^6 figures, and reading and merging their
# postings per request made it cost 1.8 times what it does at 10^3 (bench/closing_note.md);
# "tourism" holds some 40,000 entries there, past the budget, and had no total. Below it,
# ranking per request costs about as little.
KEEP_FROM = 2_000
KEPT_HITS = 1_000
KEPT_QUERY_LENGTH = m.SearchGramRank.gram.max_length  # characters a kept query may have: its column's


def score(weight, folded_text, folded_query):
    """The field's weight times 10, plus 3 for the whole text, 2 for its start, 1 for the start
    of a word inside it, 0 anywhere else: `MOU` finds the MOU before 'amount'. Korean compounds
    are written without spaces (김장 inside 빛고을사랑나눔김장대전), so they still match, lower."""
    if folded_text == folded_query:
        bonus = 3
    elif folded_text.startswith(folded_query):
        bonus = 2
    elif index.starts_a_word(folded_query)(folded_text):
        bonus = 1
    else:
        bonus = 0
    return weight * 10 + bonus


class Results:
    """Every record matching a query, best first: `total`, and `page(position, limit)` of Hits.

    Score: see `score`; one hit per record, its best (ties: the first field by name, then the
    entry's order); records of equal score in (type, id) order. A hit's place in that order is
    its (score, record number), which a cursor names: `after(score, number)` finds where the
    next page starts, whatever was loaded meanwhile.
    """

    def __init__(self, folded, ranked, scores):
        self.folded, self.ranked, self.scores = folded, ranked, scores  # parallel numpy arrays, best first
        self.total = len(ranked)

    def _keys(self):
        # Increasing along the ranking: a lower score sorts later, then a higher number.
        return ((MAX_SCORE - self.scores.astype(numpy.uint64)) << numpy.uint64(32)) | self.ranked.astype(numpy.uint64)

    def after(self, score, number):
        """The index of the first hit ranked after one of `score` and record `number`."""
        key = (numpy.uint64(MAX_SCORE - score) << numpy.uint64(32)) | numpy.uint64(number)
        return int(numpy.searchsorted(self._keys(), key, side="right"))

    def numbers(self):
        """The matching record numbers, in numeric order (for a list's `?q=`)."""
        return numpy.sort(self.ranked)

    def window(self, position, limit):
        """(record numbers, their scores, whether more follow) of the `limit` hits ranked first
        after `position` ((score, number) of a hit, or None for the first page)."""
        start = self.after(*position) if position else 0
        end = start + limit
        return self.ranked[start:end], self.scores[start:end], end < self.total

    def page(self, start, limit):
        return self.hits(self.ranked[start : start + limit])

    def hits(self, numbers):
        """The Hits of the records `numbers` (of this result), in that order: each its best field."""
        numbers = numbers.tolist()
        if not numbers:
            return []
        best = {}
        for record_no, record_type, record_id, field, text, folded, weight, entry_id in _entries_containing(numbers, self.folded):
            key = (-score(weight, folded, self.folded), field, entry_id)
            if record_no not in best or key < best[record_no][0]:
                best[record_no] = (key, Hit(record_type, record_id, field, text, -key[0]))
        return [best[n][1] for n in numbers if n in best]


ENTRY_COLUMNS = ("record_no", "record_type", "record_id", "field", "text", "folded", "weight", "id")


def _entries_containing(numbers, folded):
    """The searchable texts (ENTRY_COLUMNS, in entry order) of the records `numbers` that contain
    `folded`. The database keeps the others back: a page's records have some ten texts each, and
    reading them all to keep one or two was most of a page of hits on PostgreSQL."""
    database = m.SearchEntry._meta.database
    postgres = is_postgres_database(database)
    params = [among_param(numbers, postgres), folded]
    return database.execute_sql(_entries_sql(postgres, database.param), params).fetchall()


@functools.cache
def _entries_sql(postgres, param):
    selected = ", ".join(f'"{column}"' for column in ENTRY_COLUMNS)
    contains = f'strpos("folded", {param}) > 0' if postgres else f'instr("folded", {param}) > 0'
    among_records = among_condition("record_no", postgres, param)
    return f'SELECT {selected} FROM "{m.SearchEntry._meta.table_name}" WHERE {among_records} AND {contains} ORDER BY "id"'


class Head(Results):
    """The hits of a word too common to rank in full (its postings hold more than the budget's
    entries): each page is merged from the heads of its posting lists, so its cost does not grow
    with the table; the total is not counted (None)."""

    def __init__(self, folded, groups, types):
        self.folded, self.groups, self.total = folded, groups, None
        self.wanted = None if not types else numpy.array(sorted(index.TYPE_RANK[t] for t in types))

    def window(self, position, limit):
        numbers, scores = _head(self.groups, position, limit + 1, self.wanted)
        return numbers[:limit], scores[:limit], len(numbers) > limit


class Kept(Results):
    """The hits of a common query as the load ranked them (models.SearchGramRank): pages
    within its first KEPT_HITS hits are read from the kept ranking, one row, and its total is
    exact; a page past them, or a list's `numbers`, comes from `fallback()` (the Results, or
    Head, that the query would have without it)."""

    def __init__(self, folded, ranked, scores, totals, types, fallback):
        self.complete = len(ranked) == sum(totals.values())  # every hit kept, not only the first
        if types:
            ranked, scores = _of_types(ranked, scores, types)
        super().__init__(folded, ranked, scores)
        self.total = sum(count for record_type, count in totals.items() if not types or record_type in types)
        self.fallback = functools.cache(fallback)

    def window(self, position, limit):
        start = self.after(*position) if position else 0
        end = start + limit
        if end < len(self.ranked) or self.complete:
            return self.ranked[start:end], self.scores[start:end], end < len(self.ranked)
        return self.fallback().window(position, limit)

    def numbers(self):
        return numpy.sort(self.ranked) if self.complete else self.fallback().numbers()


def ranking_to_keep(gram):
    """(numbers, scores, {type: total}) of `gram`'s first KEPT_HITS hits, for the load to keep."""
    ranked, scores = _ranked(_postings(gram))
    by_type = numpy.bincount(ranked >> index.TYPE_BITS, minlength=len(index.TYPE_RANK))
    totals = {record_type: int(by_type[rank]) for record_type, rank in index.TYPE_RANK.items() if by_type[rank]}
    return ranked[:KEPT_HITS], scores[:KEPT_HITS], totals


def _kept(folded, types, fallback):
    """The Kept ranking of a query, or None if the load kept none for it."""
    database = m.SearchGramRank._meta.database
    row = database.execute_sql(_kept_sql(database.param), [folded]).fetchone()
    if row is None:
        return None
    records, scores, totals = row
    return Kept(folded, index.unpack(records), numpy.frombuffer(scores, dtype=numpy.uint8), orjson.loads(totals), types, fallback)


@functools.cache
def _kept_sql(param):
    return f'SELECT "records", "scores", "totals" FROM "{m.SearchGramRank._meta.table_name}" WHERE "gram" = {param}'


def _member(candidates, arrays):
    """Which of `candidates` are in any of `arrays` (each sorted): a binary search in each."""
    found = numpy.zeros(len(candidates), dtype=bool)
    for array in arrays:
        at = numpy.searchsorted(array, candidates)
        inside = at < len(array)
        found[inside] |= array[at[inside]] == candidates[inside]
    return found


def _head(groups, position, limit, wanted):
    """(numbers, scores) of the `limit` hits ranked first after `position` ((score, number) or
    None), as _ranked would rank them, from {score: [sorted arrays]}: of each list only its head
    is read, as far as the page needs. A record is ranked at its best score, so one found in a
    higher score's lists is passed over; `wanted` (type ranks, or None) keeps only those types."""
    numbers, scores, found_so_far, above = [], [], 0, []
    for score in sorted(groups, reverse=True):
        lists = whole = [array for array in groups[score] if len(array)]
        if position is not None and score > position[0]:
            above += whole
            continue
        if position is not None and score == position[0]:
            lists = [array[numpy.searchsorted(array, position[1], side="right") :] for array in lists]
            lists = [array for array in lists if len(array)]
        need = limit - found_so_far
        take = max(need, 64)
        found = numpy.empty(0, dtype=index.NUMBER)
        while lists:
            heads = [array[:take] for array in lists]
            # Every number up to the least last one read of a list not read to its end is in `heads`.
            cut = [head[-1] for head, array in zip(heads, lists, strict=True) if len(array) > take]
            found = _distinct(heads)
            if cut:
                found = found[found <= min(cut)]
            found = found[~_member(found, above)]
            if wanted is not None:
                found = found[numpy.isin(found >> index.TYPE_BITS, wanted)]
            if len(found) >= need or not cut:
                break
            take *= 4
        numbers.append(found[:need])
        scores.append(numpy.full(len(numbers[-1]), score, dtype=numpy.uint8))
        found_so_far += len(numbers[-1])
        if found_so_far >= limit:
            break
        above += whole
    if not numbers:
        return numpy.empty(0, dtype=index.NUMBER), numpy.empty(0, dtype=numpy.uint8)
    return numpy.concatenate(numbers), numpy.concatenate(scores)


def _postings(folded):
    """{score: [arrays of record numbers]} of the vocabulary entries that match `folded`, each
    list at the field weight times 10 plus the entry's bonus (api.query.search_index.bonus).
    The entries are found through their 2-character pieces, and read with their postings in one
    statement (a round trip less on PostgreSQL); an entry whose pieces are all in the query but
    not in its order (the rare false candidate) has its postings read and left."""
    found = collections.defaultdict(list)
    pieces = index.grams(folded)
    if pieces:
        # SQL written once, the pieces one parameter (as rows_among).
        database = m.SearchToken._meta.database
        postgres = is_postgres_database(database)
        params = [among_param(sorted(pieces), postgres), len(pieces)]
        rows = database.execute_sql(_postings_sql(postgres, database.param), params).fetchall()
    else:  # one character: no piece to look up, and the vocabulary is small next to the texts
        token = m.SearchToken
        words = {
            token_id: (kind, word)
            for token_id, kind, word in token.select(token.id, token.kind, token.token).where(token.token.contains(folded)).tuples()
        }
        postings = rows_among(m.SearchPosting, ("token", "weight", "records"), "token", list(words)) if words else []
        rows = [(token_id, *words[token_id], weight, blob) for token_id, weight, blob in postings]
    bonuses = {}
    for token_id, kind, word, weight, blob in rows:
        if token_id not in bonuses:
            bonuses[token_id] = index.bonus(kind, word, folded)
        if bonuses[token_id] is not None:
            found[weight * 10 + bonuses[token_id]].append(index.unpack(blob))
    return found


@functools.cache
def _postings_sql(postgres, param):
    having = f'SELECT "token" FROM "search_token_gram" WHERE {among_condition("gram", postgres, param)} GROUP BY "token" HAVING COUNT(*) = {param}'
    return (
        'SELECT t."id", t."kind", t."token", p."weight", p."records" FROM "search_token" AS t '
        f'JOIN "search_posting" AS p ON p."token" = t."id" WHERE t."id" IN ({having})'
    )


def _distinct(arrays):
    """The sorted distinct numbers of `arrays`. By sorting: numpy.unique's hashing is many
    times slower on these (large, sparse) numbers."""
    numbers = numpy.sort(numpy.concatenate(arrays))
    if len(numbers) < 2:
        return numbers
    keep = numpy.empty(len(numbers), dtype=bool)
    keep[0] = True
    numpy.not_equal(numbers[1:], numbers[:-1], out=keep[1:])
    return numbers[keep]


def _ranked(groups):
    """(record numbers, their scores), best first, from {score: [arrays]}: each record at its
    best score, records of one score in numeric, that is (type, id), order."""
    ranked, scores, seen = [], [], numpy.empty(0, dtype=index.NUMBER)
    for score in sorted(groups, reverse=True):
        numbers = _distinct(groups[score])
        new = numbers[~numpy.isin(numbers, seen, assume_unique=True, kind="sort")] if len(seen) else numbers
        seen = _distinct([seen, new])
        ranked.append(new)
        scores.append(numpy.full(len(new), score, dtype=numpy.uint8))
    if not ranked:
        return seen, numpy.empty(0, dtype=numpy.uint8)
    return numpy.concatenate(ranked), numpy.concatenate(scores)


def _scan(folded, candidates=None):
    """The ranking straight from the texts (of `candidates` only, if given): LIKE finds them,
    `score` ranks them (word starts need a regular expression, which SQLite lacks)."""
    entry = m.SearchEntry
    hits = entry.select(entry.record_no, entry.weight, entry.folded).where(entry.folded.contains(folded))
    if candidates is not None:
        hits = hits.where(entry.record_no.in_(candidates.tolist()))
    best = {}
    for record_no, weight, text in hits.tuples():
        best[record_no] = max(best.get(record_no, 0), score(weight, text, folded))
    groups = collections.defaultdict(list)
    for record_no, value in best.items():
        groups[value].append(record_no)
    return _ranked({value: [numpy.array(numbers, dtype=index.NUMBER)] for value, numbers in groups.items()})


def _several_words(folded):
    """A query with a space spans words: the records having a word containing each of its
    words (in the same field weight) are the candidates, whose texts are then checked."""
    candidates = None
    for word in folded.split(" "):
        has = {}
        for score, arrays in _postings(word).items():
            weight = score // 10
            has[weight] = _distinct([has.get(weight, numpy.empty(0, dtype=index.NUMBER)), *arrays])
        if candidates is not None:
            has = {w: a[numpy.isin(a, candidates[w], assume_unique=True, kind="sort")] for w, a in has.items() if w in candidates}
        candidates = {w: a for w, a in has.items() if len(a)}
        if not candidates:
            return numpy.empty(0, dtype=index.NUMBER), numpy.empty(0, dtype=numpy.uint8)
    records = _distinct(list(candidates.values()))
    return _scan(folded, records if len(records) <= MAX_CANDIDATES else None)


def search(query, types=None, budget=None):
    """Results for `query` (see Results), only of `types` if given. With a `budget` (paging, as
    /v1/search does), a query whose ranking the load kept (a common piece or word) is read from
    it (Kept), and a word whose postings hold more entries than the budget is not ranked in
    full: its Head is (no total)."""
    folded = fold(query)
    if budget is not None and 2 <= len(folded) <= KEPT_QUERY_LENGTH and " " not in folded:
        kept = _kept(folded, types, lambda: _search(folded, types, budget))
        if kept is not None:
            return kept
    return _search(folded, types, budget)


def _search(folded, types, budget):
    if not folded:
        # White space only folds to "", which every text contains: it matches nothing rather than everything.
        return Results(folded, numpy.empty(0, dtype=index.NUMBER), numpy.empty(0, dtype=numpy.uint8))
    if " " in folded:
        ranked, scores = _several_words(folded)
    else:
        groups = _postings(folded)
        if budget is not None and sum(len(array) for arrays in groups.values() for array in arrays) > budget:
            return Head(folded, groups, types)
        ranked, scores = _ranked(groups)
    if types:
        ranked, scores = _of_types(ranked, scores, types)
    return Results(folded, ranked, scores)


def _of_types(ranked, scores, types):
    """The hits (record numbers and their scores) of records of `types` only, in their order."""
    wanted = numpy.isin(ranked >> index.TYPE_BITS, [index.TYPE_RANK[t] for t in types])
    return ranked[wanted], scores[wanted]
