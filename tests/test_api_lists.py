"""Read API /v1 lists: keyset pages and their cursors, every filter (a case that matches and
one that does not), parameter validation, `q=` on a collection, and no N+1 queries."""

import base64
import datetime
from urllib.parse import unquote

import pytest

from api.store import models as m
from api.store.db import open_database
from tests.support import recompile, request_queries

FIGURE_COUNT = 29  # 28, and the rank among the special and metropolitan cities (issue 12)
COLLECTION_COUNTS = {
    "sources": 7,
    "organisations": 30,
    "people": 17,
    "places": 11,
    "events": 17,  # 9, six announcements, last year's festival and the poem (issue 12)
    "programmes": 27,  # 25, and the two funding schemes a benefit names (issue 12)
    "figures": FIGURE_COUNT,
}
# The articles' statements of 2023-12-17, in page order (seeds/README.md, "Statements").
ANNOUNCEMENTS = [
    "ai-agency-announcement-2023-12-17",
    "sme-briefing-announcement-2023-12-17",
    "kimjang-festival-announcement-2023-12-17",
    "urban-corporation-announcement-2023-12-17",
    "social-economy-award-announcement-2023-12-17",
    "online-market-announcement-2023-12-17",
]


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()


def ids(client, url):
    body = get_json(client, url)
    assert body["meta"]["total"] == len(body["data"]), url  # every case here fits one page
    return [r["id"] for r in body["data"]]


def walk(client, url):
    """Follow links.next from `url` to the end; the pages' bodies, in order."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        body = response.get_json()
        following = body["links"]["next"]
        if following:
            assert response.headers["Link"] == f'<{following}>; rel="next"'
        else:
            assert "Link" not in response.headers
        assert unquote(body["links"]["self"]) == unquote(url)
        pages.append(body)
        url = following
        assert len(pages) <= 100, "links.next never ends"
    return pages


def problem(client, url):
    body = get_json(client, url, status=400)
    assert body["status"] == 400 and body["detail"]
    return body


def named(body):
    return [e.get("parameter") for e in body.get("errors", [])]


# --- pagination ----------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["", "-value,name_en", "as_of"])
def test_limit_1_walks_every_figure_exactly_once(client, sort):
    query = f"&sort={sort}" if sort else ""
    everything = get_json(client, f"/v1/figures?limit=500{query}")["data"]
    assert len(everything) == FIGURE_COUNT
    pages = walk(client, f"http://localhost/v1/figures?limit=1{query}")
    assert len(pages) == FIGURE_COUNT
    assert all(len(p["data"]) == 1 for p in pages)
    assert {p["meta"]["total"] for p in pages} == {FIGURE_COUNT}
    assert {p["meta"]["limit"] for p in pages} == {1}
    assert pages[-1]["links"]["next"] is None
    walked = [p["data"][0]["id"] for p in pages]
    assert walked == [f["id"] for f in everything]  # the pages, joined, are the one big page
    assert len(set(walked)) == FIGURE_COUNT

    if sort == "-value,name_en":
        values = [f["value"] for f in everything]
        assert values == sorted(values, reverse=True)
        by_name = {f["id"]: i for i, f in enumerate(get_json(client, "/v1/figures?limit=500&sort=name_en")["data"])}
        for before, after in zip(everything, everything[1:], strict=False):
            if before["value"] == after["value"]:
                assert by_name[before["id"]] < by_name[after["id"]]
    if sort == "as_of":
        dates = [f["as_of"] for f in everything]
        known = [d for d in dates if d is not None]
        assert known == sorted(known) and len(known) == 10
        assert dates == known + [None] * (FIGURE_COUNT - len(known))  # NULLs last
    if sort == "":
        assert walked[:3] == ["kimjang-festival-2023-participants", "kimjang-festival-2023-sales-weight", "kimjang-festival-2023-sales-amount"]


SORTS = {
    "sources": ["-published_on,page_position", "-page_position"],
    "organisations": ["kind,-name_en", "-id"],
    "people": ["name_ko", "-page_order"],
    "places": ["kind", "-name_ko"],
    "events": ["start_date", "-end_date,name_en"],
    "programmes": ["start_date", "kind,-name_ko"],
    "figures": ["-as_of,-value", "unit", "-period_start"],
}


@pytest.mark.parametrize(("collection", "sort"), [(c, s) for c, sorts in SORTS.items() for s in sorts])
def test_every_collection_pages_through_in_every_sort(client, collection, sort):
    count = COLLECTION_COUNTS[collection]
    pages = walk(client, f"http://localhost/v1/{collection}?limit=4&sort={sort}")
    walked = [r["id"] for p in pages for r in p["data"]]
    whole = [r["id"] for r in get_json(client, f"/v1/{collection}?limit=500&sort={sort}")["data"]]
    assert walked == whole and len(set(walked)) == count
    assert {p["meta"]["total"] for p in pages} == {count}


def test_pages_keep_the_filter_and_its_total(client):
    pages = walk(client, "http://localhost/v1/figures?unit=company&limit=2&sort=-value")
    walked = [r for p in pages for r in p["data"]]
    assert [r["value"] for r in walked] == [716, 254, 190, 159, 58, 30, 25]
    assert {r["unit"] for r in walked} == {"company"}
    assert {p["meta"]["total"] for p in pages} == {7}


def test_a_cursor_is_for_its_own_sort(client):
    first = get_json(client, "/v1/figures?limit=2&sort=-value")
    cursor = first["links"]["next"].split("cursor=")[1]
    body = problem(client, f"/v1/figures?limit=2&sort=name_en&cursor={cursor}")
    assert named(body) == ["cursor"] and "cursor" in body["detail"]
    body = problem(client, f"/v1/figures?limit=2&cursor={cursor}")  # the default sort is another sort
    assert named(body) == ["cursor"]
    # With its own sort it goes on.
    assert [f["value"] for f in get_json(client, f"/v1/figures?limit=2&sort=-value&cursor={cursor}")["data"]] == [96760000, 12000]


def test_a_tampered_or_foreign_cursor_is_a_400(client):
    cursor = get_json(client, "/v1/figures?limit=2")["links"]["next"].split("cursor=")[1]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-5] ^= 0x01  # one bit of the payload
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    search_cursor = get_json(client, "/v1/search?q=광주&limit=1")["links"]["next"].split("cursor=")[1]
    for bad in (tampered, cursor[:-3], "not-a-cursor", "커서", "A", search_cursor):
        body = problem(client, f"/v1/figures?limit=2&cursor={bad}")
        assert named(body) == ["cursor"], bad


# --- filters: one case that matches, one that does not ----------------------------------------


def test_figure_filters(client):
    article = [
        "kimjang-festival-2023-participants",
        "kimjang-festival-2023-sales-weight",
        "kimjang-festival-2023-sales-amount",
        "kimjang-festival-2022-sales-amount",
        "kimjang-festival-2023-sales-growth",
        "kimjang-festival-first-year",
        "kimjang-festival-2023-participating-organisations",
        "kimjang-festival-2023-donated-kimchi",
        "kimjang-unesco-inscription-anniversary",
    ]
    festival = [f for f in article if f != "kimjang-festival-2022-sales-amount"]  # last year's is about last year's
    festival_run = [
        "kimjang-festival-2023-participants",
        "kimjang-festival-2023-sales-weight",
        "kimjang-festival-2023-sales-amount",
        "kimjang-festival-2023-participating-organisations",
        "kimjang-festival-2023-donated-kimchi",
    ]
    cases = {
        "subject=kimjang-festival-2023": festival,
        "subject=unesco": ["kimjang-unesco-inscription-anniversary"],
        "subject=gahyeonjeong-books": [],
        "unit=KRW": ["kimjang-festival-2023-sales-amount", "kimjang-festival-2022-sales-amount", "gwangju-social-enterprise-sales-per-worker"],
        "unit=t": ["kimjang-festival-2023-sales-weight"],
        "unit=krw": [],
        "subject=kimjang-festival-2022": ["kimjang-festival-2022-sales-amount"],
        "subject=gwangju-social-economy-enterprises-per-100k": ["gwangju-social-economy-enterprises-per-100k-rank"],
        "source=kimjang-festival-article": article,
        "source=school-violence-book-article": ["school-violence-prevention-system-layers"],
        "source=kwangju-ilbo": [],
        "from=2023-12-01&to=2023-12-05": festival_run,
        "from=2023-12-10": festival_run,  # the festival's last day still overlaps
        "from=2023-12-11": [],
        "from=2022-06-01&to=2022-06-01": ["kimjang-festival-2022-sales-amount"],  # only its year is known
        "to=2021-12-31": ["gwangju-social-enterprise-sales-per-worker", "gwangju-social-enterprise-sales-per-worker-rank"],
        "to=2021-12-30": [],
        "from=2023-11-30&to=2023-11-30": [
            "kimjang-festival-2023-participants",
            "kimjang-festival-2023-sales-weight",
            "kimjang-festival-2023-sales-amount",
            "kimjang-festival-2023-participating-organisations",
            "kimjang-festival-2023-donated-kimchi",
            "small-business-online-support-companies-2023",
            "small-business-online-support-products-2023",
            "small-business-online-support-training-companies-2023",
            "small-business-online-support-detail-page-companies-2023",
            "small-business-online-support-live-commerce-companies-2023",
            "small-business-online-support-mall-listing-companies-2023",
            "small-business-online-support-digital-content-companies-2023",
            "small-business-online-support-digital-transformation-companies-2023",
        ],
        "min=1000000000": ["kimjang-festival-2023-sales-amount", "kimjang-festival-2022-sales-amount"],
        "min=1470000000.000001": [],
        "max=5": [
            "social-economy-policy-evaluation-edition",
            "social-economy-policy-evaluation-fields",
            "gwangju-social-enterprise-sales-per-worker-rank",
            "gwangju-social-economy-enterprises-per-100k-rank",
            "gwangju-social-economy-fair-edition",
        ],
        "max=1.5": ["gwangju-social-economy-enterprises-per-100k-rank"],  # first, said in words
        "max=0.5": [],
        "min=33.6&max=33.6": ["kimjang-festival-2023-sales-growth"],
        "min=101.3&max=101.3": ["gwangju-social-economy-enterprises-per-100k"],
        "min=33.61&max=49.9": [],
        "qualifier=at_least": [
            "kimjang-festival-2023-participants",
            "kimjang-festival-2023-participating-organisations",
            "kimjang-festival-2023-donated-kimchi",
            "urban-corporation-kimjang-sharing-participants",
        ],
        "qualifier=approximate": [],
        "unit=KRW&min=1000000000&source=kimjang-festival-article": ["kimjang-festival-2023-sales-amount", "kimjang-festival-2022-sales-amount"],
    }
    for query, expected in cases.items():
        assert ids(client, f"/v1/figures?{query}") == expected, query


def test_event_filters(client):
    ai_day = ["ai-healthcare-digital-twin-workshop-2023", "ai-healthcare-digital-twin-mou-2023"]
    cases = {
        "from=2023-12-14&to=2023-12-14": ai_day,
        "from=2023-12-15": [ANNOUNCEMENTS[0], "sme-special-support-area-briefing-2023", *ANNOUNCEMENTS[1:]],
        "from=2023-12-18": ["sme-special-support-area-briefing-2023"],  # the day after the statements
        "from=2023-12-20": [],
        "to=2023-11-22": ["kimjang-festival-2023"],
        "to=2023-11-21": [],
        "from=2023-11-01&to=2023-11-30": ["kimjang-festival-2023"],
        "place=kimdaejung-convention-center": ai_day,
        "place=gwangju-kimchi-town": ["urban-corporation-kimjang-sharing"],
        "place=nam-gu": [],
        "participant=adam-choi": ai_day,
        "participant=kia-autoland-gwangju": ["kimjang-festival-2023"],
        "participant=gahyeonjeong-books": ["warm-wind-book-publication"],
        "participant=lee-ho-dong": ["warm-wind-book-publication", "moon-poem-publication"],
        "participant=gwangju-urban-corporation": ["urban-corporation-kimjang-sharing", "urban-corporation-announcement-2023-12-17"],
        "participant=unesco": [],
        "kind=festival": ["kimjang-festival-2023", "kimjang-festival-2022", "gwangju-social-economy-fair-2"],
        "kind=workshop": ["ai-healthcare-digital-twin-workshop-2023"],
        "kind=announcement": ANNOUNCEMENTS,
        "kind=concert": [],
        "participant=kim-jun-ha&kind=agreement_signing": ["ai-healthcare-digital-twin-mou-2023"],
    }
    for query, expected in cases.items():
        assert ids(client, f"/v1/events?{query}") == expected, query


SME_PARTS = [
    "gwangju-local-tax-support-scheme",
    "special-support-area-dedicated-programmes",
    "government-funding-support-programme",
    "non-rnd-support-programme",
    "rnd-support-programme",
    "crisis-support-centre-programme",
    "national-tax-relief-scheme",
    "employment-support-programme",
]


def test_programme_filters(client):
    cases = {
        "operator=korea-smes-and-startups-agency": ["government-funding-support-programme", "non-rnd-support-programme"],
        "operator=mims-lab": ["ai-healthcare-digital-twin-joint-research"],
        "operator=unesco": [],
        "place=hanam-industrial-complex": ["sme-special-support-area-scheme"],
        "place=gwangju-kimchi-town": [],
        "kind=support_scheme": [
            "sme-special-support-area-scheme",
            "emergency-management-stabilisation-fund",
            "kotec-technology-guarantee",
            "gwangju-small-business-online-market-support",
        ],
        "operator=korea-technology-finance-corporation": ["kotec-technology-guarantee"],
        "kind=festival": [],
        "parent=sme-special-support-area-scheme": SME_PARTS,
        "parent=rnd-support-programme": [],
        "parent=sme-special-support-area-scheme&operator=gwangju-technopark": ["crisis-support-centre-programme"],
        # No programme on the page has a known start date, so none is known to run on any day.
        "active_on=2023-12-18": [],
    }
    for query, expected in cases.items():
        assert ids(client, f"/v1/programmes?{query}") == expected, query


def test_programme_active_on_with_known_dates(writable_client, writable_app):
    """The page dates no programme; give two of them dates in this test's own database."""
    database = open_database(writable_app.config["DATABASE_URL"])
    with database.bind_ctx([m.Programme]), database.connection_context():
        m.Programme.update(start_date=datetime.date(2023, 1, 1), end_date=datetime.date(2023, 12, 31)).where(
            m.Programme.id == "rnd-support-programme"
        ).execute()
        m.Programme.update(start_date=datetime.date(2023, 6, 1), end_date=None).where(m.Programme.id == "employment-support-programme").execute()
    database.close()
    recompile(writable_app.config["DATABASE_URL"])
    cases = {
        "active_on=2022-12-31": [],
        "active_on=2023-01-01": ["rnd-support-programme"],
        "active_on=2023-06-01": ["rnd-support-programme", "employment-support-programme"],
        "active_on=2023-12-31": ["rnd-support-programme", "employment-support-programme"],
        "active_on=2024-01-01": ["employment-support-programme"],  # no end date: still running
        "active_on=2030-01-01&parent=sme-special-support-area-scheme": ["employment-support-programme"],
        "active_on=2030-01-01&kind=support_scheme": [],
    }
    for query, expected in cases.items():
        assert ids(writable_client, f"/v1/programmes?{query}") == expected, query


def test_organisation_people_and_place_filters(client):
    cases = {
        "organisations?kind=university": ["toronto-metropolitan-university", "konkuk-university"],
        "organisations?kind=school": [],
        "organisations?parent=gwangju-metropolitan-city": ["ai-industry-cluster-agency", "gwangju-life-agriculture-division"],
        "organisations?parent=toronto-metropolitan-university": ["mims-lab"],
        "organisations?parent=unesco": [],
        "organisations?kind=company&parent=gwangju-metropolitan-city": [],
        "people?organisation=veyond-metaverse": ["jeong-jun", "adam-choi"],
        "people?organisation=gwangju-council-industry-construction-committee": [
            "kim-na-un",
            "hong-gi-won",
            "kang-su-hun",
            "kim-yong-im",
            "park-su-gi",
            "an-pyeong-hwan",
        ],
        "people?organisation=unesco": [],
        "places?kind=industrial_complex": [
            "hanam-industrial-complex",
            "jingok-industrial-complex",
            "pyeongdong-1-2-industrial-complex",
            "pyeongdong-3-industrial-complex",
        ],
        "places?kind=country": ["canada"],
        "places?kind=river": [],
        "places?parent=canada": ["toronto"],
        "places?parent=nam-gu": ["gwangju-kimchi-town"],
        "places?parent=toronto": [],
        "places?parent=gwangju&kind=venue": ["kimdaejung-convention-center", "gwangju-technopark-site"],
    }
    for query, expected in cases.items():
        assert ids(client, f"/v1/{query}") == expected, query


def test_q_filters_the_collection(client):
    assert ids(client, "/v1/events?q=김장") == [
        "kimjang-festival-2023",
        "kimjang-festival-2022",
        "kimjang-festival-announcement-2023-12-17",
        "urban-corporation-kimjang-sharing",
        "urban-corporation-announcement-2023-12-17",
    ]
    assert ids(client, "/v1/figures?q=9676만원") == [
        "gwangju-social-enterprise-sales-per-worker",
        "gwangju-social-enterprise-sales-per-worker-rank",
    ]
    assert ids(client, "/v1/places?q=산단") == [
        "hanam-industrial-complex",
        "jingok-industrial-complex",
        "pyeongdong-1-2-industrial-complex",
        "pyeongdong-3-industrial-complex",
    ]
    assert ids(client, "/v1/organisations?q=KONKUK") == ["konkuk-university"]
    assert ids(client, "/v1/events?q=김장&kind=charity_event") == ["urban-corporation-kimjang-sharing"]
    assert ids(client, "/v1/people?q=김장") == []
    assert ids(client, "/v1/figures?q=%25") == ["kimjang-festival-2022-sales-amount", "kimjang-festival-2023-sales-growth"]
    whole = ids(client, "/v1/figures?q=김장")
    assert "kimjang-festival-2023-sales-weight" in whole and "gwangju-social-enterprise-sales-per-worker" not in whole
    pages = walk(client, "http://localhost/v1/figures?q=김장&limit=1")
    assert [p["data"][0]["id"] for p in pages] == whole
    assert {p["meta"]["total"] for p in pages} == {len(whole)}


def test_a_blank_q_matches_nothing_rather_than_everything(client):
    response = client.get("/v1/figures?q=%20%20")
    if response.status_code == 400:
        assert named(response.get_json()) == ["q"]
    else:
        assert response.get_json()["meta"]["total"] == 0
        assert get_json(client, "/v1/search?q=%20")["meta"]["total"] == 0


# --- parameter validation ------------------------------------------------------------------------


def test_from_after_to_holds_no_day_and_matches_nothing(client):
    # The festival (2023-11-22 to 2023-12-10) spans both ends of this inverted range; the
    # range still holds no day, so nothing overlaps it.
    for url in ("/v1/figures?from=2023-12-10&to=2023-12-01", "/v1/events?from=2023-12-10&to=2023-11-22"):
        body = get_json(client, url)
        assert body["data"] == [] and body["meta"]["total"] == 0


def test_a_bad_value_is_a_400_naming_its_parameter(client):
    cases = {
        "/v1/figures?limit=abc": "limit",
        "/v1/figures?limit=0": "limit",
        "/v1/figures?limit=501": "limit",
        "/v1/figures?limit=-1": "limit",
        "/v1/figures?limit=５０": "limit",
        "/v1/figures?limit=1_0": "limit",
        "/v1/figures?limit=": "limit",
        "/v1/figures?min=abc": "min",
        "/v1/figures?max=1e": "max",
        "/v1/figures?max=0x10": "max",
        "/v1/figures?min=NaN": "min",
        "/v1/figures?from=2023-13-01": "from",
        "/v1/events?to=2023-02-30": "to",
        "/v1/programmes?active_on=yesterday": "active_on",
        "/v1/figures?qualifier=roughly": "qualifier",
        "/v1/figures?unit=k g": "unit",
        "/v1/figures?subject=Not_A_Slug": "subject",
        "/v1/events?participant=../../etc": "participant",
        "/v1/figures?sort=colour": "sort",
        "/v1/figures?sort=-value,": "sort",
        "/v1/figures?format=xml": "format",
        "/v1/figures?q=": "q",
        "/v1/search?q=kimchi&limit=0": "limit",
    }
    for url, parameter in cases.items():
        body = problem(client, url)
        assert named(body) == [parameter], url
        assert parameter in body["detail"], url


def test_an_unknown_parameter_is_a_400_naming_it(client):
    for url, parameter in {
        "/v1/figures?colour=red": "colour",
        "/v1/figures?page=2": "page",
        "/v1/events/kimjang-festival-2023?limit=5": "limit",
        "/v1/search?q=김장&sort=name_en": "sort",
        "/v1/units?x=1": "x",
    }.items():
        body = problem(client, url)
        assert named(body) == [parameter], url
        assert parameter in body["detail"]


def test_a_repeated_parameter_is_a_400(client):
    for url, parameter in {
        "/v1/figures?limit=2&limit=3": "limit",
        "/v1/figures?unit=KRW&unit=t": "unit",
        "/v1/search?q=김장&q=광주": "q",
    }.items():
        body = problem(client, url)
        assert parameter in body["detail"], url


# --- no N+1 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", COLLECTION_COUNTS)
def test_a_page_costs_the_same_number_of_queries_whatever_its_size(client, collection):
    costs = {}
    for limit in (5, 50):
        with request_queries(client) as counter:
            body = get_json(client, f"/v1/{collection}?limit={limit}")
        assert len(body["data"]) == min(limit, COLLECTION_COUNTS[collection])
        # The total is counted once per filter and dataset version (api/web/counts.py), so leave it out.
        costs[limit] = sum("COUNT(" not in q.msg[0] for q in counter.get_queries())
    assert costs[5] == costs[50], costs
    assert costs[50] <= 12, costs


def test_included_records_cost_a_fixed_number_of_queries_not_one_per_row(client):
    costs = {}
    for limit in (5, 50):
        with request_queries(client) as counter:
            get_json(client, f"/v1/figures?limit={limit}&include=subjects,sources")
        costs[limit] = counter.count
    assert costs[5] <= costs[50] <= 40, costs  # a fixed cost per related collection, not per row


# Limits no other test asks for: the response cache would answer a URL another test fetched.
@pytest.mark.parametrize(
    "url", ["/v1/figures?unit=KRW&from=2023-01-01&to=2025-12-31&limit=41", "/v1/figures?sort=-value&limit=42", "/v1/events?q=김장&limit=43"]
)
def test_a_page_reads_its_records_rows_once(client, url):
    """The page's documents are joined to the select that picks its keys, not looked up again
    through the record table: PostgreSQL read each record twice and sorted the page
    (api.query.documents.page)."""
    table = '"figure"' if "figures" in url else '"event"'
    with request_queries(client) as counter:
        body = get_json(client, url)
    assert body["data"]
    pages = [q.msg[0] for q in counter.get_queries() if '"body"' in q.msg[0]]
    assert len(pages) == 1, pages
    assert pages[0].count(f"FROM {table}") == 1, pages[0]


@pytest.mark.parametrize(
    ("url", "same_as"),
    [
        ("http://localhost/v1/figures?sort=-as_of,value,-as_of,-id&limit=7", "http://localhost/v1/figures?sort=-as_of,value,-id&limit=7"),
        ("http://localhost/v1/sources?sort=page_position,page_position&limit=3", "http://localhost/v1/sources?sort=page_position&limit=3"),
    ],
)
def test_a_sort_naming_a_column_twice_orders_as_naming_it_once(client, url, same_as):
    """The page's keys are selected once each (the fuzzer found PostgreSQL refusing a column
    selected twice under one name as ambiguous: a 500)."""
    twice, once = walk(client, url), walk(client, same_as)
    assert len(once) > 1  # the cursors, which hold a value per key, are followed too
    assert [r["id"] for page in twice for r in page["data"]] == [r["id"] for page in once for r in page["data"]]
