"""/docs in a real browser: headless Chromium opens the page served on a loopback port and
sees every operation of the contract listed, with nothing fetched from anywhere else.

The page is Swagger UI from flask-swagger-ui, its assets served by the app under /docs/, so
it works with no internet; any request to another origin is blocked here and fails the test.
A screenshot goes to artifacts/docs.png.
"""

import json
import urllib.request


def test_docs_list_every_operation_in_a_browser(app, browser, live_server, artifacts):
    base = live_server(app)
    with urllib.request.urlopen(f"{base}/v1/openapi.json", timeout=30) as response:
        spec = json.load(response)
    operations = sorted((method.upper(), path) for path, item in spec["paths"].items() for method in item if method != "parameters")

    context = browser.new_context(viewport={"width": 1280, "height": 2400})
    elsewhere, failures, errors = [], [], []

    def only_this_server(route):
        if route.request.url.startswith(base + "/") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.on("requestfailed", lambda request: failures.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        response = page.goto(f"{base}/docs", wait_until="networkidle")
        assert response.status == 200
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(artifacts / "docs.png"), full_page=True)

        figures = page.locator('.opblock-get .opblock-summary-path[data-path="/v1/figures"]')
        assert figures.is_visible(), "the /v1/figures operation is not shown"
        assert page.locator(".info .title").first.inner_text().startswith(spec["info"]["title"])
        listed = page.eval_on_selector_all(
            ".opblock",
            """blocks => blocks.map(b => [
                b.querySelector('.opblock-summary-method').textContent.trim(),
                b.querySelector('.opblock-summary-path').getAttribute('data-path'),
            ])""",
        )
        assert sorted(tuple(item) for item in listed) == operations
        assert page.locator(".opblock-summary-description", has_text="List figures").first.is_visible()

        # Opened, an operation shows the examples taken from the data.
        page.locator('.opblock-summary-path[data-path="/v1/figures/{record_id}"]').click()
        opened = page.locator(".opblock.is-open")
        opened.locator(".parameters").wait_for(timeout=10_000)
        assert "kimjang-festival-2023-sales-amount" in opened.locator(".parameters").inner_text()
        assert "14억 7000만원" in opened.locator(".responses-wrapper").inner_text()
        opened.screenshot(path=str(artifacts / "docs-figure.png"))
    finally:
        context.close()
    assert elsewhere == [], f"the docs page reached outside the app: {elsewhere}"
    assert failures == [] and errors == [], (failures, errors)
