"""The explorer's HTML pages, read with the Flask test client on SQLite and PostgreSQL: every
record has a page with its quotes, every filter lists what the API lists, errors stay
problem+json, pages are accessible in their structure, and a page's cost in queries does
not grow with the rows it shows. The browser's view is in test_explorer_browser.py."""

from decimal import Decimal

import pytest

from api.formats.charts import UNGROUPED_UNITS, number_text
from api.store import models as m
from api.store.db import open_database
from tests.html_page import parse, squash
from tests.support import ValidatingClient, close_app, make_app, recompile, request_queries

COLLECTIONS = list(m.RECORD_MODELS)
HTML = "text/html"


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    if status == 200:
        assert response.mimetype == HTML
    return parse(response.get_data(as_text=True))


def api(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    return response.get_json()


def everything(client):
    return {r["id"]: r for c in COLLECTIONS for r in api(client, f"/v1/{c}?limit=500")["data"]}


def record_url(ref):
    return f"/explore/{m.TYPE_COLLECTIONS[ref['type']]}/{ref['id']}"


def refs_in(value):
    if isinstance(value, dict):
        if value.get("type") in m.TYPE_COLLECTIONS and "id" in value:
            yield value
        if "source" in value and "evidence" in value:
            yield {"type": "source", "id": value["source"]}
        for child in value.values():
            yield from refs_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from refs_in(child)


def listed_ids(document, collection):
    """The record ids a list page shows, in its order."""
    prefix = f"/explore/{collection}/"
    table = document.find("tbody")
    if table is None:
        return []
    return [row.find("a").attrs["href"].removeprefix(prefix) for row in table.find_all("tr")]


# --- the home page ----------------------------------------------------------------------


def test_home_page_counts_every_collection_and_links_every_article_and_download(client):
    document = page(client, "/")
    index = api(client, "/v1")["data"]
    cards = {a.attrs["href"]: a for a in document.find("ul", class_="cards").find_all("a")}
    for name, entry in index["collections"].items():
        assert cards[f"/explore/{name}"].find("span", class_="count").text() == str(entry["count"])
    hrefs = {a.attrs.get("href") for a in document.find_all("a")}
    for source in api(client, "/v1/sources?limit=500")["data"]:
        assert f"/explore/sources/{source['id']}" in hrefs
        assert source["headline"] in document.text()
    assert index["links"]["download_zip"] in hrefs and index["links"]["download_sqlite"] in hrefs
    assert document.find("html").attrs["lang"] == "ko"


# --- one page per record --------------------------------------------------------------------


def test_every_record_has_a_page_with_every_field_its_quotes_and_links_to_what_it_names(client):
    records = everything(client)
    for record in records.values():
        url = record_url(record)
        document = page(client, url)
        assert len(document.find_all("h1")) == 1
        assert record["name"]["ko"] in document.find("h1").text()
        # Each quote stands in its sentence, marked: the blockquote is the sentence, the mark the quote.
        blocks = document.find("section", class_="quotes").find_all("blockquote")
        assert [squash(b.find("mark", class_="evidence").text()) for b in blocks] == [squash(c["evidence"]) for c in record["sources"]], url
        for block, citation in zip(blocks, record["sources"], strict=True):
            assert squash(block.text()) == squash(citation["context"]["text"]), (url, citation)
        if record["type"] == "figure":  # and in the quote, the number as printed
            strong = [s.text() for b in blocks for s in b.find_all("strong")]
            assert any(s.replace(" ", "") == record["value_text"].replace(" ", "") for s in strong), (url, strong)
        rows = {row.find("code").text() for row in document.find("table", class_="fields").find_all("th")}
        assert rows == set(record), url
        hrefs = {a.attrs.get("href") for a in document.find_all("a")}
        for key, value in record.items():
            for ref in refs_in(value):
                assert record_url(ref) in hrefs, (url, key, ref)


def test_a_figure_page_shows_the_print_the_value_its_qualifier_period_and_checks(client):
    for figure in api(client, "/v1/figures?limit=500")["data"]:
        document = page(client, record_url(figure))
        facts = document.find("dl", class_="facts")
        text = squash(facts.text())
        assert facts.find("dd", class_="printed").text() == figure["value_text"]
        if figure["value"] is not None:
            assert facts.find("data").attrs["value"] == str(figure["value"])
            assert number_text(Decimal(str(figure["value"])), figure["unit"]) in text
        assert f"{figure['qualifier']}" in text
        for day in filter(None, [*(figure["period"] or {}).values(), figure["as_of"]]):
            assert day in text, figure["id"]
        checks = document.find("ul", class_="checks")
        assert (checks is not None) == bool(figure["checks"]), figure["id"]
        for check, item in zip(figure["checks"], checks.find_all("li") if checks else [], strict=True):
            assert squash(check["detail"]) in squash(item.text())
            assert item.find("span", class_="holds" if check["holds"] else "fails") is not None


def test_a_breakdown_is_charted_against_its_total_with_a_table_of_its_numbers(client):
    wholes = [f for f in api(client, "/v1/figures?limit=500")["data"] if f["parts"]]
    assert wholes
    for whole in wholes:
        parts = [api(client, f"/v1/figures/{p['id']}")["data"] for p in whole["parts"]]
        chart = page(client, record_url(whole)).find("figure", class_="chart")
        svg = chart.find("svg")
        assert svg.attrs["role"] == "img"
        title_id, desc_id = svg.attrs["aria-labelledby"].split()
        assert svg.find("title", id=title_id) and svg.find("desc", id=desc_id)
        assert whole["value_text"] in svg.find("desc").text()
        # The total, the parts stacked, then each part: one bar for the total, two for each part.
        assert len(svg.find_all("rect", class_="bar")) == 1 + 2 * len(parts)
        widths = [float(r.attrs["width"]) for r in svg.find_all("rect", class_="bar")]
        assert widths[0] == pytest.approx(sum(widths[1 : 1 + len(parts)]), abs=0.2)  # parts that add up fill the total
        cells = [squash(td.text()) for td in chart.find("table").find_all("td")]
        for part in parts:
            assert part["value_text"] in cells and part["name"]["en"] in chart.find("table").text()
        assert [t.attrs["lang"] for t in svg.find_all("tspan") if "lang" in t.attrs][:2] == ["ko", "en"]


def test_a_growth_rate_is_charted_with_both_of_its_values(client):
    rates = [f for f in api(client, "/v1/figures?limit=500")["data"] if f["comparisons"]]
    assert rates
    for rate in rates:
        comparison = rate["comparisons"][0]
        base, current = (api(client, f"/v1/figures/{comparison[side]['id']}")["data"] for side in ("base", "current"))
        chart = page(client, record_url(rate)).find("figure", class_="chart")
        svg = chart.find("svg")
        bars = svg.find_all("rect", class_="bar")
        assert len(bars) == 2
        ratio = float(bars[0].attrs["width"]) / float(bars[1].attrs["width"])
        assert ratio == pytest.approx(base["value"] / current["value"], rel=1e-3)
        description = svg.find("desc").text()
        assert base["value_text"] in description and current["value_text"] in description and rate["value_text"] in description


def test_a_year_rank_or_edition_has_no_thousands_separator_in_the_list_or_on_its_page(client):
    labels = [f for f in api(client, "/v1/figures?limit=500")["data"] if f["unit"] in UNGROUPED_UNITS and f["value"] is not None]
    assert any(f["value"] >= 1000 for f in labels)  # the festival's first year, 2014
    for figure in labels:
        written, grouped = number_text(figure["value"], figure["unit"]), number_text(figure["value"])
        assert "," not in written
        listing = squash(page(client, f"/explore/figures?unit={figure['unit']}").text())
        text = squash(page(client, record_url(figure)).text())
        assert written in listing and written in text, figure["id"]
        if grouped != written:
            assert grouped not in listing and grouped not in text, figure["id"]


def test_an_article_page_lists_every_record_taken_from_it_with_its_quotes(client):
    for source in api(client, "/v1/sources?limit=500")["data"]:
        section = page(client, record_url(source)).find("section", aria_labelledby="h-cited")
        items = section.find("ol").find_all("li")
        assert [item.find("a").attrs["href"] for item in items] == [record_url(r) for r in source["records"]]
        for item in items:
            assert item.find("blockquote") is not None


def test_unknown_records_and_collections_are_404_problem_json(client):
    for url in (
        "/explore/figures/no-such-figure",
        "/explore/nowhere/kimjang-festival-2023",
        "/explore/figures/BAD%20ID",
        "/explore/events/kimjang-festival-2023-sales-amount",
    ):
        response = client.get(url)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", url


# --- filters ----------------------------------------------------------------------------------


def form_of(client, collection):
    form = page(client, f"/explore/{collection}").find("form")
    controls = form.find_all("select") + form.find_all("input")
    return form, {c.attrs["name"]: c for c in controls}


@pytest.mark.slow
@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_choice_of_every_filter_lists_what_the_api_lists(client, collection):
    _, controls = form_of(client, collection)
    blank = {name: "" for name in controls}
    for name, control in controls.items():
        if control.tag != "select" or name == "sort":
            continue
        values = [o.attrs["value"] for o in control.find_all("option") if o.attrs["value"]]
        assert values, name
        for value in values:
            shown = listed_ids(page(client, f"/explore/{collection}?" + "&".join(f"{k}={value if k == name else ''}" for k in blank)), collection)
            expected = [r["id"] for r in api(client, f"/v1/{collection}?limit=50&{name}={value}")["data"]]
            assert shown == expected, (name, value)


@pytest.mark.parametrize(
    "query",
    [
        "q=김장",
        "min=1000&max=100000000",
        "from=2023-12-01&to=2023-12-31",
        "sort=-value",
        "unit=KRW&sort=-value",
        "qualifier=at_least",
    ],
)
def test_free_text_number_date_and_sort_filters_match_the_api(client, query):
    shown = listed_ids(page(client, f"/explore/figures?{query}"), "figures")
    assert shown == [r["id"] for r in api(client, f"/v1/figures?limit=50&{query}")["data"]]


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_a_blank_form_lists_everything(client, collection):
    form, controls = form_of(client, collection)
    assert form.attrs["method"] == "get" and form.attrs["action"] == f"/explore/{collection}"
    blank = "&".join(f"{name}=" for name in controls)
    everything_listed = listed_ids(page(client, f"/explore/{collection}"), collection)
    assert listed_ids(page(client, f"/explore/{collection}?{blank}"), collection) == everything_listed


def test_the_form_keeps_the_chosen_filter_and_links_the_same_list_as_csv(client):
    document = page(client, "/explore/figures?unit=KRW&q=")
    selected = document.find("select", name="unit").find("option", selected=True)
    assert selected.attrs["value"] == "KRW"
    csv_link = next(a for a in document.find_all("a") if a.attrs.get("href", "").startswith("/v1/figures.csv?"))
    response = client.get(csv_link.attrs["href"])
    assert response.mimetype == "text/csv" and response.get_data(as_text=True).count("\r\n") - 1 == len(listed_ids(document, "figures"))


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("unit=KR%20W", "unit"), ("min=lots", "min"), ("from=2023-13-45", "from"), ("colour=red", "colour"), ("subject=Not_A_Slug", "subject")],
)
def test_a_bad_filter_is_a_400_problem_naming_it(client, query, parameter):
    response = client.get(f"/explore/figures?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert parameter in response.get_json()["detail"]


# --- HTTP: caching, negotiation, security headers -------------------------------------------


def test_pages_revalidate_with_their_etag(client):
    for url in ("/", "/explore/figures?unit=KRW", "/explore/events/kimjang-festival-2023", "/explore/explorer.css"):
        first = client.get(url)
        assert first.headers["ETag"] and first.headers["Cache-Control"]
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, url


def test_a_page_for_an_accept_it_cannot_meet_is_406(client):
    response = client.get("/explore/figures", headers={"Accept": "application/json"})
    assert response.status_code == 406 and response.mimetype == "application/problem+json"
    assert client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}).status_code == 200


def test_pages_run_no_script_and_load_nothing_from_elsewhere(client):
    for url in ("/", "/explore/programmes", "/explore/figures/small-business-online-support-companies-2023", "/explore/sources"):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "unsafe-inline" not in policy and "script-src" not in policy
        document = parse(response.get_data(as_text=True))
        assert all(s.attrs.get("type") == "application/ld+json" for s in document.find_all("script")), url
        assert not document.find_all("style") and not [e for e in document.walk() if "style" in e.attrs]
        for element in document.walk():
            for attribute in ("href", "src", "action"):
                target = element.attrs.get(attribute, "")
                assert not target.startswith(("http:", "https:", "//")) or element.tag == "a", (url, element.tag, target)
    css = client.get("/explore/explorer.css")
    assert css.mimetype == "text/css" and b"mark" in css.get_data()


# --- accessibility in the markup ------------------------------------------------------------


def heading_levels(document):
    return [int(e.tag[1]) for e in document.walk() if e.tag in ("h1", "h2", "h3", "h4", "h5", "h6")]


def test_pages_have_one_h1_headings_in_order_and_a_label_for_every_control(client):
    urls = ["/", *(f"/explore/{c}" for c in COLLECTIONS), *(record_url(r) for c in COLLECTIONS for r in api(client, f"/v1/{c}?limit=2")["data"])]
    for url in urls:
        document = page(client, url)
        levels = heading_levels(document)
        assert levels[0] == 1 and levels.count(1) == 1, (url, levels)
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), (url, levels)
        labels = {label.attrs.get("for") for label in document.find_all("label")}
        for control in document.find_all("input") + document.find_all("select"):
            assert control.attrs.get("id") in labels, (url, control.attrs)
        for svg in document.find_all("svg"):
            assert svg.attrs["role"] == "img" and all(svg.find(id=i) for i in svg.attrs["aria-labelledby"].split())
        assert document.find("title").text().strip()
        assert all(e.attrs["lang"] in ("ko", "en") for e in document.walk() if "lang" in e.attrs)


# --- cost: no N+1 ------------------------------------------------------------------------------


def without_id(row):
    return {key: value for key, value in row.items() if key != "id"}  # the database numbers link rows


def copy_records(url, copies):
    """Add `copies` copies of every record, with their quotes (and a figure's subjects and checks),
    straight into the database, so that pages have more rows to show."""
    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS), database.atomic():
        for collection, model in m.RECORD_MODELS.items():
            record_type = m.RECORD_TYPES[collection]
            rows = list(model.select().dicts())
            citations = list(m.Citation.select().where(m.Citation.record_type == record_type).dicts())
            for k in range(copies):
                model.insert_many([{**row, "id": f"{row['id']}-copy-{k}"} for row in rows]).execute()
                m.Citation.insert_many([{**without_id(c), "record_id": f"{c['record_id']}-copy-{k}"} for c in citations]).execute()
        for link in (m.FigureSubject, m.FigureCheck):
            rows = list(link.select().dicts())
            for k in range(copies):
                link.insert_many([{**without_id(row), "figure": f"{row['figure']}-copy-{k}"} for row in rows]).execute()
        # Data changes only by a load, and the API keeps its answers per load (api/web/response_cache.py): say so.
        loaded = m.Dataset.select().order_by(m.Dataset.id.desc()).get()
        m.Dataset.create(version=f"{loaded.version}-with-copies", loaded_at=loaded.loaded_at)
    database.close()
    recompile(url)


def cost(client, url):
    with request_queries(client) as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


@pytest.fixture
def uncached_client(loaded, openapi):
    """An app on this test's own database with no response cache: what a page itself costs,
    without the cache's look at the dataset's version (made only for a URL it keeps)."""
    app = make_app(loaded, RESPONSE_CACHE_BYTES=0)
    yield ValidatingClient(app.test_client(), openapi)
    close_app(app)


def test_a_page_costs_no_more_queries_however_many_rows_there_are(uncached_client, loaded):
    client = uncached_client
    lists = [f"/explore/{c}" for c in COLLECTIONS]
    records = ["/", "/explore/sources/kimjang-festival-article", "/explore/figures/small-business-online-support-companies-2023"]
    before = {url: cost(client, url) for url in lists + records}
    shown = {url: len(listed_ids(page(client, url), url.rsplit("/", 1)[1])) for url in lists}
    copy_records(loaded, 3)
    after = {url: cost(client, url) for url in lists + records}
    for url in lists:
        assert len(listed_ids(page(client, url), url.rsplit("/", 1)[1])) == min(50, 4 * shown[url])
        # A list costs one query per related collection on the page, never one per row: more rows
        # (on a page that may name fewer kinds of record) cost no more.
        assert after[url] <= before[url], (url, before[url], after[url])
    for url in records:
        assert after[url] == before[url], (url, before[url], after[url])  # four times the quotes, the same queries
    # a fixed cost per related collection: the figures' list names figures too (a rank's
    # subject is the figure ranked) and so represents them, hence more than the others
    assert max(before.values()) <= 70, before


def test_list_pages_page_through_every_row(writable_client, loaded):
    copy_records(loaded, 2)
    for collection in ("figures", "organisations"):
        expected = [r["id"] for r in api(writable_client, f"/v1/{collection}?limit=500&sort=-name_en")["data"]]
        shown, url = [], f"/explore/{collection}?sort=-name_en&q="
        while url:
            document = page(writable_client, url)
            shown += listed_ids(document, collection)
            following = document.find("a", rel="next")
            url = following.attrs["href"] if following else None
        assert shown == expected and len(shown) > 50, collection


def test_a_filter_with_too_many_records_to_list_takes_an_id_instead(fresh_client, monkeypatch):
    from api.web.explorer import forms as filters

    monkeypatch.setattr(filters, "MAX_CHOICES", 3)
    _, controls = form_of(fresh_client, "figures")
    assert controls["source"].tag == "input" and controls["subject"].tag == "input"  # 7 sources, 20-odd subjects
    assert controls["unit"].tag == "select"  # a vocabulary is listed whatever its size
    shown = listed_ids(page(fresh_client, "/explore/figures?source=kimjang-festival-article&subject="), "figures")
    assert shown == [r["id"] for r in api(fresh_client, "/v1/figures?source=kimjang-festival-article")["data"]]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/explore/figures?q=%00", 400),
        ("/explore/figures?q=%zz", 400),
        ("/explore/figures?q=%ff", 400),
        ("/explore/figures?unit=KRW&unit=t", 400),
        ("/?page=2", 400),
        ("/explore/explorer.css?v=1", 400),
        ("/explore/figures/kimjang%00", 404),
        ("/explore/figures/..%2f..%2fetc", 404),
        ("/explore/figures?cursor=forged", 400),
    ],
)
def test_hostile_input_to_the_explorer_is_a_4xx_problem(client, url, status):
    response = client.get(url)
    assert response.status_code == status and response.mimetype == "application/problem+json", (url, response.status_code)
