"""What the dataset is and under which terms: said once, for the API spec, the data package
and the explorer."""

INFO = {
    "description": (
        "Structured civic facts from one page of Korean local news (광주일보, Kwangju Ilbo), "
        "hand-curated: every record cites its source article with a verbatim quote (`sources[].evidence`), "
        "every number keeps the text as printed (`value_text`) beside its exact value.\n\n"
        "Lists page by keyset cursors (`links.next`, or the `Link` header); every list takes "
        "`limit`, `cursor`, `sort`, `q` and `include`, and answers CSV (UTF-8 with a BOM) to "
        "`Accept: text/csv` or `?format=csv`. One record answers `Accept: application/ld+json` with "
        "JSON-LD in schema.org terms. Errors are RFC 9457 `application/problem+json`.\n\n"
        "For people: the explorer (HTML, Korean and English) is at `/`, and the whole dataset downloads "
        "as CSV files with a Frictionless data package (`/v1/downloads/dataset.zip`) or as SQLite "
        "(`/v1/downloads/dataset.sqlite`)."
    ),
    "contact": {"name": "civicfacts maintainers", "url": "https://civicfacts.example/"},
    "license": {"name": "Facts: quotes are short excerpts of the cited articles", "identifier": "CC-BY-4.0"},
}
