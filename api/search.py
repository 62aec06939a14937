"""Search across every record type: substring matching that works for 2-syllable Korean.

SQLite's FTS5 trigram tokenizer finds nothing for queries under 3 characters, and many
Korean words (김장, 광주, 기업) are 2, so search matches substrings of a folded copy of
each searchable text (`SearchEntry.folded`) instead. The same LIKE query runs on SQLite
and PostgreSQL; wildcards in the query are escaped by peewee's `contains`.
"""

import re
import unicodedata
from collections import namedtuple

from peewee import SQL

from api import models as m

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


def search_rows(seeds):
    """The SearchEntry rows for a SeedSet (built at load time)."""
    rows = []
    extra = {}
    for _, _, c in seeds.citations:
        extra.setdefault(c["record"], []).append(c["evidence"])
    for entry in seeds.entries.values():
        record_type = m.RECORD_TYPES[entry.section]
        texts = list(_texts(entry)) + [("sources.evidence", e) for e in extra.get(entry.data["id"], [])]
        for field, text in texts:
            rows.append({
                "record_type": record_type, "record_id": entry.data["id"], "field": field,
                "text": text, "folded": fold(text), "weight": FIELD_WEIGHTS[field],
            })
    return rows


def matching_ids(record_type, query):
    """A subquery of the ids of `record_type` records with any text containing `query`.

    A query of nothing but white space folds to "", which every text contains: it matches
    nothing rather than everything.
    """
    folded = fold(query)
    ids = m.SearchEntry.select(m.SearchEntry.record_id)
    if not folded:
        return ids.where(SQL("1 = 0"))
    return ids.where((m.SearchEntry.record_type == record_type) & m.SearchEntry.folded.contains(folded))


Hit = namedtuple("Hit", "record_type record_id field text score")


def score(weight, folded_text, folded_query):
    """The field's weight times 10, plus 3 for the whole text, 2 for its start, 1 for the start
    of a word inside it, 0 anywhere else: `MOU` finds the MOU before 'amount'. Korean compounds
    are written without spaces (김장 inside 빛고을사랑나눔김장대전), so they still match, lower."""
    if folded_text == folded_query:
        bonus = 3
    elif folded_text.startswith(folded_query):
        bonus = 2
    elif re.search(r"(?<!\w)" + re.escape(folded_query), folded_text):
        bonus = 1
    else:
        bonus = 0
    return weight * 10 + bonus


def search(query, types=None):
    """Every record matching `query`, best first: [Hit(type, id, field, text, score)], one hit
    per record (its best; between equal ones, the first field by name)."""
    folded = fold(query)
    if not folded:
        return []  # white space only: see matching_ids
    entry = m.SearchEntry
    # LIKE finds the candidates in the database; word starts are scored here, in Python,
    # because SQLite has no regular expressions and the candidates are few.
    hits = entry.select(entry.record_type, entry.record_id, entry.field, entry.text, entry.folded, entry.weight)
    hits = hits.where(entry.folded.contains(folded))
    if types:
        hits = hits.where(entry.record_type.in_(types))
    best = {}
    for hit in hits.order_by(entry.field, entry.id).namedtuples():
        key = (hit.record_type, hit.record_id)
        candidate = Hit(hit.record_type, hit.record_id, hit.field, hit.text, score(hit.weight, hit.folded, folded))
        if key not in best or candidate.score > best[key].score:
            best[key] = candidate
    return sorted(best.values(), key=lambda h: (-h.score, h.record_type, h.record_id))
