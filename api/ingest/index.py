"""The word index, built at load time from the seeds: every searchable text of every record
(api/query/search.py says how it is searched, api/query/search_index.py how it is laid out)."""

import numpy
import orjson
from peewee import fn

from api.query import search_index as index
from api.query.search import FIELD_WEIGHTS, KEEP_FROM, KEPT_QUERY_LENGTH, fold, ranking_to_keep
from api.store import models as m
from api.store.fastpath import insert_rows


def _texts(entry):
    d = entry.data
    yield "name.ko", d["name"]["ko"]
    yield "name.en", d["name"]["en"]
    for other in d.get("other_names") or []:
        yield "other_names", other
    if d.get("value_text"):
        yield "value_text", d["value_text"]
    for sub in d.get("subheadlines") or []:
        yield "subheadlines", sub
    if d.get("note"):
        yield "note", d["note"]
    for citation in d["sources"]:
        yield "sources.evidence", citation["evidence"]


def search_rows(seeds, numbers, only=None):
    """The SearchEntry rows for a SeedSet (built at load time): of every record, or of the ids
    in `only`; `numbers`: {(type, id): the record's number}."""
    extra = {}
    for _, _, c in seeds.citations:
        extra.setdefault(c["record"], []).append(c["evidence"])
    rows = []
    for entry in seeds.entries.values():
        if only is not None and entry.data["id"] not in only:
            continue
        record_type = m.RECORD_TYPES[entry.section]
        texts = list(_texts(entry)) + [("sources.evidence", e) for e in extra.get(entry.data["id"], [])]
        for field, text in texts:
            rows.append(
                {
                    "record_type": record_type,
                    "record_id": entry.data["id"],
                    "field": field,
                    "text": text,
                    "folded": fold(text),
                    "weight": FIELD_WEIGHTS[field],
                    "record_no": numbers[(record_type, entry.data["id"])],
                }
            )
    return rows


def index_rows(entry_rows):
    """(vocabulary, its pieces, postings) rows for SearchEntry rows as search_rows gives them."""
    builder = index.IndexBuilder()
    by_record = {}
    for row in entry_rows:
        by_record.setdefault(row["record_no"], []).append((row["weight"], row["folded"]))
    for record_no, texts in by_record.items():
        builder.add(record_no, texts)
    return builder.flush()


def keep_rankings(database, queries=None):
    """Rank the common queries (common_queries) and keep their rankings (models.SearchGramRank):
    all of them, or only those of `queries` (the pieces and words a load's changes touch),
    whose kept rankings are made again. Returns how many it kept."""
    kept = m.SearchGramRank
    if queries is None:
        kept.delete().execute()
    else:
        for part in _parts(queries):
            kept.delete().where(kept.gram.in_(part)).execute()
    rows = []
    for query in common_queries(queries):
        numbers, scores, totals = ranking_to_keep(query)
        rows.append({"gram": query, "records": numbers.tobytes(), "scores": scores.tobytes(), "totals": orjson.dumps(totals).decode()})
    insert_rows(database, kept, rows)
    return len(rows)


def common_queries(queries=None):
    """The queries whose rankings the load keeps, sorted: each 2-character piece whose words'
    postings (what a query of it reads) hold more than KEEP_FROM entries, and each longer word
    of the vocabulary whose own postings do (tourism, 인공지능: the whole words clients search
    for). Of every piece and word, or of `queries` only."""
    gram, posting, token = m.SearchTokenGram, m.SearchPosting, m.SearchToken
    size = fn.SUM(fn.LENGTH(posting.records))
    least = KEEP_FROM * index.NUMBER.itemsize
    pieces = gram.select(gram.gram).join(posting, on=(posting.token == gram.token)).group_by(gram.gram).having(size > least)
    long_enough = (fn.LENGTH(token.token) > 2) & (fn.LENGTH(token.token) <= KEPT_QUERY_LENGTH)
    words = token.select(token.token).join(posting, on=(posting.token == token.id)).where(long_enough).group_by(token.token).having(size > least)
    found = set()
    for part in [None] if queries is None else _parts(queries):
        for common, column in ((pieces, gram.gram), (words, token.token)):
            query = common if part is None else common.where(column.in_(part))
            found.update(row[0] for row in query.tuples())
    return sorted(found)


def _parts(queries, size=500):
    queries = sorted(queries)
    return [queries[start : start + size] for start in range(0, len(queries), size)]


def update_index(database, old, new):
    """Change the word index for the records whose texts changed: `old` and `new` are
    {record number: [(weight, folded text)]} before and after (a record gone has no new texts, a
    record added no old ones). A posting row losing a record is written again without it; the
    records gaining a word are added in a row of their own (a word's postings may span rows).
    Then the kept rankings that read those words' postings are made again (all of them, if
    none is kept)."""

    def pairs(texts):
        return {(entry, weight) for weight, folded in texts for entry in index.vocabulary_of(folded)}

    losing, gaining = {}, {}
    for number in set(old) | set(new):
        before, after = pairs(old.get(number, [])), pairs(new.get(number, []))
        for key in before - after:
            losing.setdefault(key, set()).add(number)
        for key in after - before:
            gaining.setdefault(key, set()).add(number)
    entries = sorted({entry for entry, _ in losing} | {entry for entry, _ in gaining})
    token = m.SearchToken
    ids = {}
    for start in range(0, len(entries), 300):
        part = entries[start : start + 300]
        condition = None
        for kind in {k for k, _ in part}:
            clause = (token.kind == kind) & token.token.in_([w for k, w in part if k == kind])
            condition = clause if condition is None else condition | clause
        ids.update({(kind, word): token_id for token_id, kind, word in token.select(token.id, token.kind, token.token).where(condition).tuples()})
    next_id = (token.select(token.id).order_by(token.id.desc()).scalar() or 0) + 1
    fresh_tokens, fresh_grams = [], []
    for entry in entries:
        if entry not in ids:
            ids[entry] = next_id
            fresh_tokens.append({"id": next_id, "kind": entry[0], "token": entry[1]})
            fresh_grams += [{"gram": gram, "token": next_id} for gram in index.grams(entry[1])]
            next_id += 1
    insert_rows(database, token, fresh_tokens)
    insert_rows(database, m.SearchTokenGram, fresh_grams)
    posting = m.SearchPosting
    for (entry, weight), numbers in losing.items():
        token_id = ids[entry]
        drop = numpy.array(sorted(numbers), dtype=index.NUMBER)
        rows = posting.select(posting.id, posting.records).where((posting.token == token_id) & (posting.weight == weight)).tuples()
        for row_id, blob in rows:
            kept = index.unpack(blob)
            kept = kept[~numpy.isin(kept, drop, assume_unique=True)]
            if len(kept):
                posting.update(records=kept.tobytes()).where(posting.id == row_id).execute()
            else:
                posting.delete().where(posting.id == row_id).execute()
    insert_rows(
        database,
        posting,
        [
            {"token": ids[entry], "weight": weight, "records": numpy.array(sorted(numbers), dtype=index.NUMBER).tobytes()}
            for (entry, weight), numbers in gaining.items()
        ],
    )
    # None kept: a database migrated to 0011 since its last load. Its first load ranks them all.
    keep_rankings(database, _touched({word for _, word in entries}) if m.SearchGramRank.select().exists() else None)


def _touched(words):
    """The queries whose kept rankings read the postings of `words`: their pieces, the words
    themselves, and the kept longer words inside them (a query finds every word containing it)."""
    kept = m.SearchGramRank
    inside = "\n".join(words)  # a word holds no line break: a kept word is in `inside` exactly when it is in one of them
    longer = kept.select(kept.gram).where(fn.LENGTH(kept.gram) > 2).tuples()
    return {piece for word in words for piece in index.grams(word)} | set(words) | {query for (query,) in longer if query in inside}
