"""Read API /v1: the shape of the index, of list and one-record envelopes, and of every
record type, checked against the real seeds (read here straight from the YAML, not through
the loader, so a loader slip shows up as a difference)."""

import datetime
import pathlib

import pytest
import yaml

from api.ingest.pages import squash
from tests.support import ValidatingClient, close_app, make_app, sent_statements

SEEDS = pathlib.Path(__file__).resolve().parent.parent / "seeds"
PAGE = (SEEDS / "pages" / "000_f27f502ecff37551.txt").read_text(encoding="utf-8")
SECTIONS = {
    "organisations": "organisation",
    "people": "person",
    "places": "place",
    "events": "event",
    "programmes": "programme",
    "figures": "figure",
}
COLLECTIONS = {"sources": "source", **SECTIONS}
TYPE_COLLECTION = {singular: plural for plural, singular in COLLECTIONS.items()}


def seed_records():
    """{id: (collection, record)} and {id: [extra citations]} from seeds/0*.yaml."""
    records, extra = {}, {}
    for path in sorted(SEEDS.glob("0*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        records[document["source"]["id"]] = ("sources", document["source"])
        for section in SECTIONS:
            for record in document.get(section) or []:
                records[record["id"]] = (section, record)
        for citation in document.get("citations") or []:
            extra.setdefault(citation["record"], []).append({"source": citation["source"], "evidence": citation["evidence"]})
    return records, extra


def iso(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_json()


def everything(client):
    """Every record of every collection, by id, as the list endpoints serve them."""
    out = {}
    for collection in COLLECTIONS:
        body = get_json(client, f"/v1/{collection}?limit=500")
        assert body["links"]["next"] is None
        for record in body["data"]:
            out[record["id"]] = record
    return out


def refs_in(value):
    """Every {type, id} reference inside a record field."""
    if isinstance(value, dict):
        if set(value) >= {"type", "id"} and value["type"] in TYPE_COLLECTION:
            yield value
        for child in value.values():
            yield from refs_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from refs_in(child)


# --- the index and the envelopes ------------------------------------------------------


def test_index_links_every_collection_with_its_seed_count(client):
    records, _ = seed_records()
    body = get_json(client, "/v1")
    collections = body["data"]["collections"]
    assert set(collections) == set(COLLECTIONS)
    for name, entry in collections.items():
        assert entry["href"] == f"http://localhost/v1/{name}"
        assert entry["count"] == sum(1 for section, _ in records.values() if section == name), name
    dataset = body["data"]["dataset"]
    assert dataset["version"] == get_json(client, "/v1/figures?limit=1")["meta"]["dataset_version"]
    loaded_at = datetime.datetime.fromisoformat(dataset["loaded_at"].replace("Z", "+00:00"))
    assert loaded_at.tzinfo is not None and loaded_at <= datetime.datetime.now(datetime.UTC)
    assert body["data"]["links"]["search"] == "http://localhost/v1/search"
    assert body["links"] == {"self": "http://localhost/v1"}


def test_every_collection_serves_every_seed_record_and_nothing_else(client):
    records, _ = seed_records()
    versions = set()
    for collection, singular in COLLECTIONS.items():
        body = get_json(client, f"/v1/{collection}?limit=500")
        expected = {rid for rid, (section, _) in records.items() if section == collection}
        assert {r["id"] for r in body["data"]} == expected, collection
        assert body["meta"]["total"] == len(expected) == len(body["data"])
        assert {r["type"] for r in body["data"]} == {singular}
        versions.add(body["meta"]["dataset_version"])
    assert len(versions) == 1 and versions.pop()


def test_list_envelope(client):
    body = get_json(client, "/v1/figures?limit=3")
    assert set(body) == {"data", "links", "meta"}
    assert set(body["links"]) == {"self", "next"}
    assert body["links"]["self"] == "http://localhost/v1/figures?limit=3"
    assert body["links"]["next"].startswith("http://localhost/v1/figures?")
    assert set(body["meta"]) == {"total", "total_is_exact", "limit", "dataset_version"}
    assert body["meta"]["total"] == 29 and body["meta"]["limit"] == 3
    assert isinstance(body["meta"]["dataset_version"], str) and body["meta"]["dataset_version"]
    assert len(body["data"]) == 3
    default = get_json(client, "/v1/events")
    assert default["meta"]["limit"] == 50 and default["links"]["next"] is None


def test_one_record_envelope(client):
    body = get_json(client, "/v1/events/kimjang-festival-2023")
    assert set(body) == {"data", "links"}
    assert body["links"] == {"self": "http://localhost/v1/events/kimjang-festival-2023"}
    assert body["data"]["id"] == "kimjang-festival-2023" and body["data"]["type"] == "event"


def test_a_record_reads_the_same_in_its_list_and_on_its_own(client):
    listed = {r["id"]: r for r in get_json(client, "/v1/programmes?limit=500")["data"]}
    for record_id in ("sme-special-support-area-scheme", "rnd-support-programme", "gwangju-small-business-online-market-support"):
        assert get_json(client, f"/v1/programmes/{record_id}")["data"] == listed[record_id]


# --- what every record has ---------------------------------------------------------------


def test_every_record_has_names_quotes_and_resolvable_references(client):
    records, extra = seed_records()
    served = everything(client)
    assert set(served) == set(records)
    for record_id, record in served.items():
        section, seed = records[record_id]
        assert record["type"] == COLLECTIONS[section]
        assert set(record["name"]) == {"ko", "en", "en_translated"}
        assert record["name"] == {k: seed["name"][k] for k in ("ko", "en", "en_translated")}, record_id  # ko_form stays in the seeds
        assert isinstance(record["name"]["en_translated"], bool)
        assert record["other_names"] == (seed.get("other_names") or [])
        assert record["note"] == seed.get("note")
        # Every fact cites its article, quote and all, in the seeds' order.
        assert record["sources"], record_id
        quoted = [{"source": c["source"], "evidence": c["evidence"]} for c in record["sources"]]
        assert quoted == seed["sources"] + extra.get(record_id, []), record_id
        for citation in record["sources"]:
            assert set(citation) == {"source", "evidence", "start", "end", "context"}
            assert served[citation["source"]]["type"] == "source"
            # where it stands in the page, and in its sentence: the quote, white space folded
            assert squash(PAGE[citation["start"] : citation["end"]]) == squash(citation["evidence"]), (record_id, citation)
            context = citation["context"]
            assert squash(context["text"][context["start"] : context["end"]]) == squash(citation["evidence"]), (record_id, citation)
            assert len(context["text"]) <= 302, (record_id, citation)  # ~300 and the marks of a cut
        # Related records are typed references to records that exist.
        for key, value in record.items():
            if key in ("sources", "name"):
                continue
            for ref in refs_in(value):
                assert ref["id"] in served, (record_id, key, ref)
                assert served[ref["id"]]["type"] == ref["type"], (record_id, key, ref)


def test_figures_keep_the_print_and_the_exact_value(client):
    records, _ = seed_records()
    figures = {r["id"]: r for r in get_json(client, "/v1/figures?limit=500")["data"]}
    for figure_id, figure in figures.items():
        _, seed = records[figure_id]
        assert figure["value"] == seed["value"] and type(figure["value"]) is type(seed["value"]), figure_id
        assert figure["value_text"] == seed["value_text"]
        assert figure["unit"] == seed["unit"]
        assert figure["qualifier"] == seed["qualifier"]
        period = seed["period"]
        assert figure["period"] == (None if period is None else {"start": iso(period["start"]), "end": iso(period["end"])})
        assert figure["as_of"] == iso(seed["as_of"])
        assert [s["id"] for s in figure["subjects"]] == seed["subjects"]
        assert [p["id"] for p in figure["parts"]] == seed["parts"]
        assert figure["discrepancy"] == seed["discrepancy"]


def test_figure_values_are_json_numbers_integer_when_whole(client):
    response = client.get("/v1/figures/kimjang-festival-2023-sales-amount")
    raw = response.get_data()
    assert b'"value":1470000000,' in raw  # an integer, not 1470000000.0, not "1470000000"
    figure = response.get_json()["data"]
    assert figure["value"] == 1470000000 and type(figure["value"]) is int
    assert figure["value_text"] == "14억 7000만원"
    assert figure["unit"] == "KRW" and figure["qualifier"] == "exact"
    assert figure["period"] == {"start": "2023-11-22", "end": "2023-12-10"} and figure["as_of"] is None

    per_100k = client.get("/v1/figures/gwangju-social-economy-enterprises-per-100k")
    assert b'"value":101.3,' in per_100k.get_data()
    assert per_100k.get_json()["data"]["value_text"] == "101.3개소"

    growth = client.get("/v1/figures/kimjang-festival-2023-sales-growth")
    assert b'"value":33.6,' in growth.get_data()
    growth = growth.get_json()["data"]
    assert growth["value_text"] == "33.6%" and growth["unit"] == "percent"
    assert growth["comparisons"] == [
        {
            "kind": "growth_rate",
            "base": {"type": "figure", "id": "kimjang-festival-2022-sales-amount"},
            "current": {"type": "figure", "id": "kimjang-festival-2023-sales-amount"},
        }
    ]
    assert [c["kind"] for c in growth["checks"]] == ["growth_rate"] and growth["checks"][0]["holds"] is True


def test_figure_qualifier_as_of_parts_and_checks(client):
    participants = get_json(client, "/v1/figures/kimjang-festival-2023-participants")["data"]
    assert participants["value"] == 12000 and participants["value_text"] == "1만2000여명"
    assert participants["qualifier"] == "at_least"

    per_worker = get_json(client, "/v1/figures/gwangju-social-enterprise-sales-per-worker")["data"]
    assert per_worker["value"] == 96760000 and per_worker["value_text"] == "9676만원"
    assert per_worker["as_of"] == "2021-12-31" and per_worker["period"] is None
    assert per_worker["subjects"] == [{"type": "organisation", "id": "gwangju-metropolitan-city"}]

    donated = get_json(client, "/v1/figures/kimjang-festival-2023-donated-kimchi")["data"]
    assert donated["unit"] is None and donated["value_text"] == "50여"  # the print lacks the unit

    companies = get_json(client, "/v1/figures/small-business-online-support-companies-2023")["data"]
    assert companies["value"] == 716 and companies["as_of"] == "2023-11-30"
    assert len(companies["parts"]) == 6 and all(p["type"] == "figure" for p in companies["parts"])
    assert companies["checks"] == [{"kind": "parts_sum", "holds": True, "detail": "159 + 25 + 190 + 254 + 58 + 30 = 716 = 716"}]
    part = get_json(client, "/v1/figures/small-business-online-support-training-companies-2023")["data"]
    assert part["part_of"] == [{"type": "figure", "id": "small-business-online-support-companies-2023"}]
    assert part["value"] == 159 and part["parts"] == []


def test_event_shape(client):
    mou = get_json(client, "/v1/events/ai-healthcare-digital-twin-mou-2023")["data"]
    assert mou["kind"] == "agreement_signing"
    assert (mou["start_date"], mou["end_date"]) == ("2023-12-14", "2023-12-14")
    assert mou["place"] == {"type": "place", "id": "kimdaejung-convention-center"}
    assert mou["participants"] == [
        {"type": "organisation", "id": "ai-industry-cluster-agency", "role": "signatory"},
        {"type": "organisation", "id": "veyond-metaverse", "role": "signatory"},
        {"type": "person", "id": "kim-jun-ha", "role": "signatory"},
        {"type": "person", "id": "adam-choi", "role": "signatory"},
    ]
    assert mou["programmes"] == [{"type": "programme", "id": "ai-healthcare-digital-twin-joint-research"}]

    festival = get_json(client, "/v1/events/kimjang-festival-2023")["data"]
    assert festival["kind"] == "festival" and festival["place"] is None
    assert festival["other_names"] == ["빛고을나눔김장대전", "빛고을사랑나눔 김장대전"]
    assert {"type": "organisation", "id": "kia-autoland-gwangju", "role": "donor"} in festival["participants"]
    assert {"type": "figure", "id": "kimjang-festival-2023-sales-weight"} in festival["figures"]
    assert len(festival["figures"]) == 8  # last year's sales are about last year's festival
    assert festival["dated_from"] == {"type": "event", "id": "kimjang-festival-announcement-2023-12-17"}
    last_year = get_json(client, "/v1/events/kimjang-festival-2022")["data"]
    assert last_year["figures"] == [{"type": "figure", "id": "kimjang-festival-2022-sales-amount"}]
    assert last_year["start_date"] is None and last_year["dated_from"] == festival["dated_from"]

    statement = get_json(client, "/v1/events/kimjang-festival-announcement-2023-12-17")["data"]
    assert statement["kind"] == "announcement" and statement["start_date"] == statement["end_date"] == "2023-12-17"
    assert statement["participants"] == [{"type": "organisation", "id": "gwangju-metropolitan-city", "role": "announcer"}]
    assert statement["dated_from"] is None

    sharing = get_json(client, "/v1/events/urban-corporation-kimjang-sharing")["data"]
    assert sharing["start_date"] is None and sharing["end_date"] is None  # "최근": no date on the page


def test_programme_shape(client):
    scheme = get_json(client, "/v1/programmes/sme-special-support-area-scheme")["data"]
    assert scheme["kind"] == "support_scheme" and scheme["parent"] is None
    assert scheme["operators"] == []
    assert [p["id"] for p in scheme["places"]] == [
        "hanam-industrial-complex",
        "jingok-industrial-complex",
        "pyeongdong-1-2-industrial-complex",
        "pyeongdong-3-industrial-complex",
    ]
    assert len(scheme["parts"]) == 8 and {p["type"] for p in scheme["parts"]} == {"programme"}
    assert scheme["eligibility"]["ko"] == "중소기업특별지원지역내 기업"
    assert [b["ko"] for b in scheme["benefits"]][:2] == ["연구개발(R&D)·사업화지원", "판로지원"]
    assert len(scheme["benefits"]) == 4
    assert scheme["benefits"][2]["programmes"] == [
        {"type": "programme", "id": "emergency-management-stabilisation-fund"},
        {"type": "programme", "id": "kotec-technology-guarantee"},
    ]
    assert all(b["programmes"] == [] for i, b in enumerate(scheme["benefits"]) if i != 2)
    guarantee = get_json(client, "/v1/programmes/kotec-technology-guarantee")["data"]
    assert guarantee["operators"] == [{"type": "organisation", "id": "korea-technology-finance-corporation", "role": "operator"}]

    local_tax = get_json(client, "/v1/programmes/gwangju-local-tax-support-scheme")["data"]
    assert local_tax["name"]["ko"] == "지방세 지원제도" and local_tax["other_names"] == ["지방재 지원제도"]  # corrected; the print kept
    assert {"type": "event", "id": "sme-special-support-area-briefing-2023"} in scheme["events"]

    part = get_json(client, "/v1/programmes/national-tax-relief-scheme")["data"]
    assert part["parent"] == {"type": "programme", "id": "sme-special-support-area-scheme"}
    assert part["operators"] == [{"type": "organisation", "id": "gwangju-regional-tax-office", "role": "delivery_agency"}]
    assert part["other_names"] == ["국제감면제도"]

    research = get_json(client, "/v1/programmes/ai-healthcare-digital-twin-joint-research")["data"]
    assert [(o["id"], o["role"]) for o in research["operators"]] == [
        ("ai-industry-cluster-agency", "operator"),
        ("veyond-metaverse", "operator"),
        ("mims-lab", "partner"),
        ("nyujak", "partner"),
    ]


def test_organisation_shape(client):
    lab = get_json(client, "/v1/organisations/mims-lab")["data"]
    assert lab["kind"] == "research_institute"
    assert lab["parent"] == {"type": "organisation", "id": "toronto-metropolitan-university"}
    assert lab["other_names"] == ["미스(MIMS) 연구소", "MIMS", "Mixed-Reality Immersive Motion Simulation"]

    city = get_json(client, "/v1/organisations/gwangju-metropolitan-city")["data"]
    assert city["kind"] == "local_government" and city["parent"] is None
    assert city["other_names"] == ["광주시"]
    assert {"type": "organisation", "id": "ai-industry-cluster-agency"} in city["children"]
    assert {"type": "figure", "id": "gwangju-social-enterprise-sales-per-worker"} in city["figures"]

    veyond = get_json(client, "/v1/organisations/veyond-metaverse")["data"]
    assert veyond["members"] == [
        {"type": "person", "id": "jeong-jun", "title": {"ko": "공동 창립자 겸 CEO", "en": "Co-founder and CEO"}},
        {"type": "person", "id": "adam-choi", "title": {"ko": "공동 창립자 겸 CEO", "en": "Co-founder and CEO"}},
    ]


def test_person_shape(client):
    jeong = get_json(client, "/v1/people/jeong-jun")["data"]
    assert jeong["affiliations"] == [
        {"organisation": {"type": "organisation", "id": "toronto-metropolitan-university"}, "title": {"ko": "교수", "en": "Professor"}},
        {"organisation": {"type": "organisation", "id": "veyond-metaverse"}, "title": {"ko": "공동 창립자 겸 CEO", "en": "Co-founder and CEO"}},
    ]
    assert jeong["events"] == [{"type": "event", "id": "ai-healthcare-digital-twin-workshop-2023", "role": "attendee"}]
    lee = get_json(client, "/v1/people/lee-ho-dong")["data"]
    assert lee["affiliations"] == []  # his school is not named
    assert lee["events"] == [
        {"type": "event", "id": "moon-poem-publication", "role": "author"},
        {"type": "event", "id": "warm-wind-book-publication", "role": "author"},
    ]
    # spellings the people use themselves, not ours
    assert jeong["name"] == {"ko": "정준", "en": "Joon Chung", "en_translated": False}
    assert get_json(client, "/v1/people/adam-choi")["data"]["name"] == {"ko": "아담 최", "en": "Adam Choe", "en_translated": False}


def test_place_shape(client):
    hanam = get_json(client, "/v1/places/hanam-industrial-complex")["data"]
    assert hanam["kind"] == "industrial_complex"
    assert hanam["parent"] == {"type": "place", "id": "gwangju"}
    assert hanam["other_names"] == ["하남산단"]
    assert hanam["programmes"] == [{"type": "programme", "id": "sme-special-support-area-scheme"}]
    venue = get_json(client, "/v1/places/kimdaejung-convention-center")["data"]
    assert venue["kind"] == "venue"
    assert {e["id"] for e in venue["events"]} == {"ai-healthcare-digital-twin-workshop-2023", "ai-healthcare-digital-twin-mou-2023"}
    canada = get_json(client, "/v1/places/canada")["data"]
    assert canada["parent"] is None and canada["children"] == [{"type": "place", "id": "toronto"}]


def test_source_shape(client):
    article = get_json(client, "/v1/sources/kimjang-festival-article")["data"]
    assert article["headline"] == "광주시 ‘빛고을나눔김장대전’ 대박" == article["name"]["ko"]
    assert article["subheadlines"] == ["역대 최대 14억7000만원 판매"]
    assert article["publication"] == {"type": "organisation", "id": "kwangju-ilbo"}
    assert article["byline"] == "/박진표 기자 lucky@kwangju.co.kr"
    assert article["author"] == {"type": "person", "id": "park-jin-pyo"}
    assert article["published_on"] == "2023-12-18" and article["page_position"] == 3
    assert {"type": "event", "id": "kimjang-festival-2023"} in article["records"]
    assert {"type": "organisation", "id": "gwangju-metropolitan-city"} in article["records"]  # cited from here too
    assert len(article["records"]) == len({(r["type"], r["id"]) for r in article["records"]})

    assert article["page"] == {
        "file": "000_f27f502ecff37551.txt",
        "sha256": "211514e4e753ad4110f58d81451505ec504fbe6faeccf6b4211ee007305f078d",
        "lines": {"first": 49, "last": 65},
    }

    book = get_json(client, "/v1/sources/school-violence-book-article")["data"]
    assert book["byline"] is None and book["author"] is None and book["page_position"] == 7


def test_korean_is_served_as_utf8_not_escaped(client):
    response = client.get("/v1/events/kimjang-festival-2023")
    raw = response.get_data()
    assert "2023 빛고을사랑나눔김장대전".encode() in raw
    assert b"\\u" not in raw
    assert response.mimetype == "application/json"
    missing = client.get("/v1/events/김장")
    assert missing.status_code == 404
    assert "김장".encode() in missing.get_data() and b"\\u" not in missing.get_data()


# --- include --------------------------------------------------------------------------------


def test_include_subjects_embeds_them_shaped_as_in_their_collection(client):
    body = get_json(client, "/v1/figures?subject=kimjang-festival-2023&include=subjects")
    assert {r["id"] for r in body["data"]} >= {"kimjang-festival-2023-sales-weight", "kimjang-unesco-inscription-anniversary"}
    included = {(r["type"], r["id"]): r for r in body["included"]}
    # The subjects of these figures, each once: the festival and UNESCO.
    assert set(included) == {("event", "kimjang-festival-2023"), ("organisation", "unesco")}
    assert included[("event", "kimjang-festival-2023")] == get_json(client, "/v1/events/kimjang-festival-2023")["data"]
    assert included[("organisation", "unesco")] == get_json(client, "/v1/organisations/unesco")["data"]

    plain = get_json(client, "/v1/figures?subject=kimjang-festival-2023")
    assert "included" not in plain


def test_include_on_every_figure_covers_every_subject(client):
    body = get_json(client, "/v1/figures?limit=500&include=subjects,sources")
    wanted = {(s["type"], s["id"]) for f in body["data"] for s in f["subjects"]}
    wanted |= {("source", c["source"]) for f in body["data"] for c in f["sources"]}
    wanted -= {("figure", f["id"]) for f in body["data"]}  # a rank's subject is the figure ranked, already in data
    assert {(r["type"], r["id"]) for r in body["included"]} == wanted
    for record in body["included"]:
        assert record["sources"] and "name" in record


def test_include_on_one_record(client):
    body = get_json(client, "/v1/people/jeong-jun?include=affiliations,events")
    assert {(r["type"], r["id"]) for r in body["included"]} == {
        ("organisation", "toronto-metropolitan-university"),
        ("organisation", "veyond-metaverse"),
        ("event", "ai-healthcare-digital-twin-workshop-2023"),
    }


def test_include_of_an_unknown_name_is_a_400_naming_include(client):
    for url in ("/v1/figures?include=bogus", "/v1/figures?include=subjects,participants", "/v1/events/kimjang-festival-2023?include=subjects"):
        body = get_json(client, url, status=400)
        assert [e["parameter"] for e in body["errors"]] == ["include"], url
        assert "include" in body["detail"]


# --- what one record costs ------------------------------------------------------------------------

RECORD = "/v1/figures/gwangju-social-economy-fair-edition"


@pytest.fixture(scope="module")
def uncached_app(shared_url):
    app = make_app(shared_url, RESPONSE_CACHE_BYTES=0)
    yield app
    close_app(app)


def selects(statements):
    return [sql for sql in statements if "SELECT" in sql]


@pytest.mark.parametrize("suffix", ["", ".csv", ".jsonld"])
def test_a_record_is_one_statement_and_on_postgresql_one_round_trip(backend, uncached_app, openapi, suffix):
    client = ValidatingClient(uncached_app.test_client(), openapi)
    with sent_statements(uncached_app) as sent:
        response = client.get(RECORD + suffix)
    assert response.status_code == 200
    assert len(selects(sent)) == 1, sent  # the dataset and the record together
    if backend == "postgres":
        assert sent == selects(sent), sent  # no BEGIN, no COMMIT: the statement has its own snapshot


def test_a_record_read_in_one_statement_is_what_the_transaction_read(uncached_app, openapi):
    # ?include= takes the transaction; its `data` must be the record the one statement read.
    client = ValidatingClient(uncached_app.test_client(), openapi)
    alone = client.get(RECORD).json
    with sent_statements(uncached_app) as sent:
        included = client.get(RECORD + "?include=subjects").json
    assert "BEGIN" in sent[0]
    assert included["data"] == alone["data"]
    assert client.get(RECORD).headers["ETag"] == client.get(RECORD).headers["ETag"]


@pytest.mark.parametrize("path", ["/v1/figures/no-such-figure", "/v1/figures/no-such-figure.csv"])
def test_a_record_not_found_is_looked_up_again_with_its_history_in_one_snapshot(backend, uncached_app, openapi, path):
    client = ValidatingClient(uncached_app.test_client(), openapi)
    with sent_statements(uncached_app) as sent:
        response = client.get(path)
    assert response.status_code == 404
    assert "no-such-figure" in response.json["detail"]
    if backend == "postgres":
        # the one statement found nothing; then BEGIN (the dataset read again), the record, the history, COMMIT
        began = next(i for i, sql in enumerate(sent) if "BEGIN" in sql)
        assert began == 1 and sent[-1] == "COMMIT", sent
        assert any("change" in sql for sql in sent[began:]), sent
