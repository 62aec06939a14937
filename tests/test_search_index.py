"""Search through the word index gives exactly what reading every text would, on both backends.

The reference below is the search as it was before the index: a LIKE over every folded
text, each hit scored by api.query.search.score, one hit per record. The queries are drawn from the seeds themselves
(every word, pieces of words, two-syllable Korean, pieces spanning a space) plus the awkward
ones (LIKE wildcards, one character, case), so the two must agree hit for hit.
"""

import itertools

import pytest
from playhouse.test_utils import count_queries

from api.query.search import fold, score, search
from api.query.search_index import unpack
from api.store import models as m


def reference_search(query, types=None):
    folded = fold(query)
    if not folded:
        return []
    entry = m.SearchEntry
    hits = entry.select(entry.record_type, entry.record_id, entry.field, entry.text, entry.folded, entry.weight)
    hits = hits.where(entry.folded.contains(folded))
    if types:
        hits = hits.where(entry.record_type.in_(types))
    best = {}
    for hit in hits.order_by(entry.field, entry.id).namedtuples():
        key = (hit.record_type, hit.record_id)
        candidate = (hit.record_type, hit.record_id, hit.field, hit.text, score(hit.weight, hit.folded, folded))
        if key not in best or candidate[4] > best[key][4]:
            best[key] = candidate
    return sorted(best.values(), key=lambda h: (-h[4], h[0], h[1]))


def indexed(query, types=None):
    results = search(query, types)
    hits = [tuple(h) for h in results.page(0, 10**6)]
    assert results.total == len(hits)
    return hits


def seed_queries(texts):
    words = sorted({w for t in texts for w in fold(t).split(" ") if w})
    queries = set(words[::3])
    for word in words[::7]:
        queries.update(word[i : i + 2] for i in range(len(word) - 1))  # two-character pieces: 김장, 광주, ...
        if len(word) > 4:
            queries.add(word[1:-1])
    for text in texts[::11]:
        folded = fold(text)
        if " " in folded:
            cut = folded.index(" ")
            queries.add(folded[max(0, cut - 2) : cut + 3])  # a piece spanning a space
        queries.add(folded[:5])
    return sorted(queries)


AWKWARD = [
    "김장",
    "KIMCHI",
    "Gwangju ",
    "  광주   광역시 ",
    "%",
    "_",
    "%_%",
    "50%",
    "a_b",
    "'",
    "\\",
    "억",
    "1",
    "ü",
    "김장 대전",
    "zzzz",
    "mou",
    "(14",
    "-festival",
    "festival",
    "2023-",
    ".",
    "(",
    "amount",
]


@pytest.mark.slow
def test_indexed_search_equals_reading_every_text(client):
    texts = [e.text for e in m.SearchEntry.select(m.SearchEntry.text)]
    queries = seed_queries(texts) + AWKWARD
    assert len(queries) > 200
    for query in queries:
        assert indexed(query) == reference_search(query), query
    for query, types in itertools.product(["광주", "gwangju", "김장", "2023"], [["figure"], ["event", "organisation"]]):
        assert indexed(query, types) == reference_search(query, types), (query, types)


def test_search_endpoint_pages_the_ranked_hits(client):
    from tests.test_api_lists import get_json

    everything = reference_search("광주")
    assert len(everything) > 10
    seen, url = [], "/v1/search?q=광주&limit=4"
    while url:
        body = get_json(client, url)
        assert body["meta"]["total"] == len(everything)
        seen += [(h["type"], h["id"], h["matched"]["field"], h["matched"]["text"], h["score"]) for h in body["data"]]
        url = body["links"]["next"]
    assert seen == everything


@pytest.mark.parametrize("query", ["김장", "gwangju", "광주 광역시"])
def test_a_search_costs_a_fixed_number_of_queries_however_many_records_match(client, query):
    costs = {}
    for limit in (1, 50):
        with count_queries() as counter:
            search(query).page(0, limit)
        costs[limit] = counter.count
    # the vocabulary and the postings per word, the texts of several words, then the page's entries
    assert costs[1] == costs[50] <= 2 * len(query.split()) + 2, costs


@pytest.mark.parametrize("types", [None, ["figure"], ["event", "organisation"]])
def test_a_word_ranked_from_the_heads_of_its_lists_pages_as_the_full_ranking_does(client, types):
    """Past the budget a word's hits are merged page by page from the heads of its posting lists
    (search.Head): every page, from the first and after every hit, is the full ranking's."""
    texts = [e.text for e in m.SearchEntry.select(m.SearchEntry.text)]
    queries = [q for q in seed_queries(texts)[::5] + ["김장", "광주", "2023", "festival", "억", "1"] if " " not in fold(q)]
    compared = 0
    for query in queries:
        full, head = search(query, types), search(query, types, budget=0)
        if not full.total:
            continue
        assert head.total is None
        positions = [None] + [(int(s), int(n)) for s, n in zip(full.scores, full.ranked, strict=True)]
        for position in positions:
            for limit in (1, 3, 50):
                want, got = full.window(position, limit), head.window(position, limit)
                assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist(), (query, position, limit)
                assert got[2] == want[2], (query, position, limit)
                compared += 1
    assert compared > 1000


def test_every_posting_list_is_sorted(client):
    """Head reads the heads of the lists and binary-searches them: each row must be in order."""
    for (blob,) in m.SearchPosting.select(m.SearchPosting.records).tuples():
        numbers = unpack(blob)
        assert (numbers[1:] > numbers[:-1]).all()


def test_the_search_endpoint_walks_a_word_past_the_budget_and_says_its_total_is_not_counted(client, monkeypatch):
    from api.web.resources import index as endpoint
    from tests.test_api_lists import get_json

    everything = reference_search("광주")
    monkeypatch.setattr(endpoint, "RANK_BUDGET", 0)
    seen, url = [], "/v1/search?q=광주&limit=5"  # not a page another test has had (and the cache kept)
    while url:
        body = get_json(client, url)
        assert body["meta"]["total"] is None and body["meta"]["total_is_exact"] is False
        seen += [(h["type"], h["id"], h["matched"]["field"], h["matched"]["text"], h["score"]) for h in body["data"]]
        url = body["links"]["next"]
    assert seen == everything
