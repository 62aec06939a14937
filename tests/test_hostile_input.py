"""A corpus of bad input, case by case, on SQLite and PostgreSQL: each gets a clear 4xx
problem+json (naming the parameter where there is one) or its documented answer, never a 5xx.

The `client` fixture validates every response against openapi.yaml as well. The routes are
the app's own (tests/routes.py reads its url_map), so a new route meets every method and
every Accept here without anyone listing it.
"""

import base64
import decimal
import hashlib
import hmac
import itertools

import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from api.query.pagination import encode_cursor
from api.web.response_cache import EXTENSION
from api.web.responses import MEDIA_TYPES, negotiation_key
from tests.routes import ROUTE_PATHS, SERVED_PATHS, SPEC, concrete
from tests.support import ValidatingClient

LISTS = ["/v1/figures", "/v1/events", "/v1/programmes", "/v1/organisations", "/v1/people", "/v1/places", "/v1/sources"]

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
    ("limit=５", "limit"),  # one full-width digit
    ("limit=１0", "limit"),  # a full-width digit beside an ASCII one
    ("limit=−1", "limit"),  # U+2212 MINUS SIGN
    ("limit=⁵", "limit"),  # superscript five
    ("limit=５%EF%BC%90", "limit"),  # full-width, percent-encoded
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
    ("min=٣", "min"),  # Arabic-Indic three
    ("min=−5", "min"),  # U+2212 MINUS SIGN
    ("max=５", "max"),  # full-width five
    ("max=1٫5", "max"),  # Arabic decimal separator
    ("min=1,000", "min"),  # a thousands separator
    ("max=Infinity", "max"),
    ("from=2023-13-01", "from"),
    ("from=yesterday", "from"),
    ("to=2023-02-30", "to"),
    ("subject=x' OR '1'='1", "subject"),
    ("subject=../../etc/passwd", "subject"),
    ("subject=%25", "subject"),  # a LIKE wildcard
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


def test_a_forged_or_altered_cursor_is_400(client):
    page = client.get("/v1/figures?limit=2").get_json()
    cursor = page["links"]["next"].split("cursor=")[1]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[-3] ^= 1  # one bit of the payload
    altered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert_problem(client.get(f"/v1/figures?limit=2&cursor={altered}"), 400, "cursor")
    assert_problem(client.get(f"/v1/figures?limit=2&sort=-value&cursor={cursor}"), 400, "cursor")
    assert_problem(client.get(f"/v1/events?limit=2&cursor={cursor[:-4]}"), 400, "cursor")


def test_a_cursor_signed_with_another_secret_is_400(client):
    """Another deployment's cursor (or a client's guess at the format) is refused by its signature."""
    forged = encode_cursor(b"not this server's secret", "figures", "", [1, "kimjang-festival-2023-sales-amount"])
    assert_problem(client.get(f"/v1/figures?cursor={forged}"), 400, "cursor")


# (list, sort, the position a signed cursor holds), signed with the server's own secret as a
# cursor from an older release (whose sort keys had other types) would be: PostgreSQL would
# refuse `date > 'text'` with an error. test_contract.py forges these on /v1/figures; here
# the other lists, their own key types, and CSV, which pages by the same cursor.
MISFIT_POSITIONS = [
    ("/v1/figures", "value", [1.5, "a"]),  # a float, not an exact number
    ("/v1/figures", "value", [{"n": "Infinity"}, "a"]),
    ("/v1/sources", "published_on", ["2023-11-22", "a"]),  # a date as plain text
    ("/v1/sources", "published_on", [{"d": "2023-11-22"}, 5]),  # an id as a number
    ("/v1/events", "start_date", [{"n": "1"}, "a"]),
    ("/v1/organisations", "kind", [1, "a"]),
    ("/v1/people", "", [{"d": "2023-11-22"}, "a"]),  # a date where the position goes
]


@pytest.mark.parametrize(("path", "sort", "position"), MISFIT_POSITIONS, ids=[f"{p}-{s}-{v!r}" for p, s, v in MISFIT_POSITIONS])
def test_a_signed_cursor_whose_position_does_not_fit_the_sort_is_400(client, app, path, sort, position):
    cursor = encode_cursor(app.config["CURSOR_SECRET"], path.rpartition("/")[2], sort, position)
    query = f"cursor={cursor}" + (f"&sort={sort}" if sort else "")
    assert_problem(client.get(f"{path}?{query}"), 400, "cursor")
    assert_problem(client.get(f"{path}?{query}&format=csv"), 400, "cursor")


def signed(secret, payload):
    """A cursor of any JSON text, signed as the API signs its own: what a client that knows
    the (default, public) secret can send, integers past 64 bits included."""
    signature = hmac.new(secret, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


# Integers no column holds (sqlite3 raised OverflowError binding them: a 500), and numbers
# at the edge of what a figure's value may be.
OUT_OF_RANGE = [b"9223372036854775808", b"-9223372036854775809", b"18446744073709551616", b"1" + b"0" * 40]


@pytest.mark.parametrize("number", OUT_OF_RANGE)
@pytest.mark.parametrize("path", ["/v1/figures", "/v1/sources", "/v1/people"])
def test_a_signed_cursor_holding_an_integer_no_column_holds_is_400(client, app, path, number):
    payload = b'{"c":"%s","s":"","k":[%s,"a"]}' % (path.rpartition("/")[2].encode(), number)
    cursor = signed(app.config["CURSOR_SECRET"], payload)
    assert_problem(client.get(f"{path}?cursor={cursor}"), 400, "cursor")
    assert_problem(client.get(f"{path}?cursor={cursor}&format=csv"), 400, "cursor")


@pytest.mark.parametrize("value", ["999999999999999999999999.999999", "-999999999999999999999999", "1e-30", "0.0000001"])
def test_a_signed_cursor_at_the_edge_of_a_value_is_answered(client, app, value):
    cursor = encode_cursor(app.config["CURSOR_SECRET"], "figures", "value", [decimal.Decimal(value), "a"])
    response = client.get(f"/v1/figures?sort=value&cursor={cursor}")
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert_problem(response, 400, "cursor")


@pytest.mark.parametrize("offset", ["x", -1, 1.5, True, None, [3]])
def test_a_signed_search_cursor_that_is_no_offset_is_400(client, app, offset):
    cursor = encode_cursor(app.config["CURSOR_SECRET"], "search", "", [offset])
    assert_problem(client.get(f"/v1/search?q=김장&cursor={cursor}"), 400, "cursor")


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for child in value.values():
            yield from strings_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from strings_in(child)


LITERALS = ["' OR 1=1 --", '"; DROP TABLE figure; --', "%", "_", "\\", "%_%", "광주%", "_주", "' UNION SELECT * FROM dataset --", "%%", "a'b", '"']


@pytest.mark.parametrize("q", LITERALS)
def test_sql_and_like_wildcards_are_searched_literally(client, q):
    """What a hit matched, and some text of every record a list returns, holds q as typed:
    '%' and '_' are characters to find, not patterns, and quotes end nothing."""
    before = client.get("/v1").get_json()["data"]["collections"]
    for hit in client.get("/v1/search", query_string={"q": q, "limit": 500}).get_json()["data"]:
        assert q.lower() in hit["matched"]["text"].lower(), hit
    for path in LISTS:
        response = client.get(path, query_string={"q": q, "limit": 500})
        assert response.status_code == 200
        for record in response.get_json()["data"]:
            assert any(q.lower() in text.lower() for text in strings_in(record)), (path, q, record["id"])
    assert client.get("/v1").get_json()["data"]["collections"] == before  # nothing was dropped


@pytest.mark.parametrize("unit", ["_", "___", "K_W", "KRW_"])
def test_a_wildcard_in_an_exact_filter_matches_nothing(client, unit):
    """unit takes underscores (unit codes have them), and compares for equality, not LIKE."""
    response = client.get("/v1/figures", query_string={"unit": unit})
    assert response.status_code == 200 and response.get_json()["data"] == []


def test_a_like_wildcard_alone_matches_only_texts_holding_it(client):
    """`_` would match every one-character string as a LIKE pattern; as text, only records
    with an underscore somewhere match, and there are fewer of those than records."""
    everything = client.get("/v1/figures?limit=1").get_json()["meta"]["total"]
    assert client.get("/v1/figures", query_string={"q": "_"}).get_json()["meta"]["total"] < everything
    assert client.get("/v1/figures", query_string={"q": "%%%%"}).get_json()["meta"]["total"] == 0


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


@pytest.mark.parametrize("query", ["q=q", "kind=kind", "q=q&kind=q", "sort=id&q=sort"])
def test_a_value_that_spells_a_parameter_name_is_no_repeat(client, query):
    """Found by `make fuzz`: `q=q` was refused as a repeated q (CPython shares one-byte
    bytes objects, and the name was told from the value by identity)."""
    response = client.get(f"/v1/places?{query}")
    assert response.status_code == 200, response.get_json()


UNSERVABLE_ACCEPTS = ["application/xml", "audio/ogg", "application/json;q=0, text/csv;q=0, text/html;q=0", "*/*;q=0"]


@pytest.mark.parametrize("accept", UNSERVABLE_ACCEPTS)
@pytest.mark.parametrize(("rule", "path"), ROUTE_PATHS, ids=[path for _, path in ROUTE_PATHS])
def test_an_accept_the_api_cannot_serve_is_406_on_every_route(client, rule, path, accept):
    assert_problem(client.get(concrete(client, path), headers={"Accept": accept}), 406)


@pytest.mark.parametrize(("rule", "path"), ROUTE_PATHS, ids=[path for _, path in ROUTE_PATHS])
def test_every_method_on_every_route(client, rule, path):
    """HEAD and OPTIONS answer as for GET; POST, PUT, DELETE and PATCH are 405 problem+json with Allow."""
    path = concrete(client, path)
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Type"] == client.get(path).headers["Content-Type"]
    options = client.options(path)
    assert options.status_code == 200 and set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = client.open(path, method=method, data=b"{}", content_type="application/json")
        assert_problem(response, 405)
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_the_routes_walked_are_the_spec_paths():
    """tests/routes.py walks the url_map; the spec must hold exactly those routes, so nothing is
    served outside the contract and nothing in it goes unwalked."""
    assert SERVED_PATHS == sorted(SPEC["paths"])


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
        "/v1/figures/x%27%20OR%20%271%27%3D%271",
        "/v1/figures/%25",
        "/v1/figures/_",
        "/v1/figures/%ff%fe",
        "/v1/figures/%",
        "/v1/figures/kimjang%2Ffestival",
        "/v1/figures/%ef%bc%8e%ef%bc%8e",  # full-width dots
        "/v1/figures/..%5c..%5cwindows",
        "/v1/../api/db.py",
        "/static/../../api/db.py",
    ],
)
def test_path_traversal_and_odd_ids_are_404(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404), response.status_code
    assert "X-Injected" not in response.headers
    assert_problem(response, response.status_code)


# --- the response cache: what a request can make it keep ------------------------------------

CACHED = "/v1/figures?limit=2"


def cache_of(app):
    return app.extensions[EXTENSION]


def test_unique_large_headers_do_not_grow_the_response_cache(fresh_app, openapi):
    """Headers no response varies on (Accept-Language, X-Forwarded-* with no proxy trusted), and
    Accept headers that negotiate the same type, are no part of the key: however many and large,
    one entry answers them all, and the bytes counted include the key."""
    client = ValidatingClient(fresh_app.test_client(), openapi)
    cache = cache_of(fresh_app)
    assert client.get(CACHED).headers["X-Cache"] == "miss"
    assert client.get(CACHED, headers={"Accept": "application/json, application/x-first"}).headers["X-Cache"] == "miss"
    entries, size = len(cache.entries), cache.size
    for i in range(40):
        unique = f"{i:08d}" + "x" * 20_000
        headers = [
            {"Accept-Language": f"ko-{unique[:8]}, en;q=0.{i % 9 + 1}, " + "a" * 20_000},
            {"X-Forwarded-Prefix": "/" + unique, "X-Forwarded-Host": unique, "X-Forwarded-For": f"10.0.{i}.1"},
            {"Accept": f"application/json, application/x-{unique[:900]}"},
        ][i % 3]
        response = client.get(CACHED, headers=headers)
        assert response.status_code == 200 and response.headers["X-Cache"] == "hit", headers.keys()
    assert (len(cache.entries), cache.size) == (entries, size)
    assert cache.size >= sum(len(repr(key)) for key in cache.entries)


def test_a_host_accept_or_url_too_long_is_served_without_the_cache(fresh_app, openapi):
    """A key is bounded: a Host past any real name's length, an Accept header past any
    browser's (or a path and query no route answers with a 200) is served without the cache,
    so it can neither hold a large key nor make the cache rank a huge header."""
    client = ValidatingClient(fresh_app.test_client(), openapi)
    cache = cache_of(fresh_app)
    for i in range(3):
        response = client.get(CACHED, headers={"Host": f"h{i}." + "a" * 60 + ".a" * 500})
        assert response.status_code == 200 and "X-Cache" not in response.headers
        response = client.get(CACHED, headers={"Accept": f"application/json, application/x-{i}" + "a" * 20_000})
        assert response.status_code == 200 and "X-Cache" not in response.headers
    assert not cache.entries


# Accept headers built from the media types the API serves, their wildcards and qualities, and
# some it does not: whatever the header, two with the same key must negotiate alike everywhere.
ACCEPT_PARTS = [
    "application/json",
    "text/csv",
    "application/ld+json",
    "text/html",
    "text/*",
    "application/*",
    "*/*",
    "image/png",
    "application/yaml",
    "application/xml",
    "text/csv;charset=utf-8",
    "bogus",
    "*/json",
]
OFFERS = [
    ["application/json"],
    ["application/json", "text/csv"],
    ["application/json", "text/csv", "application/ld+json"],
    ["text/html"],
    ["text/css"],
    ["application/yaml"],
    ["image/png"],
    ["text/javascript"],
    ["application/zip"],
]


def test_equal_negotiation_keys_negotiate_alike_on_every_route():
    outcomes = {}
    headers = [""]
    for first, second in itertools.product(ACCEPT_PARTS, repeat=2):
        for q in ("", ";q=0", ";q=0.5"):
            headers += [f"{first}{q}, {second}", f"{first}, {second}{q}"]
    for header in headers:
        parsed = parse_accept_header(header, MIMEAccept)
        offers = OFFERS + [[media] for media in MEDIA_TYPES]
        result = tuple(parsed.best_match(offer) if parsed else offer[0] for offer in offers)  # as negotiate does
        key = negotiation_key(header)
        assert outcomes.setdefault(key, (header, result))[1] == result, (header, outcomes[key][0])
    assert len(outcomes) > 20  # the headers did negotiate differently, and the keys told them apart


def test_a_body_over_the_limit_is_413_even_when_the_url_is_cached(client):
    client.get(CACHED)
    assert client.get(CACHED).headers["X-Cache"] == "hit"
    response = client.open(CACHED, method="GET", data=b"x" * 2048, content_type="application/octet-stream")
    assert_problem(response, 413)
