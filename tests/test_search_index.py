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


# --- rankings kept at load (search.Kept) -------------------------------------------------------


def keep_every_ranking(monkeypatch, kept_hits, url):
    """Keep the ranking of every 2-character piece of the vocabulary in the database at `url`,
    its first `kept_hits` hits (the seeds are too few for any piece to pass KEEP_FROM)."""
    from api.ingest import index as ingest_index
    from api.query import search as searching
    from api.store.db import open_database

    monkeypatch.setattr(ingest_index, "KEEP_FROM", 0)
    monkeypatch.setattr(searching, "KEPT_HITS", kept_hits)
    database = open_database(url)
    try:
        with database.bind_ctx(m.ALL_MODELS), database.atomic():
            return ingest_index.keep_rankings(database)
    finally:
        database.close()


def assert_kept_pages_as_full(query, types, budget):
    from api.query.search import Kept

    full, kept = search(query, types), search(query, types, budget=budget)
    assert isinstance(kept, Kept), query
    assert kept.total == full.total, (query, types)
    if budget:  # past the budget there is no full ranking to list (Head)
        assert kept.numbers().tolist() == full.numbers().tolist()
    positions = [None] + [(int(s), int(n)) for s, n in zip(full.scores, full.ranked, strict=True)]
    for position in positions:
        for limit in (1, 3, 50):
            want, got = full.window(position, limit), kept.window(position, limit)
            assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist(), (query, types, position, limit)
            assert got[2] == want[2], (query, types, position, limit)


def two_character_queries():
    texts = [e.text for e in m.SearchEntry.select(m.SearchEntry.text)]
    return sorted({fold(q) for q in seed_queries(texts) + ["김장", "광주", "20", "억원"] if len(fold(q)) == 2 and " " not in fold(q)})


def words_with_postings():
    """The vocabulary's words of 3 to 255 characters that some record has: with KEEP_FROM at 0,
    the words whose rankings a load keeps (beside the 2-character pieces)."""
    token, posting = m.SearchToken, m.SearchPosting
    words = token.select(token.token).join(posting, on=(posting.token == token.id)).distinct().tuples()
    return {word for (word,) in words if 2 < len(word) <= 255}


def pieces_with_postings():
    gram, posting = m.SearchTokenGram, m.SearchPosting
    return {g for (g,) in gram.select(gram.gram).join(posting, on=(posting.token == gram.token)).distinct().tuples()}


@pytest.mark.parametrize("types", [None, ["figure"], ["event", "organisation"]])
def test_a_kept_ranking_pages_as_the_full_ranking_does_within_and_past_its_kept_hits(loaded, monkeypatch, types):
    """Within its kept hits a page is read from the kept ranking; past them (4 kept here) from
    the full ranking or, past the budget, from the heads of the lists: every page, from the
    first and after every hit, and the total, are the full ranking's. Of the 2-character pieces
    and of whole words alike."""
    kept = keep_every_ranking(monkeypatch, kept_hits=4, url=loaded)
    words = words_with_postings()
    assert kept == len(pieces_with_postings() | words)
    queries = two_character_queries()
    assert len(queries) > 20
    for query in queries + sorted(words)[::5]:
        assert_kept_pages_as_full(query, types, budget=20_000)
    for query in ["김장", "광주", "kimjang", "festival"]:
        assert_kept_pages_as_full(query, types, budget=0)


def test_a_kept_word_is_read_only_when_the_query_is_that_word(loaded, monkeypatch):
    """A kept word answers the query that is exactly it (after folding); a piece of it, or a
    query with a space, is ranked per request."""
    from api.ingest import index as ingest_index
    from api.query.search import Kept
    from api.store.db import open_database

    monkeypatch.setattr(ingest_index, "KEEP_FROM", 0)
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.atomic():
        assert ingest_index.keep_rankings(database, {"festival"}) == 1  # only it: its pieces stay unkept
    database.close()
    assert isinstance(search("Festival", budget=20_000), Kept)
    assert isinstance(search(" FESTIVAL ", budget=20_000), Kept)
    for query in ["festiva", "estival", "festival 2023", "fe"]:
        assert not isinstance(search(query, budget=20_000), Kept), query
    assert not isinstance(search("festival"), Kept)  # no budget (a list's ?q=): every hit, ranked per request


def test_the_load_keeps_rankings_only_of_pieces_whose_postings_are_long(client):
    """The seeds' pieces all fall short of KEEP_FROM: none is kept, and search ranks per request."""
    from api.query.search import KEEP_FROM, Kept

    assert client.get("/v1/search?q=김장").status_code == 200  # and the models are bound to the shared database again
    assert m.SearchGramRank.select().count() == 0
    assert max(len(b) // 4 for (b,) in m.SearchPosting.select(m.SearchPosting.records).tuples()) < KEEP_FROM
    assert not isinstance(search("김장", budget=20_000), Kept)


def kept_rankings():
    kept = m.SearchGramRank
    return {query: rest for query, *rest in kept.select(kept.gram, kept.records, kept.scores, kept.totals).tuples()}


def test_the_kept_rankings_a_changed_word_touches_are_its_pieces_itself_and_kept_words_inside_it(loaded):
    from api.ingest.index import _touched

    m.SearchGramRank.insert_many([{"gram": q, "records": b"", "scores": b"", "totals": "{}"} for q in ("kim", "festival", "김장")]).execute()
    assert _touched({"kimjang"}) == {"ki", "im", "mj", "ja", "an", "ng", "kimjang", "kim"}
    assert _touched({"빛고을김장대전", "fes"}) == {"빛고", "고을", "을김", "김장", "장대", "대전", "빛고을김장대전", "fe", "es", "fes"}


def test_a_load_that_changes_some_records_makes_their_pieces_kept_rankings_again(loaded, monkeypatch, seed_set):
    from api.ingest.index import common_queries
    from tests.test_history import load_into, version_b

    keep_every_ranking(monkeypatch, kept_hits=1_000, url=loaded)
    before = kept_rankings()
    b, removed = version_b(seed_set)
    load_into(loaded, b)
    grams = [g for (g,) in m.SearchGramRank.select(m.SearchGramRank.gram).tuples()]
    # pieces of the changed figure's new value text (1만3000여명) and the added one's name, and those words
    assert {"만3", "자원", "1만3000여명", "자원봉사자"} <= set(grams)
    assert sorted(grams) == common_queries()  # none stale, none missing
    after = kept_rankings()
    assert "봉사자" in before and after["봉사자"] != before["봉사자"]  # a kept word inside the added name (자원봉사자)
    for gram in grams:
        assert_kept_pages_as_full(gram, None, budget=20_000)
    # the added record is in the kept rankings of its name's pieces, the removed one in none
    assert "kimjang-festival-2023-volunteers" in [h.record_id for h in search("자원", budget=20_000).page(0, 10**6)]
    assert not [h for g in grams for h in search(g, budget=20_000).page(0, 10**6) if h.record_id == removed]


def test_making_no_pieces_rankings_again_changes_none(loaded, monkeypatch):
    from api.ingest.index import keep_rankings
    from api.store.db import open_database

    kept = keep_every_ranking(monkeypatch, kept_hits=10, url=loaded)
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.atomic():
        assert keep_rankings(database, set()) == 0
        assert keep_rankings(database, {"김장", "zz"}) == 1
        assert m.SearchGramRank.select().count() == kept
    database.close()


def test_the_first_load_after_the_migration_ranks_every_common_piece(loaded, monkeypatch, seed_set):
    """A database migrated to 0011 keeps no ranking until it is loaded; its next load, even one
    that changes a few records, ranks every piece that needs it, not only theirs."""
    from api.ingest import index as ingest_index
    from tests.test_history import load_into, version_b

    monkeypatch.setattr(ingest_index, "KEEP_FROM", 0)
    m.SearchGramRank.delete().execute()
    load_into(loaded, version_b(seed_set)[0])
    with_postings = pieces_with_postings() | words_with_postings()  # a removed record's words stay in the vocabulary, without postings
    assert m.SearchGramRank.select().count() == len(with_postings) > 500


def test_the_search_endpoint_pages_from_a_kept_ranking_into_the_full_one_with_an_exact_total(loaded, writable_client, monkeypatch):
    from tests.test_api_lists import get_json

    keep_every_ranking(monkeypatch, kept_hits=3, url=loaded)
    for query, types in [("광주", None), ("김장", "figure"), ("kimjang", None)]:
        everything = reference_search(query, [types] if types else None)
        assert len(everything) > 3, query
        seen, url = [], f"/v1/search?q={query}&limit=2" + (f"&type={types}" if types else "")
        while url:
            body = get_json(writable_client, url)
            assert body["meta"]["total"] == len(everything) and body["meta"]["total_is_exact"] is True
            seen += [(h["type"], h["id"], h["matched"]["field"], h["matched"]["text"], h["score"]) for h in body["data"]]
            url = body["links"]["next"]
        assert seen == everything, query
