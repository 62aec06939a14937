"""Abuse: rate limits per client IP, size limits on requests, security headers (under the
test client and under `civicfacts serve` with granian, the production server, and with
gunicorn), and database connections that cannot write, on SQLite and PostgreSQL."""

import http.client
import os
import pathlib
import re
import socket
import subprocess
import sys

import pytest

from api import create_app
from api.config import LIMITS
from api.serve import SERVERS
from api.store.db import db, open_database
from api.web import guard
from api.web.resources.docs import PAGE
from api.web.response_cache import EXTENSION as CACHE
from tests.routes import ROUTE_PATHS, concrete
from tests.support import ValidatingClient, wait_until_listening

# --- rate limits -----------------------------------------------------------------------------


@pytest.fixture
def limited(loaded, openapi):
    """A client of an app that allows each client IP 3 requests a minute."""
    app = create_app({"DATABASE_URL": loaded, "RATE_LIMIT": "3/minute"})
    return ValidatingClient(app.test_client(), openapi)


def from_ip(address, **headers):
    return {"environ_base": {"REMOTE_ADDR": address}, "headers": headers}


def test_rate_limiting_is_off_unless_configured(client, monkeypatch):
    monkeypatch.delenv("CIVICFACTS_RATE_LIMIT", raising=False)
    from api.config import from_environment

    assert from_environment()["RATE_LIMIT"] is None
    for _ in range(50):
        response = client.get("/v1/units", **from_ip("192.0.2.1"))
        assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response.headers


def test_a_client_over_the_rate_limit_gets_429_problem_json_with_retry_after(limited):
    for _ in range(3):
        assert limited.get("/v1/units", **from_ip("192.0.2.1")).status_code == 200
    refused = limited.get("/v1/units", **from_ip("192.0.2.1"))  # the client validates it against the spec's 429
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["status"] == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    for path in ("/v1/figures", "/v1/search?q=김장", "/docs", "/docs/docs.js"):
        assert limited.get(path, **from_ip("192.0.2.1")).status_code == 429  # one budget per client, for every route
    # only routed requests count; a path no route has costs a 404 and no database work
    assert limited.get("/v1/nowhere", **from_ip("192.0.2.1")).status_code == 404


def test_a_rate_limit_store_that_fails_serves_unlimited_rather_than_500(limited, monkeypatch):
    from limits.storage import MemoryStorage

    from api.web import rate_limit

    limiter = limited._client.application.extensions["civicfacts_limiter"]
    store = MemoryStorage()

    def storage_down(*args, **kwargs):
        raise ConnectionError("the shared rate limit store is down")

    monkeypatch.setattr(store, "incr", storage_down)
    monkeypatch.setattr(limiter, "windows", rate_limit.StoreWindows(limiter.item, store))
    for _ in range(5):
        assert limited.get("/v1/units", **from_ip("192.0.2.1")).status_code == 200


def test_the_rate_limit_counts_each_client_ip_apart(limited):
    for _ in range(3):
        assert limited.get("/v1", **from_ip("192.0.2.1")).status_code == 200
    assert limited.get("/v1", **from_ip("192.0.2.1")).status_code == 429
    assert limited.get("/v1", **from_ip("192.0.2.2")).status_code == 200


def test_windows_in_this_process_count_as_limits_fixed_window_does_in_its_store(monkeypatch):
    """The in-process windows replace limits' storage for memory://; a shared store still goes
    through limits. Both must give the same count and reset for the same requests."""
    from limits import parse
    from limits.storage import MemoryStorage

    from api.web import rate_limit

    clock = [1_000_000.0]
    monkeypatch.setattr(rate_limit.time, "time", lambda: clock[0])
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock[0])
    item = parse("3/minute")
    ours, theirs = rate_limit.windows_for("memory://", item), rate_limit.StoreWindows(item, MemoryStorage())
    assert isinstance(ours, rate_limit.ProcessWindows)
    counts = []
    for step, client in [(0, "a"), (1, "a"), (0, "b"), (30, "a"), (29, "a"), (0.5, "a"), (0, "a"), (61, "b")]:
        clock[0] += step
        hit = ours.hit(client)
        assert hit == theirs.hit(client), (step, client)
        counts.append(hit)
    start = 1_000_000.0
    # a's window ends 60 s after its first request; at that instant the next one opens
    a_first, b_first, a_second, b_second = start + 60, start + 61, start + 120, start + 181.5
    assert counts == [(1, a_first), (2, a_first), (1, b_first), (3, a_first), (1, a_second), (2, a_second), (3, a_second), (1, b_second)]


def test_windows_in_this_process_start_no_thread_and_sweep_expired_ones_once_a_second():
    import threading
    import time

    from api.web import rate_limit

    windows = rate_limit.ProcessWindows(0.05)
    before = threading.active_count()
    for n in range(200):
        windows.hit(f"client-{n}")
    assert threading.active_count() <= before
    time.sleep(0.06)  # every window has expired; nothing has read them since
    windows.hit("client-new")
    assert len(windows.windows) == 201  # the sweep is not due yet: once a second at most
    windows.next_sweep = time.monotonic()
    windows.hit("client-newer")  # the request that opens a window when the sweep is due sweeps
    assert sorted(windows.windows) == ["client-new", "client-newer"]


def test_windows_in_this_process_lose_no_request_to_threads_counting_at_once():
    import threading

    from api.web import rate_limit

    windows = rate_limit.ProcessWindows(60)
    threads = [threading.Thread(target=lambda: [windows.hit("one") for _ in range(2000)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert windows.hit("one")[0] == 8 * 2000 + 1


def test_routing_is_remembered_for_a_bounded_number_of_short_paths(limited):
    from api.web import rate_limit

    limiter = limited._client.application.extensions["civicfacts_limiter"]
    for n in range(rate_limit.ROUTE_MEMO_PATHS + 100):
        limiter.routed({"PATH_INFO": f"/v1/figures/f{n}", "REQUEST_METHOD": "GET"})
    assert limiter.remembered.cache_info().currsize == rate_limit.ROUTE_MEMO_PATHS
    long = "/v1/figures/" + "x" * rate_limit.ROUTE_MEMO_LENGTH
    assert limiter.routed({"PATH_INFO": long, "REQUEST_METHOD": "GET"}) is True  # routed, not remembered
    assert limiter.remembered.cache_info().currsize == rate_limit.ROUTE_MEMO_PATHS
    assert limiter.routed({"PATH_INFO": "/v1/nowhere", "REQUEST_METHOD": "GET"}) is False
    assert limiter.routed({"PATH_INFO": "/v1/units", "REQUEST_METHOD": "POST"}) is False


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(loaded, openapi):
    """A client cannot buy a fresh budget by inventing X-Forwarded-For; behind one trusted
    proxy, the address that proxy saw is the client."""
    direct = ValidatingClient(create_app({"DATABASE_URL": loaded, "RATE_LIMIT": "2/minute"}).test_client(), openapi)
    for forged in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        last = direct.get("/v1", **from_ip("192.0.2.1", **{"X-Forwarded-For": forged}))
    assert last.status_code == 429

    proxied = ValidatingClient(create_app({"DATABASE_URL": loaded, "RATE_LIMIT": "2/minute", "TRUSTED_PROXIES": 1}).test_client(), openapi)
    for client_ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert proxied.get("/v1", **from_ip("10.0.0.1", **{"X-Forwarded-For": client_ip})).status_code == 200


def test_the_rate_limit_is_read_from_the_environment(loaded, openapi, monkeypatch):
    monkeypatch.setenv("CIVICFACTS_RATE_LIMIT", "1/minute")
    client = ValidatingClient(create_app({"DATABASE_URL": loaded}).test_client(), openapi)
    assert client.get("/v1").status_code == 200
    assert client.get("/v1").status_code == 429


# --- size limits -----------------------------------------------------------------------------


def test_a_body_larger_than_the_limit_is_413_before_anything_else(client):
    big = b"x" * 2048
    for method in ("GET", "POST", "PUT"):
        response = client.open("/v1/figures", method=method, data=big, content_type="application/octet-stream")
        assert response.status_code == 413, method
        assert response.mimetype == "application/problem+json"
    small = client.open("/v1/figures", method="POST", data=b"x" * 100, content_type="application/octet-stream")
    assert small.status_code == 405  # a small body meets the method check as usual


def test_the_body_limit_is_read_from_the_environment(loaded, monkeypatch):
    monkeypatch.setenv("CIVICFACTS_MAX_BODY_BYTES", "10")
    client = create_app({"DATABASE_URL": loaded}).test_client()
    assert client.post("/v1", data=b"x" * 11).status_code == 413
    assert client.post("/v1", data=b"x" * 10).status_code == 405


def test_the_query_string_limit_is_4096_bytes(client):
    at_limit = "q=" + "a" * (guard.MAX_QUERY_STRING - 2)
    response = client.get(f"/v1/search?{at_limit}")
    assert response.status_code == 400 and response.get_json()["errors"][0]["parameter"] == "q"  # too long a q, not a URL
    assert client.get(f"/v1/search?{at_limit}a").status_code == 414


# --- every limit: one place, its default and why, and its edge ---------------------------------


def test_the_readme_lists_every_limit_with_its_default_and_why():
    """README's "Limits" table is LIMITS (api/config.py), row for row."""
    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for limit in LIMITS:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{limit.variable}` |")), None)
        assert row is not None, f"README's Limits table lacks {limit.variable}"
        _, default, why = (cell.strip() for cell in row.strip("|").split("|"))
        assert default.split()[0] == str(limit.default) and why == limit.why, row


@pytest.mark.parametrize("limit", LIMITS, ids=lambda limit: limit.variable)
def test_every_limit_is_read_from_the_environment(shared_url, monkeypatch, limit):
    monkeypatch.setenv(limit.variable, str(limit.default + 1))
    app = create_app({"DATABASE_URL": shared_url})
    assert app.config[limit.key] == limit.default + 1
    monkeypatch.delenv(limit.variable)
    assert create_app({"DATABASE_URL": shared_url}).config[limit.key] == limit.default


def test_the_query_string_limit_is_a_setting(shared_url, monkeypatch):
    monkeypatch.setenv("CIVICFACTS_MAX_QUERY_STRING_BYTES", "100")
    client = create_app({"DATABASE_URL": shared_url}).test_client()
    at_limit = "limit=5&q=" + "a" * (100 - len("limit=5&q="))
    assert client.get(f"/v1/figures?{at_limit}").status_code == 200
    over = client.get(f"/v1/figures?{at_limit}a")
    assert over.status_code == 414 and "at most 100" in over.get_json()["detail"]


def test_the_response_cache_stays_within_its_bytes_keys_included(shared_url):
    """Many distinct URLs, each with a long query string: the cache's count of its bytes (keys,
    headers and bodies) never passes its limit, and 0 turns it off."""
    limit = 60_000
    app = create_app({"DATABASE_URL": shared_url, "RESPONSE_CACHE_BYTES": limit})
    client = app.test_client()
    cache = app.extensions[CACHE]
    for i in range(60):
        response = client.get(f"/v1/figures?limit={i % 50 + 1}&q={'가' * 190}{i}")
        assert response.status_code == 200 and cache.size <= limit
    assert 0 < len(cache.entries) < 60
    off = create_app({"DATABASE_URL": shared_url, "RESPONSE_CACHE_BYTES": 0}).test_client()
    assert "X-Cache" not in off.get("/v1/figures?limit=2").headers


# --- security headers ------------------------------------------------------------------------


def csp_directives(header):
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip())


@pytest.mark.parametrize(("rule", "path"), ROUTE_PATHS, ids=[path for _, path in ROUTE_PATHS])
def test_every_route_sends_the_security_headers(client, rule, path):
    path = concrete(client, path)
    for response in (client.get(path), client.get(path + ("&" if "?" in path else "?") + "nonsense=1"), client.post(path)):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers.getlist("Server") == ["civicfacts"]
        policy = csp_directives(response.headers["Content-Security-Policy"])
        assert policy["frame-ancestors"] == "'none'"
        if response.mimetype == "text/html" and path.startswith("/docs"):
            assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"  # no inline, no remote script
        elif response.mimetype == "text/html":  # the explorer: no script at all, its own stylesheet
            assert policy["default-src"] == "'none'" and "script-src" not in policy and policy["style-src"] == "'self'"
        else:
            assert policy["default-src"] == "'none'"


def test_the_docs_page_works_under_its_policy():
    """script-src 'self' forbids inline scripts: every script of the page is a file it serves."""
    assert "<script>" not in PAGE
    scripts = re.findall(r"<script([^>]*)>", PAGE)
    assert scripts and all(re.search(r'src="/docs/[^"]+"', attributes) for attributes in scripts)
    assert not re.search(r"(src|href)=\"(https?:)?//", PAGE)  # nothing from another origin


# --- read-only connections -------------------------------------------------------------------

WRITES = [
    "DELETE FROM figure",
    "UPDATE unit SET label_en = 'changed'",
    "INSERT INTO unit (code, label_ko, label_en, position) VALUES ('x', 'x', 'x', 0)",
    "CREATE TABLE intruder (id integer)",
    "DROP TABLE citation",
]


def table_rows(url):
    database = open_database(url)
    with database:
        return {name: database.execute_sql(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in sorted(database.get_tables())}


@pytest.mark.parametrize("statement", WRITES, ids=lambda s: s.split()[0])
def test_a_write_through_a_requests_connection_fails(writable_app, loaded, statement):
    before = table_rows(loaded)
    with writable_app.test_request_context("/v1/figures"):
        writable_app.preprocess_request()  # opens the request's connection and transaction, as for any request
        try:
            with pytest.raises(Exception, match=r"(?i)read-?only|readonly"):
                db.execute_sql(statement)
        finally:
            writable_app.do_teardown_request()
    assert table_rows(loaded) == before


def test_a_request_cannot_turn_its_connection_writable(writable_app, loaded):
    """SQLite: the file is opened read-only, whatever `PRAGMA query_only` says. PostgreSQL:
    the transaction is read only from its start, and cannot be changed once it ran a query."""
    before = table_rows(loaded)
    with writable_app.test_request_context("/v1/figures"):
        writable_app.preprocess_request()
        try:
            if loaded.startswith("postgres"):
                with pytest.raises(Exception, match="read-write mode must be set before any query|read-only"):
                    db.execute_sql("SET TRANSACTION READ WRITE")
            else:
                db.execute_sql("PRAGMA query_only = 0")
                with pytest.raises(Exception, match="readonly"):
                    db.execute_sql("DELETE FROM figure")
        finally:
            writable_app.do_teardown_request()
    assert table_rows(loaded) == before


# --- under `civicfacts serve`: granian (the default) and gunicorn -------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=SERVERS)
def served(request, loaded):
    """`civicfacts serve --server <each>` on a free port, with one worker; yields (server, port)."""
    port = free_port()
    cli = pathlib.Path(sys.executable).parent / "civicfacts"
    env = {**os.environ, "DATABASE_URL": loaded}
    server = subprocess.Popen(
        [cli, "serve", "--server", request.param, "--port", str(port), "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_listening(server, port, request.param)
        yield request.param, port
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()


def raw_request(port, path, method="GET", headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def assert_served_problem(response, body, status):
    assert response.status == status, body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    import json

    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]


def raw_bytes(port, data):
    """Send `data` as it is (not even HTTP) and read the answer to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.slow
def test_served_the_server_header_names_no_version(served):
    _, port = served
    for path in ("/v1", "/v1/figures?limit=2", "/docs", "/v1/nowhere"):
        response, _ = raw_request(port, path)
        servers = response.headers.get_all("Server")
        assert len(servers) == 1 and not re.search(r"\d", servers[0]), servers
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.slow
def test_served_what_the_app_refuses_is_problem_json(served):
    """Up to the server's own limits (gunicorn's 8190-byte request line; granian's 64 KiB URI
    and 408 KiB of headers), every request reaches the app, which refuses it as problem+json."""
    server, port = served
    assert_served_problem(*raw_request(port, "/v1/search?q=" + "a" * 5000), 414)
    assert_served_problem(*raw_request(port, "/v1", method="POST", body=b"x" * 4096), 413)
    assert_served_problem(*raw_request(port, "/v1/figures?limit=%ff"), 400)
    if server == "granian":
        assert_served_problem(*raw_request(port, "/v1/search?q=" + "a" * 50_000), 414)
        assert raw_request(port, "/v1", headers={"X-Padding": "a" * 100_000})[0].status == 200
    response, _ = raw_request(port, "/v1/figures?limit=2")
    assert response.status == 200  # and it still serves


@pytest.mark.slow
def test_served_what_the_server_refuses_itself_is_a_4xx(served):
    """What the server's HTTP parser refuses never reaches the app. gunicorn's error writer is
    replaced (api/serve.py), so its refusals are problem+json too; granian (hyper) has no such
    hook and answers with the bare status and an empty body: still the right 4xx, never a 5xx."""
    server, port = served
    too_long = "/v1/search?q=" + "a" * (10_240 if server == "gunicorn" else 70_000)
    cases = [(raw_request(port, too_long), 414)]
    if server == "gunicorn":
        cases.append((raw_request(port, "/v1", headers={"X-Padding": "a" * 9000}), 431))
    for (response, body), status in cases:
        if server == "gunicorn":
            assert_served_problem(response, body, status)
        else:
            assert response.status == status and body == b""
    for garbage in (b"GARBAGE\r\n\r\n", b"GET /v1 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"):
        status_line = raw_bytes(port, garbage).split(b"\r\n", 1)[0]
        assert re.fullmatch(rb"HTTP/1\.[01] 4\d\d .*", status_line), status_line
    response, _ = raw_request(port, "/v1/figures?limit=2")
    assert response.status == 200  # and it still serves
