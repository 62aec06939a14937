"""The explorer in a real browser (headless Debian chromium, on SQLite and PostgreSQL): a
newcomer goes from the home page to a number, sees its chart and the quote it came from,
follows it to its article and its subject, filters a list without JavaScript and downloads
everything; axe-core finds no accessibility violation. Screenshots go to artifacts/explorer/."""

import sqlite3
import zipfile

import pytest

from api.ingest.pages import squash

# The fixtures explorer_visit and those it builds on (explorer_app, explorer_server).
pytest_plugins = ["tests.browser_support"]

BREAKDOWN = "small-business-online-support-companies-2023"
GROWTH = "kimjang-festival-2023-sales-growth"


@pytest.fixture
def visit(explorer_visit):
    return explorer_visit()


def api(visit, path):
    response = visit.page.request.get(visit.base_url + path)
    assert response.ok, path
    return response.json()


def test_a_newcomer_goes_from_home_to_a_number_its_chart_its_quote_its_article_and_its_subject(visit):
    page = visit.page
    visit.open("/")
    assert page.locator("h1").count() == 1 and page.locator("h1").is_visible()
    visit.screenshot("1-home")

    page.locator("ul.cards a[href='/explore/figures']").click()
    assert page.url.endswith("/explore/figures")
    page.locator(f"tbody a[href='/explore/figures/{BREAKDOWN}']").click()
    assert page.url.endswith(f"/explore/figures/{BREAKDOWN}")
    figure = api(visit, f"/v1/figures/{BREAKDOWN}")["data"]

    # The chart is drawn: an SVG with a bar for the total, the stacked parts and each part, all visible.
    chart = page.locator("figure.chart svg[role='img']")
    assert chart.count() == 1 and chart.is_visible()
    bars = chart.locator("rect.bar")
    assert bars.count() == 1 + 2 * len(figure["parts"])
    for i in range(bars.count()):
        box = bars.nth(i).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, i
    total, stacked = bars.nth(0).bounding_box(), [bars.nth(1 + i).bounding_box() for i in range(len(figure["parts"]))]
    span = stacked[-1]["x"] + stacked[-1]["width"] - stacked[0]["x"]
    assert span == pytest.approx(total["width"], abs=1.5)  # the stacked parts, end to end, are as long as the total
    assert page.locator("dd.printed").inner_text() == figure["value_text"]
    assert page.locator("ul.checks .holds").count() == len(figure["checks"])
    # the quote is marked in its sentence, and the number strong within the quote
    mark = page.locator("section.quotes blockquote mark.evidence").first
    assert mark.is_visible() and squash(mark.inner_text()) == squash(figure["sources"][0]["evidence"])
    assert squash(page.locator("section.quotes blockquote").first.inner_text()) == squash(figure["sources"][0]["context"]["text"])
    strong = mark.locator("strong").first
    assert strong.is_visible() and strong.inner_text().replace(" ", "") == figure["value_text"].replace(" ", "")
    visit.screenshot("2-figure")

    # From the figure to its subject...
    subject = figure["subjects"][0]
    page.locator(f".subjects a[href='/explore/{subject['type']}s/{subject['id']}'], .subjects a[href$='/{subject['id']}']").first.click()
    assert page.url.endswith(f"/{subject['id']}")
    name = api(visit, page.url.replace(visit.base_url + "/explore", "/v1"))["data"]["name"]
    assert name["ko"] in page.locator("h1").inner_text()
    assert page.locator(f"a[href='/explore/figures/{BREAKDOWN}']").count() >= 1  # and the subject links back
    visit.screenshot("3-subject")

    # ...and from the figure to the article its quote is from.
    page.go_back()
    source = figure["sources"][0]
    page.locator(f"section.quotes a.source[href='/explore/sources/{source['source']}']").first.click()
    assert page.url.endswith(f"/explore/sources/{source['source']}")
    article = api(visit, f"/v1/sources/{source['source']}")["data"]
    assert article["headline"] in page.locator("h1").inner_text()
    cited = page.locator("section[aria-labelledby='h-cited'] li", has=page.locator(f"a[href='/explore/figures/{BREAKDOWN}']"))
    assert cited.count() == 1 and source["evidence"].split()[0] in cited.inner_text()
    visit.screenshot("4-article")
    assert visit.problems == []


def test_a_growth_rate_shows_both_of_its_values(visit):
    visit.open(f"/explore/figures/{GROWTH}")
    bars = visit.page.locator("figure.chart svg rect.bar")
    assert bars.count() == 2 and all(bars.nth(i).is_visible() for i in range(2))
    base, current = (bars.nth(i).bounding_box()["width"] for i in range(2))
    assert base / current == pytest.approx(11 / 14.7, rel=1e-2)  # 11억원 against 14억 7000만원
    visit.screenshot("growth")
    assert visit.problems == []


def test_the_filter_form_works_without_javascript(explorer_visit):
    visit = explorer_visit(java_script_enabled=False)
    page = visit.page
    visit.open("/explore/figures")
    page.select_option("select[name='unit']", "KRW")
    page.fill("input[name='min']", "100000000")
    with page.expect_navigation():
        page.locator("form.filters button[type='submit']").click()
    assert "unit=KRW" in page.url and "min=100000000" in page.url
    expected = api(visit, "/v1/figures?unit=KRW&min=100000000")["data"]
    rows = page.locator("tbody tr")
    assert rows.count() == len(expected) > 0
    assert page.locator("select[name='unit']").input_value() == "KRW"  # the form keeps what was chosen
    visit.screenshot("filtered")
    assert visit.problems == []


def test_everything_downloads_from_the_home_page(visit, tmp_path):
    visit.open("/")
    for link, check in (("a[href$='/v1/downloads/dataset.zip']", "zip"), ("a[href$='/v1/downloads/dataset.sqlite']", "sqlite")):
        with visit.page.expect_download() as download:
            visit.page.locator(f"section[aria-labelledby='downloads'] {link}").click()
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        if check == "zip":
            with zipfile.ZipFile(path) as archive:
                assert "datapackage.json" in archive.namelist() and "figures.csv" in archive.namelist()
        else:
            with sqlite3.connect(path) as database:
                assert database.execute("SELECT count(*) FROM figures").fetchone()[0] == len(api(visit, "/v1/figures?limit=500")["data"])
    assert visit.problems == []


PAGES = [
    "/",
    "/explore/figures",
    "/explore/events?kind=workshop",
    f"/explore/figures/{BREAKDOWN}",
    f"/explore/figures/{GROWTH}",
    "/explore/sources/kimjang-festival-article",
    "/explore/programmes/sme-special-support-area-scheme",
    "/explore/organisations/gwangju-metropolitan-city",
]


@pytest.mark.parametrize("path", PAGES)
def test_axe_core_finds_no_accessibility_violation(explorer_visit, path):
    visit = explorer_visit(axe=True)
    visit.open(path)
    assert visit.axe() == []
    # Every chart has a name and a description a screen reader can read.
    for svg in visit.page.locator("svg[role='img']").all():
        labels = svg.evaluate("s => s.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id).textContent)")
        assert len(labels) == 2 and all(label.strip() for label in labels)
    assert visit.problems == []


def test_axe_core_really_runs_in_the_page(explorer_visit):
    """An input with no label, slipped into a page, is reported: a clean result above means something."""
    visit = explorer_visit(axe=True)
    visit.open("/")
    assert visit.axe() == []
    visit.page.evaluate("() => document.querySelector('main').append(document.createElement('input'))")
    assert "label" in [rule for rule, _, _ in visit.axe()]
