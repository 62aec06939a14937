"""Search, on SQLite and PostgreSQL: /v1/search across every collection and `q` on each list.

Korean of two syllables matches inside words, English matches without regard to case, hits
are typed, ranked and say which field matched (and that field really holds the text), pages
follow links.next, and `type` narrows the collections searched.
"""

from urllib.parse import unquote

import pytest

from api.query.search import fold

TYPES = {"source", "organisation", "person", "place", "event", "programme", "figure"}
COLLECTION_OF = {
    "source": "sources",
    "organisation": "organisations",
    "person": "people",
    "place": "places",
    "event": "events",
    "programme": "programmes",
    "figure": "figures",
}


def search(client, q, **params):
    response = client.get("/v1/search", query_string={"q": q, "limit": 500, **params})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["meta"]["total"] == len(body["data"])
    return body["data"]


def hit(hits, record_id):
    found = [h for h in hits if h["id"] == record_id]
    assert found, f"{record_id} not among {[h['id'] for h in hits]}"
    return found[0]


def field_texts(record, field):
    """The texts of `field` (as search names it) in a served record."""
    if field == "name.ko":
        return [record["name"]["ko"]]
    if field == "name.en":
        return [record["name"]["en"]]
    if field == "sources.evidence":
        return [c["evidence"] for c in record["sources"]]
    if field in ("other_names", "subheadlines"):
        return record[field]
    return [record[field]]  # value_text, note


def test_two_korean_syllables_match_inside_a_word(client):
    hits = search(client, "김장")
    festival = hit(hits, "kimjang-festival-2023")
    assert festival["type"] == "event"
    assert festival["matched"] == {"field": "name.ko", "text": "2023 빛고을사랑나눔김장대전"}
    assert hit(search(client, "나눔"), "kimjang-festival-2023")["matched"]["field"] == "name.ko"
    assert hit(search(client, "김장대전"), "kimjang-festival-2023")["matched"]["text"] == "2023 빛고을사랑나눔김장대전"
    complexes = [h["id"] for h in search(client, "산단", type="place")]
    assert complexes == [
        "hanam-industrial-complex",
        "jingok-industrial-complex",
        "pyeongdong-1-2-industrial-complex",
        "pyeongdong-3-industrial-complex",
    ]


@pytest.mark.parametrize("q", ["kimjang", "KIMJANG", "Kimjang", "kImJaNg", "ＫＩＭＪＡＮＧ"])
def test_english_matches_names_without_regard_to_case(client, q):
    hits = search(client, q)
    assert [(h["type"], h["id"], h["score"]) for h in hits] == [(h["type"], h["id"], h["score"]) for h in search(client, "kimjang")]
    festival = hit(hits, "kimjang-festival-2023")
    assert festival["matched"] == {"field": "name.en", "text": "2023 Bitgoeul Love Sharing Kimjang Festival"}


def test_an_english_name_is_found_in_any_case_on_a_list_too(client):
    for q in ("konkuk", "KONKUK", "Konkuk University"):
        body = client.get("/v1/organisations", query_string={"q": q}).get_json()
        assert [o["id"] for o in body["data"]] == ["konkuk-university"], q


def test_every_hit_is_typed_links_to_its_record_and_says_where_it_matched(client):
    for q in ("김장", "광주", "MOU", "9676만원", "하남·진곡·평동산단", "Gwangju"):
        hits = search(client, q)
        assert hits, q
        for h in hits:
            assert h["type"] in TYPES
            assert h["href"].endswith(f"/v1/{COLLECTION_OF[h['type']]}/{h['id']}")
            record = client.get(h["href"]).get_json()["data"]
            assert (record["type"], record["id"]) == (h["type"], h["id"])
            assert h["name"] == record["name"]
            assert h["matched"]["text"] in field_texts(record, h["matched"]["field"]), (q, h)
            assert fold(q) in fold(h["matched"]["text"]), (q, h)
        assert len({(h["type"], h["id"]) for h in hits}) == len(hits), "one hit per record"


def test_results_are_ranked_a_name_above_a_quote(client):
    hits = search(client, "김장")
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    fields = [h["matched"]["field"] for h in hits]
    last_name = max(i for i, f in enumerate(fields) if f.startswith("name."))
    first_quote = min(i for i, f in enumerate(fields) if f == "sources.evidence")
    assert last_name < first_quote, fields
    assert hit(hits, "unesco")["matched"]["field"] == "sources.evidence"  # found only through a quote


def test_a_whole_or_leading_name_match_ranks_first(client):
    hits = search(client, "유네스코")
    assert hits[0]["id"] == "unesco" and hits[0]["matched"] == {"field": "name.ko", "text": "유네스코"}
    assert hits[0]["score"] > hits[1]["score"]
    hits = search(client, "하남")
    assert hits[0]["id"] == "hanam-industrial-complex"  # 하남산업단지 starts with it
    hits = search(client, "Gwangju Technopark")
    assert (hits[0]["type"], hits[0]["id"]) == ("organisation", "gwangju-technopark")


def test_an_english_word_ranks_above_the_same_letters_inside_another_word(client):
    """`MOU` is the memorandum, not the middle of 'amount'."""
    hits = search(client, "MOU")
    assert hits[0]["id"] == "ai-healthcare-digital-twin-mou-2023"
    amount = hit(hits, "kimjang-festival-2023-sales-amount")
    assert amount["matched"]["text"] == "Sales amount" and amount["score"] < hits[0]["score"]


def test_the_type_filter_narrows_the_search(client):
    assert {h["type"] for h in search(client, "김장", type="event")} == {"event"}
    assert {h["id"] for h in search(client, "김장", type="event")} == {
        "urban-corporation-kimjang-sharing",
        "urban-corporation-announcement-2023-12-17",
        "kimjang-festival-2023",
        "kimjang-festival-2022",
        "kimjang-festival-announcement-2023-12-17",
    }
    assert {h["type"] for h in search(client, "김장", type="event,source")} == {"event", "source"}
    assert search(client, "김장", type="person") == []
    everything = search(client, "광주")
    assert sum(len(search(client, "광주", type=t)) for t in TYPES) == len(everything)


def test_search_pages_follow_links_next(client):
    whole = search(client, "광주")
    assert len(whole) > 7
    url, walked, totals = "http://localhost/v1/search?q=광주&limit=3", [], set()
    while url:
        response = client.get(url)
        body = response.get_json()
        assert unquote(body["links"]["self"]) == unquote(url)
        assert len(body["data"]) <= 3 and body["meta"]["limit"] == 3
        following = body["links"]["next"]
        if following:
            assert response.headers["Link"] == f'<{following}>; rel="next"'
        else:
            assert "Link" not in response.headers
        walked += body["data"]
        totals.add(body["meta"]["total"])
        url = following
    assert walked == whole and totals == {len(whole)}
    typed = client.get("/v1/search", query_string={"q": "광주", "type": "organisation", "limit": 2}).get_json()
    assert "type=organisation" in typed["links"]["next"]  # the filter goes on to the next page


@pytest.mark.parametrize("record_type", COLLECTION_OF)
@pytest.mark.parametrize("q", ["김장", "광주", "산단", "MOU", "kimchi", "2700kg", "교수"])
def test_q_on_a_list_finds_what_search_finds_of_that_type(client, q, record_type):
    listed = client.get(f"/v1/{COLLECTION_OF[record_type]}", query_string={"q": q, "limit": 500}).get_json()["data"]
    assert {r["id"] for r in listed} == {h["id"] for h in search(client, q, type=record_type)}


def test_a_query_that_matches_nothing_is_an_empty_page(client):
    body = client.get("/v1/search", query_string={"q": "존재하지않는낱말"}).get_json()
    assert body["data"] == [] and body["meta"]["total"] == 0 and body["links"]["next"] is None


def test_a_page_of_hits_of_many_types_costs_the_statements_of_one_type(client):
    """The hits' names are read in one statement whatever their types: a statement per type was
    a round trip each on PostgreSQL, and a full page names records of up to seven types."""
    from tests.support import request_queries

    many = client.get("/v1/search", query_string={"q": "김장", "limit": 500})
    assert len({h["type"] for h in many.get_json()["data"]}) >= 3
    # Limits no other request asks for: neither is answered from the response cache.
    with request_queries(client) as counter:
        assert client.get("/v1/search", query_string={"q": "김장", "limit": 401}).headers["X-Cache"] == "miss"
    with request_queries(client) as one_type:
        only = client.get("/v1/search", query_string={"q": "김장", "limit": 301, "type": "figure"})
    assert {h["type"] for h in only.get_json()["data"]} == {"figure"}
    assert counter.count == one_type.count


@pytest.mark.parametrize("q", ["김장", "광주", "mou", "2700kg"])
def test_a_page_of_hits_reads_only_the_texts_containing_the_query(loaded, q):
    """The database keeps back a page's texts that do not contain the query (most of each
    record's ten or so): the hits are those that reading every text and keeping the matching
    ones gives, and nothing else is read."""
    from api.query import search as searching
    from api.store import models as m
    from api.store.db import db
    from api.store.fastpath import rows_among

    with db.connection_context():
        results = searching.search(q)
        numbers = results.ranked.tolist()
        assert numbers, q
        every = rows_among(m.SearchEntry, searching.ENTRY_COLUMNS, "record_no", numbers, order="id")
        read = searching._entries_containing(numbers, q)
    assert [tuple(row) for row in read] == [tuple(row) for row in every if q in row[5]]
    assert len(read) < len(every)


@pytest.mark.parametrize("q", ["김장", "광주", "mou", "k", "빛고을사랑나눔김장대전"])
def test_a_words_postings_are_read_with_the_words_in_one_statement(loaded, q):
    """The vocabulary entries that contain the query and their postings come back together:
    the lists are those of every entry `bonus` says matches, each at its weight and bonus."""
    from api.query import search as searching
    from api.query import search_index as index
    from api.store import models as m
    from api.store.db import db
    from api.store.fastpath import rows_among
    from tests.support import count_queries

    with db.connection_context():
        bonuses = {t.id: index.bonus(t.kind, t.token, q) for t in m.SearchToken.select()}
        bonuses = {token: value for token, value in bonuses.items() if value is not None}
        assert bonuses, q
        want = sorted(
            (weight * 10 + bonuses[token], bytes(blob))
            for token, weight, blob in rows_among(m.SearchPosting, ("token", "weight", "records"), "token", list(bonuses))
        )
        with count_queries() as counter:
            groups = searching._postings(q)
    assert sorted((score, array.tobytes()) for score, arrays in groups.items() for array in arrays) == want
    assert counter.count == (1 if len(q) > 1 else 2)
