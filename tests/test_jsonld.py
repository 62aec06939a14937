"""JSON-LD: `Accept: application/ld+json` on a record answers schema.org terms, on SQLite and
PostgreSQL, for every record of every collection, and the explorer embeds the same. Every
document names the API's own context (/v1/context.jsonld), which defines every term used, so
a JSON-LD processor expands them with no network: a document loader that refuses the network
proves it."""

import json
from urllib.parse import urlsplit

import pytest
from pyld import jsonld as pyld

from api.store import models as m
from tests.html_page import parse

JSONLD = "application/ld+json"
GOVERNMENT = {"local_government", "government_department", "local_council", "council_committee", "ministry", "government_office", "public_agency"}


def everything(client):
    return [r for c in m.RECORD_MODELS for r in client.get(f"/v1/{c}?limit=500").get_json()["data"]]


def jsonld(client, record):
    response = client.get(f"/v1/{m.TYPE_COLLECTIONS[record['type']]}/{record['id']}", headers={"Accept": JSONLD})
    assert response.status_code == 200 and response.mimetype == JSONLD, response.get_data()[:300]
    return response.get_json(force=True)


def node_ids(value):
    if isinstance(value, dict):
        if set(value) == {"@id"}:
            yield value["@id"]
        for child in value.values():
            yield from node_ids(child)
    elif isinstance(value, list):
        for child in value:
            yield from node_ids(child)


EXPECTED_TYPE = {
    "event": "Event",
    "programme": "GovernmentService",
    "figure": "Observation",
    "source": "NewsArticle",
    "person": "Person",
    "place": "Place",
}


def test_every_record_answers_json_ld_in_schema_org_terms(client):
    records = everything(client)
    urls = {f"http://localhost/v1/{m.TYPE_COLLECTIONS[r['type']]}/{r['id']}" for r in records}
    for record in records:
        document = jsonld(client, record)
        assert document["@context"] == "http://localhost/v1/context.jsonld"
        assert document["@id"] == f"http://localhost/v1/{m.TYPE_COLLECTIONS[record['type']]}/{record['id']}"
        assert document["identifier"] == record["id"]
        expected = EXPECTED_TYPE.get(record["type"])
        if record["type"] == "organisation":
            expected = "GovernmentOrganization" if record["kind"] in GOVERNMENT else "Organization"
        assert document["@type"] == expected, record["id"]
        assert {"@value": record["name"]["ko"], "@language": "ko"} in document["name"]
        assert urlsplit(document["url"]).path == f"/explore/{m.TYPE_COLLECTIONS[record['type']]}/{record['id']}"
        # Provenance survives: each quote is a Quotation that is part of its article.
        quotes = [q for q in document["subjectOf"] if q["@type"] == "Quotation"]
        assert [(q["text"]["@value"], q["isPartOf"]["@id"].rsplit("/", 1)[1]) for q in quotes] == [
            (c["evidence"], c["source"]) for c in record["sources"]
        ]
        for node in node_ids(document):
            assert node in urls, (record["id"], node)  # every link names a record that exists


def test_a_figure_is_an_observation_with_a_quantitative_value(client):
    for figure in client.get("/v1/figures?limit=500").get_json()["data"]:
        document = jsonld(client, figure)
        value = document["value"]
        assert value["@type"] == "QuantitativeValue"
        assert value["value"] == figure["value"] and value.get("unitText") == figure["unit"]
        assert value["description"]["@value"] == figure["value_text"]
        if figure["qualifier"] == "at_least":
            assert value["minValue"] == figure["value"]
        subjects = {node["@id"].rsplit("/", 1)[1] for node in document["observationAbout"]}
        assert subjects == {s["id"] for s in figure["subjects"]}
        assert document.get("observationDate") == figure["as_of"]
        if figure["period"]:
            assert document["observationPeriod"] == f"{figure['period']['start'] or '..'}/{figure['period']['end'] or '..'}"


def test_events_programmes_and_articles_carry_their_own_terms(client):
    event = jsonld(client, {"type": "event", "id": "ai-healthcare-digital-twin-workshop-2023"})
    assert event["startDate"] == event["endDate"] == "2023-12-14"
    assert event["location"] == {"@id": "http://localhost/v1/places/kimdaejung-convention-center"}
    assert len(event["organizer"]) == 2 and len(event["attendee"]) == 6  # the host and co-organiser; six attendees
    article = jsonld(client, {"type": "source", "id": "kimjang-festival-article"})
    assert article["@type"] == "NewsArticle" and article["inLanguage"] == "ko"
    assert article["datePublished"] == "2023-12-18" and article["headline"]
    assert article["publisher"]["@id"].startswith("http://localhost/v1/organisations/")
    scheme = jsonld(client, {"type": "programme", "id": "sme-special-support-area-scheme"})
    assert scheme["@type"] == "GovernmentService" and len(scheme["areaServed"]) == 4
    assert len(scheme["isRelatedTo"]) == len(client.get("/v1/programmes?parent=sme-special-support-area-scheme").get_json()["data"])
    research = jsonld(client, {"type": "programme", "id": "ai-healthcare-digital-twin-joint-research"})
    assert len(research["provider"]) == 4 and len(research["serviceOperator"]) == 2  # partners provide; operators operate


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("application/json, application/ld+json;q=0.5", "application/json"),
        ("application/ld+json", JSONLD),
        ("text/csv", "text/csv"),
    ],
)
def test_json_stays_the_default_and_json_ld_is_asked_for(client, accept, media):
    response = client.get("/v1/events/kimjang-festival-2023", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media
    assert "Accept" in response.headers["Vary"]


def test_a_list_does_not_pretend_to_speak_json_ld(client):
    response = client.get("/v1/events", headers={"Accept": JSONLD})
    assert response.status_code == 406 and response.mimetype == "application/problem+json"


def test_the_explorer_page_embeds_the_same_json_ld(client):
    record = {"type": "figure", "id": "kimjang-festival-2023-sales-growth"}
    page = parse(client.get("/explore/figures/kimjang-festival-2023-sales-growth").get_data(as_text=True))
    (script,) = page.find_all("script", type=JSONLD)
    assert json.loads(script.text()) == jsonld(client, record)
    alternate = page.find("link", rel="alternate", type=JSONLD)
    assert alternate.attrs["href"] == "/v1/figures/kimjang-festival-2023-sales-growth"


# --- the context, offline ---------------------------------------------------------------------


class NoNetwork(Exception):
    pass


def offline_loader(client):
    """A pyld document loader that answers the API's context from the app, and refuses anything
    else: a document that needs schema.org's context (or any other URL) fails to expand."""

    def load(url, options=None):
        if urlsplit(url).path != "/v1/context.jsonld" or not url.startswith("http://localhost/"):
            raise NoNetwork(url)
        response = client.get("/v1/context.jsonld", headers={"Accept": JSONLD})
        return {"contentType": response.mimetype, "contextUrl": None, "documentUrl": url, "document": response.get_json(force=True)}

    return load


def used_terms(value):
    if isinstance(value, dict):
        for key, child in value.items():
            if not key.startswith("@"):
                yield key
            elif key == "@type" and isinstance(child, str):
                yield child
            yield from used_terms(child)
    elif isinstance(value, list):
        for child in value:
            yield from used_terms(child)


def test_the_context_is_served_with_an_etag_and_long_caching(client):
    response = client.get("/v1/context.jsonld")
    assert response.status_code == 200 and response.mimetype == JSONLD
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    context = response.get_json(force=True)["@context"]
    assert context["@vocab"] == "http://schema.org/" and context["Observation"] == "http://schema.org/Observation"
    assert client.get("/v1/context.jsonld", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert client.get("/v1/context.jsonld", headers={"Accept": "application/json"}).mimetype == "application/json"


def test_every_document_expands_offline_with_every_term_defined(client):
    context = client.get("/v1/context.jsonld").get_json(force=True)["@context"]
    triples = 0
    for record in everything(client):
        document = jsonld(client, record)
        assert set(used_terms(document)) <= set(context), record["id"]  # each term defined, not left to @vocab
        expanded = pyld.expand(document, {"documentLoader": offline_loader(client)})
        (node,) = expanded
        assert node["@id"] == document["@id"]
        assert "http://schema.org/identifier" in node and all(t.startswith("http://schema.org/") for t in node["@type"])
        triples += len(pyld.to_rdf(document, {"documentLoader": offline_loader(client), "format": "application/n-quads"}).splitlines())
    assert triples > 2000


def test_the_explorer_document_expands_offline_too(client):
    page = parse(client.get("/explore/events/kimjang-festival-2023").get_data(as_text=True))
    (script,) = page.find_all("script", type=JSONLD)
    document = json.loads(script.text())
    assert document["@context"] == "http://localhost/v1/context.jsonld"
    (node,) = pyld.expand(document, {"documentLoader": offline_loader(client)})
    assert node["@type"] == ["http://schema.org/Event"]


def test_schema_orgs_context_would_need_the_network(client):
    """The loader does refuse: a document naming schema.org's context cannot expand offline."""
    with pytest.raises(pyld.JsonLdError):
        pyld.expand({"@context": "https://schema.org", "name": "x"}, {"documentLoader": offline_loader(client)})
