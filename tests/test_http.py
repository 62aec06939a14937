"""HTTP behaviour every route shares, on SQLite and PostgreSQL: strong ETags and 304s, caching
headers, CORS, 404 for what does not exist, 406 for what cannot be served, HEAD.

405 with `Allow` on every route and 406 for the data routes are in test_hostile_input.py.
"""

import datetime

import pytest
from werkzeug.test import EnvironBuilder

from api.store import models as m
from api.store.db import open_database
from tests.support import recompile

CSV = {"Accept": "text/csv"}
# (path, headers): every kind of GET 200 the API answers.
GETS = [
    ("/v1", {}),
    ("/v1/units", {}),
    ("/v1/search?q=김장", {}),
    ("/v1/figures", {}),
    ("/v1/figures?unit=KRW&sort=-value", {}),
    ("/v1/figures", CSV),
    ("/v1/events?format=csv", {}),
    ("/v1/figures/kimjang-festival-2023-sales-amount", {}),
    ("/v1/events/kimjang-festival-2023?include=figures", {}),
    ("/v1/programmes/sme-special-support-area-scheme", CSV),
    ("/v1/openapi.json", {}),
    ("/v1/openapi.yaml", {}),
    ("/docs", {}),
    ("/docs/swagger-ui-bundle.js", {}),
    ("/docs/swagger-ui.css", {}),
]
DATA_GETS = [g for g in GETS if not g[0].startswith(("/docs", "/v1/openapi"))]


def is_strong_etag(value):
    return value is not None and value.startswith('"') and value.endswith('"') and len(value) > 2 and not value.startswith("W/")


def new_dataset_version(app, version):
    """Make `version` the current dataset in this test's own database, as a reload would."""
    database = open_database(app.config["DATABASE_URL"])
    with database.bind_ctx([m.Dataset]), database.connection_context():
        m.Dataset.create(version=version, loaded_at=datetime.datetime(2024, 1, 1))
    database.close()


# --- ETags and 304 -----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "headers"), GETS)
def test_every_get_has_a_strong_etag_and_answers_if_none_match_with_304(client, path, headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    etag = response.headers.get("ETag")
    assert is_strong_etag(etag), etag
    assert client.get(path, headers=headers).headers["ETag"] == etag, "the same representation keeps its tag"

    cached = client.get(path, headers={**headers, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b""
    assert cached.headers["ETag"] == etag
    # A cache may hold several tags, and If-None-Match compares weakly (RFC 9110, 13.1.2).
    assert client.get(path, headers={**headers, "If-None-Match": f'"stale", W/{etag}'}).status_code == 304
    assert client.get(path, headers={**headers, "If-None-Match": '"stale"'}).status_code == 200


@pytest.mark.parametrize(("path", "headers"), GETS)
def test_head_answers_as_get_without_a_body(client, path, headers):
    get, head = client.get(path, headers=headers), client.head(path, headers=headers)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"] and head.mimetype == get.mimetype


def test_the_etag_changes_with_the_representation(client):
    tags = {
        client.get(path, headers=headers).headers["ETag"]
        for path, headers in [
            ("/v1/figures", {}),
            ("/v1/figures?limit=2", {}),
            ("/v1/figures?unit=KRW", {}),
            ("/v1/figures?sort=-value", {}),
            ("/v1/figures", CSV),
            ("/v1/figures?unit=KRW", CSV),
            ("/v1/figures/kimjang-festival-2023-sales-amount", {}),
            ("/v1/figures/kimjang-festival-2023-sales-amount?include=subjects", {}),
            ("/v1/figures/kimjang-festival-2023-sales-amount", CSV),
            ("/v1/figures/kimjang-festival-2022-sales-amount", {}),
        ]
    }
    assert len(tags) == 10


RECORD_GETS = [g for g in DATA_GETS if g[0].count("/") == 3]  # one record: /v1/<collection>/<id>
LIST_GETS = [g for g in DATA_GETS if g not in RECORD_GETS]


def test_a_new_dataset_version_changes_every_list_etag(writable_client, writable_app):
    """A list, the index, units, search and exports name the dataset version: a reload gives them
    new tags, so a cache never keeps serving the old dataset."""
    before = {(path, tuple(headers.items())): writable_client.get(path, headers=headers).headers["ETag"] for path, headers in LIST_GETS}
    contract = writable_client.get("/v1/openapi.yaml").headers["ETag"]
    new_dataset_version(writable_app, "a-later-version")
    for (path, headers), etag in before.items():
        headers = dict(headers)
        response = writable_client.get(path, headers={**headers, "If-None-Match": etag})
        assert response.status_code == 200, f"{path} {headers}: a cache would keep serving the old dataset"
        assert response.headers["ETag"] != etag
    # The contract does not depend on the data: its tag (and a cache of it) stays good.
    assert writable_client.get("/v1/openapi.yaml", headers={"If-None-Match": contract}).status_code == 304


def test_a_record_keeps_its_etag_while_it_is_the_same_and_gets_a_new_one_when_it_changes(writable_client, writable_app):
    """One record's tag is the hash of what it says (compiled at load): a reload that leaves it as
    it was keeps the tag (a client's copy is still right), one that changes it changes the tag."""
    before = {(path, tuple(headers.items())): writable_client.get(path, headers=headers).headers["ETag"] for path, headers in RECORD_GETS}
    new_dataset_version(writable_app, "a-later-version")
    for (path, headers), etag in before.items():
        assert writable_client.get(path, headers={**dict(headers), "If-None-Match": etag}).status_code == 304, path
    url = writable_app.config["DATABASE_URL"]
    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        for model in m.RECORD_MODELS.values():
            model.update(note="Corrected.").execute()
    database.close()
    recompile(url)
    for (path, headers), etag in before.items():
        response = writable_client.get(path, headers={**dict(headers), "If-None-Match": etag})
        assert response.status_code == 200 and response.headers["ETag"] != etag, path
        assert "Corrected." in response.get_data(as_text=True)


# --- caching headers and CORS -----------------------------------------------------------------


@pytest.mark.parametrize(("path", "headers"), GETS)
def test_responses_carry_cache_control_and_vary(client, path, headers):
    response = client.get(path, headers=headers)
    cached = client.get(path, headers={**headers, "If-None-Match": response.headers["ETag"]})
    for answer in (response, cached):
        assert "max-age=" in answer.headers["Cache-Control"]
        assert {"accept", "accept-language"} <= {v.strip().lower() for v in answer.headers["Vary"].split(",")}


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize(("path", "headers"), [("/v1/figures", {}), ("/v1/figures", CSV), ("/v1/events/kimjang-festival-2023", {})])
def test_cors_allows_any_origin(client, method, path, headers):
    response = getattr(client, method)(path, headers={**headers, "Origin": "https://newsroom.example"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "link", "content-disposition", "retry-after"} <= exposed  # the tag, the next page, a file's name, when to retry


def test_cors_allows_any_origin_on_errors_too(client):
    # A script must be able to read why its request failed.
    response = client.get("/v1/figures?limit=0", headers={"Origin": "https://newsroom.example"})
    assert response.status_code == 400 and response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/v1/figures", "/v1/figures/kimjang-festival-2023-sales-amount", "/v1/search"])
def test_a_cors_preflight_allows_get_head_and_options_only(client, path):
    response = client.options(
        path,
        headers={"Origin": "https://newsroom.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "If-None-Match"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert allowed == {"GET", "HEAD", "OPTIONS"}
    assert "if-none-match" in response.headers["Access-Control-Allow-Headers"].lower()
    assert response.headers["Access-Control-Max-Age"] == "86400"  # one preflight a day, not one per request


# --- what does not exist, what cannot be served --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/sources/no-such-article",
        "/v1/organisations/no-such-body",
        "/v1/people/nobody",
        "/v1/places/atlantis",
        "/v1/events/no-such-event",
        "/v1/programmes/no-such-programme",
        "/v1/figures/no-such-figure",
        "/v1/figures/kimjang-festival-2023",  # an event's id is no figure's
    ],
)
def test_an_unknown_id_is_404_problem_json_naming_it(client, path):
    for headers in ({}, CSV):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["status"] == 404 and path.rsplit("/", 1)[1] in body["detail"] and body["instance"] == path


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/v1/figures/", "/v1/figures"),
        ("/v1/figures/?limit=2&sort=-value", "/v1/figures?limit=2&sort=-value"),
        ("/v1/figures/kimjang-festival-2023-sales-amount/", "/v1/figures/kimjang-festival-2023-sales-amount"),
        ("/v1/", "/v1"),
        ("/explore/figures/", "/explore/figures"),
    ],
)
def test_a_trailing_slash_is_a_permanent_redirect_to_the_route(client, path, canonical):
    response = client.get(path)
    assert response.status_code == 308 and response.headers["Location"] == canonical
    assert client.get(canonical).status_code == 200


@pytest.mark.parametrize(
    "path", ["/nope", "/v1/nope", "/v1/figure", "/v1/nope/", "/v1/figures/kimjang-festival-2023-sales-amount/x", "/docs/nope.js", "/v2"]
)
def test_an_unknown_path_is_404_problem_json(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["instance"] == path
    assert client.post(path).status_code == 404  # no method makes an unknown path exist


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/v1", "text/csv"),  # the index and the search are JSON only
        ("/v1/search?q=김장", "text/csv"),
        ("/v1/units", "text/csv"),
        ("/v1/openapi.yaml", "application/json"),
        ("/v1/openapi.json", "application/yaml"),
        ("/docs", "application/json"),
        ("/docs/swagger-ui.css", "text/javascript"),
    ],
)
def test_an_accept_a_route_cannot_meet_is_406(client, path, accept):
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 406 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("accept", "served"),
    [
        ("*/*", "application/json"),
        ("text/*", "text/csv"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.5, text/csv", "text/csv"),
        ("application/*", "application/json"),
    ],
)
def test_accept_chooses_between_json_and_csv(client, accept, served):
    assert client.get("/v1/figures", headers={"Accept": accept}).mimetype == served


def test_format_wins_over_accept(client):
    assert client.get("/v1/figures?format=csv", headers={"Accept": "application/json"}).mimetype == "text/csv"
    assert client.get("/v1/figures?format=json", headers={"Accept": "text/csv"}).mimetype == "application/json"


# --- what the WSGI server is handed ------------------------------------------------------------


def wsgi_body(app, path, method="GET", headers=None):
    """What the app hands the WSGI server for `path`: (status, headers, the iterable itself)."""
    environ = EnvironBuilder(path=path, method=method, headers=headers).get_environ()
    started = []
    body = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    return started[0][0], dict(started[0][1]), body


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/v1/figures?limit=4", "GET", "200"),
        ("/v1/figures/kimjang-festival-2023-sales-amount", "GET", "200"),
        ("/v1/figures/kimjang-festival-2023-sales-amount", "HEAD", "200"),
        ("/v1/figures/no-such-figure", "GET", "404"),
        ("/v1/figures?limit=0", "GET", "400"),
    ],
)
def test_a_body_in_memory_goes_to_the_server_in_one_piece_miss_or_cache_hit(fresh_app, path, method, status):
    # A list is what granian sends with its headers in one write, so a server killed mid-request
    # has sent nothing (nginx retries elsewhere), never headers without their body.
    for _ in ("miss", "hit"):
        got, headers, body = wsgi_body(fresh_app, path, method)
        assert got.startswith(status)
        assert isinstance(body, list) and len(body) == 1, type(body)
        assert len(body[0]) == (0 if method == "HEAD" else int(headers["Content-Length"]))


def test_a_streamed_export_is_still_streamed(fresh_app):
    status, headers, body = wsgi_body(fresh_app, "/v1/figures?format=csv&limit=500")
    assert status.startswith("200") and not isinstance(body, list)
    text = b"".join(body).decode()
    body.close()
    assert text.count("\n") > 1
