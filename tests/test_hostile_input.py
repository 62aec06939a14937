"""A corpus of bad input, case by case, on SQLite and PostgreSQL: each gets a clear 4xx
problem+json (naming the parameter where there is one) or its documented answer, never a 5xx.

The `client` fixture validates every response against openapi.yaml as well.
"""

import base64

import pytest

from tests import reliability

LISTS = ["/v1/figures", "/v1/events", "/v1/programmes", "/v1/organisations", "/v1/people", "/v1/places", "/v1/sources"]
ALL_GET_ROUTES = [
    "/v1", "/v1/units", "/v1/search?q=광주", *LISTS,
    "/v1/figures/kimjang-festival-2023-sales-amount", "/v1/events/kimjang-festival-2023",
    "/v1/openapi.json", "/v1/openapi.yaml", "/docs", "/docs/swagger-ui.css",
]

# (query string, the parameter the 400 must name)
BAD_PARAMETERS = [
    ("limit=99999999999", "limit"),
    ("limit=501", "limit"),
    ("limit=-1", "limit"),
    ("limit=0", "limit"),
    ("limit=abc", "limit"),
    ("limit=1e3", "limit"),
    ("limit=+5", "limit"),
    ("limit=%205", "limit"),
    ("limit=0x10", "limit"),
    ("limit=５０", "limit"),  # full-width digits
    ("limit=٥٠", "limit"),  # Arabic-Indic digits
    ("limit=𝟓", "limit"),  # mathematical bold digit
    ("limit=l0", "limit"),  # a letter l that looks like 1
    ("limit=O", "limit"),  # a letter O that looks like 0
    ("cursor=garbage", "cursor"),
    ("cursor=%25%25%25", "cursor"),
    ("cursor=" + base64.urlsafe_b64encode(b'{"s":"","k":[1,"x"]}').decode(), "cursor"),
    ("sort=ｉｄ", "sort"),
    ("sort=password", "sort"),
    ("sort=id;drop", "sort"),
    ("include=everything", "include"),
    ("format=xml", "format"),
    ("q=", "q"),
    ("q=" + "가" * 201, "q"),
    ("nonsense=1", "nonsense"),
    ("LIMIT=5", "LIMIT"),
]
FIGURE_PARAMETERS = [
    ("min=abc", "min"),
    ("min=１０", "min"),
    ("min=NaN", "min"),
    ("max=Infinity", "max"),
    ("from=2023-13-01", "from"),
    ("from=yesterday", "from"),
    ("to=2023-02-30", "to"),
    ("subject=x' OR '1'='1", "subject"),
    ("subject=../../etc/passwd", "subject"),
    ("unit=ＫＲＷ", "unit"),
    ("qualifier=roughly", "qualifier"),
]


def assert_problem(response, status, parameter=None):
    assert response.status_code == status, (response.status_code, response.data[:300])
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"]
    if parameter is not None:
        named = [e.get("parameter") for e in body.get("errors", [])]
        assert parameter in named or parameter in body["detail"], body
    reliability.count("bad input answered 4xx problem+json")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(("query", "parameter"), BAD_PARAMETERS)
def test_a_bad_parameter_is_400_naming_it(client, path, query, parameter):
    assert_problem(client.get(f"{path}?{query}"), 400, parameter)


@pytest.mark.parametrize(("query", "parameter"), FIGURE_PARAMETERS)
def test_a_bad_figure_filter_is_400_naming_it(client, query, parameter):
    assert_problem(client.get(f"/v1/figures?{query}"), 400, parameter)


def test_a_huge_bound_is_a_number_and_clamped(client):
    """The documented answer: min/max are JSON numbers, exponents included; a bound beyond
    any stored value behaves as that limit rather than failing."""
    everything = client.get("/v1/figures?limit=500").get_json()["meta"]["total"]
    assert client.get("/v1/figures?max=1e400").get_json()["meta"]["total"] == everything
    assert client.get("/v1/figures?min=1e400").get_json()["meta"]["total"] == 0
    reliability.count("bad input given its documented answer")


def test_a_forged_or_altered_cursor_is_400(client):
    page = client.get("/v1/figures?limit=2").get_json()
    cursor = page["links"]["next"].split("cursor=")[1]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1  # one bit of the payload
    altered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert_problem(client.get(f"/v1/figures?limit=2&cursor={altered}"), 400, "cursor")
    assert_problem(client.get(f"/v1/figures?limit=2&sort=-value&cursor={cursor}"), 400, "cursor")
    assert_problem(client.get(f"/v1/events?limit=2&cursor={cursor[:-4]}"), 400, "cursor")


@pytest.mark.parametrize("q", ["' OR 1=1 --", '"; DROP TABLE figure; --', "%", "_", "\\", "%_%", "광주%", "' UNION SELECT * FROM dataset --"])
def test_sql_and_like_wildcards_are_searched_literally(client, q):
    for path in ("/v1/search", "/v1/figures"):
        response = client.get(path, query_string={"q": q})
        assert response.status_code == 200
        for hit in response.get_json()["data"]:
            # A literal match only: the text that matched (or the record) must contain q.
            text = hit.get("matched", {}).get("text") if path == "/v1/search" else None
            if text is not None:
                assert q.lower() in text.lower()
        reliability.count("SQL and LIKE wildcards searched literally")
    assert client.get("/v1/figures?limit=1").status_code == 200  # nothing was dropped


@pytest.mark.parametrize("query", ["q=a%00b", "q=%00", "nonsense%00=1", "sort=id%00"])
def test_nul_bytes_are_400(client, query):
    assert_problem(client.get(f"/v1/figures?{query}"), 400)


@pytest.mark.parametrize("query", ["q=%ff%fe", "q=%c3%28", "q=%ed%a0%80"])
def test_invalid_utf8_is_400(client, query):
    assert_problem(client.get(f"/v1/search?{query}"), 400, "q")


@pytest.mark.parametrize("query", ["q=%zz", "q=%", "q=%4", "limit=%g5"])
def test_broken_percent_encoding_is_400(client, query):
    assert_problem(client.get(f"/v1/figures?{query}"), 400)


def test_a_10kb_query_string_is_414(client):
    assert_problem(client.get("/v1/search?q=" + "a" * 10240), 414)


@pytest.mark.parametrize("query", ["limit=5&limit=6", "q=a&q=b", "sort=id&sort=-id"])
def test_a_repeated_parameter_is_400_naming_it(client, query):
    assert_problem(client.get(f"/v1/figures?{query}"), 400, query.split("=")[0])


@pytest.mark.parametrize("accept", ["application/xml", "text/html", "image/png", "application/json;q=0, text/csv;q=0"])
@pytest.mark.parametrize("path", ["/v1/figures", "/v1/figures/kimjang-festival-2023-sales-amount", "/v1", "/v1/search?q=김장"])
def test_an_accept_the_api_cannot_serve_is_406(client, path, accept):
    assert_problem(client.get(path, headers={"Accept": accept}), 406)


@pytest.mark.parametrize("path", ALL_GET_ROUTES)
def test_every_method_on_every_route(client, path):
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""
    options = client.options(path)
    assert options.status_code == 200 and "GET" in options.headers["Allow"]
    for method in ("post", "put", "delete", "patch"):
        response = client.open(path, method=method.upper())
        assert_problem(response, 405)
        assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD", "OPTIONS"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/figures/..%2F..%2Fetc%2Fpasswd",
        "/v1/figures/%2e%2e",
        "/v1/figures/..",
        "/v1/figures/....//....//etc/passwd",
        "/v1/figures/%00",
        "/docs/..%2F..%2Fapi%2Fdb.py",
        "/docs/..%2Fswagger-ui.css",
        "/v1/figures/" + "a" * 5000,
        "/v1/figures/ｋｉｍｊａｎｇ",
        "/v1/figures/kimjang-festival-2023-sales-amount%0d%0aX-Injected:%201",
    ],
)
def test_path_traversal_and_odd_ids_are_404(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404), response.status_code
    assert "X-Injected" not in response.headers
    assert_problem(response, response.status_code)
