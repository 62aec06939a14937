"""The word index, built at load time from the seeds: every searchable text of every record
(api/query/search.py says how it is searched, api/query/search_index.py how it is laid out)."""

from api.query import search_index as index
from api.query.search import FIELD_WEIGHTS, fold
from api.store import models as m


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
    """The SearchEntry rows for a SeedSet (built at load time), record numbers included."""
    extra = {}
    for _, _, c in seeds.citations:
        extra.setdefault(c["record"], []).append(c["evidence"])
    ids = {}
    for entry in seeds.entries.values():
        ids.setdefault(m.RECORD_TYPES[entry.section], []).append(entry.data["id"])
    numbers = index.numbering(ids)
    rows = []
    for entry in seeds.entries.values():
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
