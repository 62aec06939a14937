"""A record in schema.org terms, as JSON-LD: what `Accept: application/ld+json` answers and
what the explorer embeds in each record's page.

Events are `Event`; organisations `GovernmentOrganization` (the government kinds) or
`Organization`; programmes `GovernmentService`; figures `Observation`, their number a
`QuantitativeValue`; sources `NewsArticle`; people `Person`; places `Place`. Names carry
their language (`@language` ko / en); every quote is a `Quotation` (`subjectOf`, which any
Thing may have) that `isPartOf` its article, so the provenance survives the translation into
schema.org. Related records are `@id` references to their own JSON-LD, at their API URLs.
"""

from api.store.models import TYPE_COLLECTIONS

JSONLD = "application/ld+json"
CONTEXT_PATH = "/v1/context.jsonld"  # served by the API (context_document), named by every document
# schema.org's own context maps its terms to http://schema.org/; so does ours, so that a
# document means the same triples whichever of the two a processor reads.
VOCABULARY = "http://schema.org/"
# Every schema.org class and property the documents use (tests/test_jsonld.py proves none is
# missing): a processor expands them from this one small file, fetched once, or read offline.
CLASSES = (
    "Audience", "Event", "GovernmentOrganization", "GovernmentService", "NewsArticle", "Observation",
    "Offer", "Organization", "Person", "Place", "QuantitativeValue", "Quotation",
)  # fmt: skip
PROPERTIES = (
    "about", "affiliation", "alternateName", "alternativeHeadline", "areaServed", "attendee",
    "audience", "audienceType", "author", "containedInPlace", "containsPlace", "contributor",
    "creditText", "datePublished", "description", "endDate", "event", "headline", "identifier",
    "inLanguage", "isPartOf", "isRelatedTo", "jobTitle", "location", "maxValue", "member",
    "mentions", "minValue", "name", "observationAbout", "observationDate", "observationPeriod",
    "offers", "organizer", "parentOrganization", "performer", "position", "provider", "publisher",
    "serviceOperator", "serviceType", "sponsor", "startDate", "subOrganization", "subjectOf", "text",
    "unitCode", "unitText", "url", "value", "variableMeasured",
)  # fmt: skip
# As in schema.org's context: a URL is a node, not a string.
AS_NODE = ("url",)


def context_document():
    """The JSON-LD context every document names: schema.org's terms we use, nothing else."""
    terms = {term: VOCABULARY + term for term in CLASSES}
    terms.update({term: {"@id": VOCABULARY + term, "@type": "@id"} if term in AS_NODE else VOCABULARY + term for term in PROPERTIES})
    return {"@context": {"@vocab": VOCABULARY, "schema": VOCABULARY, **dict(sorted(terms.items()))}}


# The schema.org type of each record type (an organisation is Organization or GovernmentOrganization).
SCHEMA_ORG_TYPES = {
    "event": ("Event",),
    "organisation": ("Organization", "GovernmentOrganization"),
    "programme": ("GovernmentService",),
    "figure": ("Observation",),
    "source": ("NewsArticle",),
    "person": ("Person",),
    "place": ("Place",),
}
GOVERNMENT_KINDS = {
    "local_government",
    "government_department",
    "local_council",
    "council_committee",
    "ministry",
    "government_office",
    "public_agency",
}
# An event participant's role, as the schema.org property of Event that fits it best.
EVENT_ROLES = {
    "organiser": "organizer",
    "host": "organizer",
    "co_organiser": "organizer",
    "sponsor": "sponsor",
    "presenter": "performer",
    "donor": "contributor",
    "author": "contributor",
    "illustrator": "contributor",
    "publisher": "contributor",
}
# UN/CEFACT common codes, which schema.org's unitCode takes, for the units that have one.
UNIT_CODES = {"percent": "P1", "t": "TNE", "kg": "KGM", "person": "IE", "year": "ANN"}


def _texts(text):
    """{ko, en} -> language-tagged values."""
    if not text:
        return None
    return [{"@value": text[lang], "@language": lang} for lang in ("ko", "en") if text.get(lang)]


def _dates(start, end):
    return {key: value for key, value in (("startDate", start), ("endDate", end)) if value}


def to_jsonld(record, base_url):
    """The schema.org JSON-LD of one record as the API represents it (api/query/records.py), its
    links under `base_url` (the API's root: `https://host/`)."""
    base = base_url.rstrip("/")

    def node(ref):
        return {"@id": f"{base}/v1/{TYPE_COLLECTIONS[ref['type']]}/{ref['id']}"} if ref else None

    def nodes(refs):
        return [node(ref) for ref in refs]

    out = {
        "@context": base + CONTEXT_PATH,
        "@id": node(record)["@id"],
        "identifier": record["id"],
        "name": _texts(record["name"]),
        "url": f"{base}/explore/{TYPE_COLLECTIONS[record['type']]}/{record['id']}",
        "alternateName": record["other_names"] or None,
        "description": {"@value": record["note"], "@language": "en"} if record["note"] else None,
        "subjectOf": [
            {"@type": "Quotation", "text": {"@value": c["evidence"], "@language": "ko"}, "isPartOf": node({"type": "source", "id": c["source"]})}
            for c in record["sources"]
        ],
    }
    out.update(SHAPES[record["type"]](record, node, nodes))
    return {key: value for key, value in out.items() if value not in (None, [], {})}


def _event(record, node, nodes):
    roles = {}
    for participant in record["participants"]:
        roles.setdefault(EVENT_ROLES.get(participant["role"], "attendee"), []).append(node(participant))
    return {
        "@type": "Event",
        **_dates(record["start_date"], record["end_date"]),
        "location": node(record["place"]),
        "about": nodes(record["programmes"]),
        **roles,
    }


def _organisation(record, node, nodes):
    return {
        "@type": "GovernmentOrganization" if record["kind"] in GOVERNMENT_KINDS else "Organization",
        "parentOrganization": node(record["parent"]),
        "subOrganization": nodes(record["children"]),
        "member": nodes(record["members"]),
    }


def _programme(record, node, nodes):
    audience = _texts(record["eligibility"])
    return {
        "@type": "GovernmentService",
        "serviceType": record["kind"],
        "provider": nodes(record["operators"]),
        "serviceOperator": nodes([o for o in record["operators"] if o["role"] in ("operator", "delivery_agency")]),
        "areaServed": nodes(record["places"]),
        "audience": {"@type": "Audience", "audienceType": audience} if audience else None,
        "offers": [{"@type": "Offer", "description": _texts(benefit)} for benefit in record["benefits"]],
        "isRelatedTo": nodes(([record["parent"]] if record["parent"] else []) + record["parts"]),
    }


def _figure(record, node, nodes):
    value = {
        "@type": "QuantitativeValue",
        "value": record["value"],
        "unitText": record["unit"],
        "unitCode": UNIT_CODES.get(record["unit"]),
        "description": {"@value": record["value_text"], "@language": "ko"},
    }
    if record["qualifier"] == "at_least":
        value["minValue"] = record["value"]
    elif record["qualifier"] == "at_most":
        value["maxValue"] = record["value"]
    period = record["period"]
    return {
        "@type": "Observation",
        "observationAbout": nodes(record["subjects"]),
        "variableMeasured": record["name"]["en"],
        "value": {key: v for key, v in value.items() if v is not None},
        "observationDate": record["as_of"],
        "observationPeriod": f"{period['start'] or '..'}/{period['end'] or '..'}" if period else None,
    }


def _source(record, node, nodes):
    return {
        "@type": "NewsArticle",
        "headline": record["headline"],
        "alternativeHeadline": record["subheadlines"],
        "inLanguage": "ko",
        "datePublished": record["published_on"],
        "publisher": node(record["publication"]),
        "author": node(record["author"]),
        "creditText": record["byline"],
        "position": record["page_position"],
        "mentions": nodes(record["records"]),
    }


def _person(record, node, nodes):
    return {
        "@type": "Person",
        "affiliation": nodes([a["organisation"] for a in record["affiliations"]]),
        "jobTitle": [title for a in record["affiliations"] for title in _texts(a["title"]) or []],
    }


def _place(record, node, nodes):
    return {
        "@type": "Place",
        "containedInPlace": node(record["parent"]),
        "containsPlace": nodes(record["children"]),
        "event": nodes(record["events"]),
    }


SHAPES = {
    "event": _event,
    "organisation": _organisation,
    "programme": _programme,
    "figure": _figure,
    "source": _source,
    "person": _person,
    "place": _place,
}
