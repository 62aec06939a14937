"""The issue's "Done when", on SQLite and PostgreSQL: from the API alone, a newcomer answers
what the kimchi festival sold and when it ran; who signed the MOU, where and when; which
industrial complexes the SME support scheme covers and which agencies run its parts; and
any number on the page, with its quote.

Each answer starts where a newcomer would, at /v1 and its search link (no id known in
advance), ends at the URL README.md gives for the question, and comes with quotes that are
on the page: each quote's span, as the API serves it, is the quote in the archived page.
"""

import pathlib
import re

import pytest

from api.ingest.pages import squash

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = (ROOT / "seeds" / "pages" / "000_f27f502ecff37551.txt").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:300])
    return response.get_json()


def first_hit(client, q, record_type, named=""):
    """Search as a newcomer would, from the link the index gives; the best hit of that type
    (whose Korean name says `named`, as a reader picks the year they want from the list)."""
    search = get(client, "/v1")["data"]["links"]["search"]
    hits = client.get(search, query_string={"q": q, "type": record_type}).get_json()["data"]
    hits = [hit for hit in hits if named in hit["name"]["ko"]]
    assert hits, q
    return hits[0]


def included(body):
    return {(r["type"], r["id"]): r for r in body["included"]}


def quoted_on_the_page(record):
    quotes = [c["evidence"] for c in record["sources"]]
    assert quotes, record["id"]
    for citation in record["sources"]:
        assert squash(PAGE[citation["start"] : citation["end"]]) == squash(citation["evidence"]), citation
        context = citation["context"]
        assert squash(context["text"][context["start"] : context["end"]]) == squash(citation["evidence"]), citation
    return quotes


def test_what_the_kimchi_festival_sold_and_when_it_ran(client):
    found = first_hit(client, "김장대전", "event", named="2023")  # last year's festival is a record too
    body = get(client, found["href"] + "?include=figures")
    assert body == get(client, "/v1/events/kimjang-festival-2023?include=figures")  # the URL README.md gives
    festival = body["data"]
    assert festival["name"]["ko"] == "2023 빛고을사랑나눔김장대전"
    assert (festival["start_date"], festival["end_date"]) == ("2023-11-22", "2023-12-10")
    assert any("지난달 22일부터 지난 10일까지" in q for q in quoted_on_the_page(festival))

    figures = included(body)
    sold = {
        (f["unit"], f["value"], f["value_text"])
        for (kind, _), f in figures.items()
        if kind == "figure" and f["period"] == {"start": "2023-11-22", "end": "2023-12-10"} and f["unit"] in ("t", "KRW")
    }
    assert sold == {("t", 218, "218t"), ("KRW", 1470000000, "14억 7000만원")}  # 218 t of kimchi worth 1.47 billion won
    for figure_id in ("kimjang-festival-2023-sales-weight", "kimjang-festival-2023-sales-amount"):
        figure = figures[("figure", figure_id)]
        assert {"type": "event", "id": "kimjang-festival-2023"} in figure["subjects"]
        assert any(squash(figure["value_text"]) in squash(q) for q in quoted_on_the_page(figure))


def test_who_signed_the_mou_where_and_when(client):
    found = first_hit(client, "MOU", "event")
    body = get(client, found["href"] + "?include=participants,place")
    assert body == get(client, "/v1/events/ai-healthcare-digital-twin-mou-2023?include=participants,place")
    mou = body["data"]
    assert mou["kind"] == "agreement_signing"
    assert (mou["start_date"], mou["end_date"]) == ("2023-12-14", "2023-12-14")
    related = included(body)
    place = related[("place", mou["place"]["id"])]
    assert place["name"]["ko"] == "김대중컨벤션센터"
    signatories = {(p["type"], related[(p["type"], p["id"])]["name"]["ko"]) for p in mou["participants"] if p["role"] == "signatory"}
    assert signatories == {
        ("organisation", "인공지능산업융합사업단"),
        ("organisation", "비온드 메타버스"),
        ("person", "김준하"),
        ("person", "아담 최"),
    }
    # Each person signed for an organisation that signed: their affiliations say which.
    agency = {"type": "organisation", "id": "ai-industry-cluster-agency"}
    assert {"organisation": agency, "title": {"ko": "단장", "en": "Director"}} in related[("person", "kim-jun-ha")]["affiliations"]
    assert {"type": "organisation", "id": "veyond-metaverse"} in [a["organisation"] for a in related[("person", "adam-choi")]["affiliations"]]
    quotes = " ".join(quoted_on_the_page(mou))
    assert "지난 14일 김대중컨벤션센터에서" in quotes and "업무협약(MOU)" in quotes


# Which agency runs each part of the scheme, as the briefing article lists them.
SME_PART_AGENCIES = {
    "gwangju-local-tax-support-scheme": "gwangju-metropolitan-city",
    "special-support-area-dedicated-programmes": "korea-small-business-institute",
    "government-funding-support-programme": "korea-smes-and-startups-agency",
    "non-rnd-support-programme": "korea-smes-and-startups-agency",
    "rnd-support-programme": "technology-information-promotion-agency-for-smes",
    "crisis-support-centre-programme": "gwangju-technopark",
    "national-tax-relief-scheme": "gwangju-regional-tax-office",
    "employment-support-programme": "gwangju-regional-employment-and-labor-office",
}


def test_which_industrial_complexes_the_sme_scheme_covers_and_who_runs_its_parts(client):
    found = first_hit(client, "중소기업특별지원지역", "programme")
    body = get(client, found["href"] + "?include=places,parts")
    assert body == get(client, "/v1/programmes/sme-special-support-area-scheme?include=places,parts")
    scheme = body["data"]
    related = included(body)
    complexes = [related[("place", p["id"])] for p in scheme["places"]]
    assert [c["name"]["ko"] for c in complexes] == ["하남산업단지", "진곡산업단지", "평동1·2차 일반산업단지", "평동3차 일반산업단지"]
    assert {c["kind"] for c in complexes} == {"industrial_complex"}
    for place in complexes:
        quoted_on_the_page(place)

    parts = get(client, f"/v1/programmes?parent={scheme['id']}&include=operators")
    assert [p["id"] for p in parts["data"]] == [p["id"] for p in scheme["parts"]] == list(SME_PART_AGENCIES)
    agencies = included(parts)
    for part in parts["data"]:
        operators = [(o["id"], o["role"]) for o in part["operators"]]
        assert operators == [(SME_PART_AGENCIES[part["id"]], "delivery_agency")], part["id"]
        agency = agencies[("organisation", operators[0][0])]
        # The part's quote names its agency, as printed (a misprint is among other_names).
        printed = [agency["name"]["ko"], *agency["other_names"]]
        assert any(name in squash(q) for q in quoted_on_the_page(part) for name in printed), (part["id"], printed)


def test_a_number_on_the_page_with_its_quote(client):
    body = get(client, "/v1/figures?q=9676만원")
    figure = body["data"][0]
    assert figure["id"] == "gwangju-social-enterprise-sales-per-worker"
    assert (figure["value"], figure["unit"], figure["value_text"], figure["as_of"]) == (96760000, "KRW", "9676만원", "2021-12-31")
    (citation,) = figure["sources"]
    assert citation["evidence"] == "2021년말 기준 사회적기업의 근로자 1인당 매출액도 9676만원으로"
    source = get(client, f"/v1/sources/{citation['source']}")["data"]
    assert source["headline"] == "지방자치 사회적경제 정책평가 광주시 상임공동대표상 수상" and source["published_on"] == "2023-12-18"


def test_every_number_on_the_page_is_found_by_its_print_with_its_quote(client):
    figures = get(client, "/v1/figures?limit=500")["data"]
    assert len(figures) == 29  # and `civicfacts check` proves no number on the page lacks one (api/ingest/coverage.py)
    for figure in figures:
        found = client.get("/v1/figures", query_string={"limit": 500, "q": figure["value_text"]}).get_json()["data"]
        assert figure["id"] in [f["id"] for f in found], figure["value_text"]
        assert any(squash(figure["value_text"]) in squash(q) for q in quoted_on_the_page(figure)), figure["id"]


# `/v1/...`, `GET /v1/...` and <http://127.0.0.1:8000/...>; patterns such as /v1/{collection} or
# /v1/changes?since=<version> are no URLs.
CITED = re.findall(r"`(?:GET )?(/(?:v1|docs)[^`\s]*)`|<http://127\.0\.0\.1:8000(/[^>]*)>", README)
README_URLS = sorted({a or b for a, b in CITED if not set("{<") & set(a or b)})


def test_the_readme_cites_urls(client):
    assert "/v1/events/ai-healthcare-digital-twin-mou-2023?include=participants,place" in README_URLS and len(README_URLS) >= 10


@pytest.mark.parametrize("url", README_URLS)
def test_every_url_in_the_readme_answers(client, url):
    response = client.get(url)
    if url.endswith("/") and url != "/":  # the README's example of the trailing slash's redirect
        assert response.status_code == 308 and response.headers["Location"].endswith(url.rstrip("/")), url
        return
    assert response.status_code == 200, url
