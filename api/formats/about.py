"""What the dataset is and under which terms: said once, for the API spec, the data package
and the explorer."""

INFO = {
    "description": (
        "Structured civic facts from one page of Korean local news (광주일보, Kwangju Ilbo), "
        "hand-curated: every record cites its source article with a verbatim quote (`sources[].evidence`), "
        "every number keeps the text as printed (`value_text`) beside its exact value.\n\n"
        "Lists page by keyset cursors (`links.next`, or the `Link` header); every list takes "
        "`limit`, `cursor`, `sort`, `q` and `include`. CSV (UTF-8 with a BOM) of every matching row is at "
        "the list's path with `.csv` (`/v1/figures.csv`), one record's at `/v1/figures/{id}.csv`, its JSON-LD "
        "in schema.org terms at `/v1/figures/{id}.jsonld`: each is an operation of its own, so generated clients "
        "read each answer as what it is (`Accept: text/csv` or `application/ld+json` on the JSON paths work too). "
        "Errors are RFC 9457 `application/problem+json`.\n\n"
        "For people: the explorer (HTML, Korean and English) is at `/`, and the whole dataset downloads "
        "as CSV files with a Frictionless data package (`/v1/downloads/dataset.zip`) or as SQLite "
        "(`/v1/downloads/dataset.sqlite`)."
    ),
    "contact": {"name": "civicfacts maintainers", "url": "https://civicfacts.example/"},
    "license": {"name": "Facts: quotes are short excerpts of the cited articles", "identifier": "CC-BY-4.0"},
}
