"""The response cache: a hit is the miss's answer exactly, costs one query, and never outlives
the dataset version it was made from; the connection pool hands connections back."""

import shutil

import pytest

from api import create_app
from api.ingest.load import load
from api.ingest.read import read_seeds
from api.store import models as m
from api.store.db import db
from api.web.export_store import EXPORTS
from api.web.response_cache import EXTENSION, ResponseCache
from tests.support import SEEDS, ValidatingClient, close_app, make_app, request_queries

RECORD = "/v1/figures/kimjang-festival-2023-sales-amount"
PATHS = ["/v1", "/v1/units", "/v1/figures?limit=5", RECORD, "/v1/search?q=김장", "/v1/events?include=figures", "/v1/openapi.json"]


@pytest.fixture
def client(fresh_client):
    """These tests watch the cache fill from empty: an app of each test's own."""
    return fresh_client


def raw_get(client, *args, **kwargs):
    """A request the contract cannot check (a CSV body), read to the end and closed."""
    response = getattr(client, "_client", client).get(*args, **kwargs)
    response.get_data()
    response.close()
    return response


def comparable(response):
    headers = {k: v for k, v in response.headers.items() if k not in ("Date", "X-Cache")}
    return response.status_code, headers, response.get_data()


@pytest.mark.parametrize("path", PATHS)
def test_a_hit_is_the_miss_byte_for_byte_and_costs_one_query(client, path):
    miss = client.get(path)
    assert miss.headers["X-Cache"] == "miss"
    with request_queries(client) as counter:
        hit = client.get(path)
    assert hit.headers["X-Cache"] == "hit"
    assert comparable(hit) == comparable(miss)
    assert counter.count == 1  # the dataset version, nothing else


@pytest.mark.parametrize("path", [RECORD, "/v1/figures?limit=5", "/v1/search?q=김장"])
def test_a_request_nothing_kept_could_answer_costs_what_it_costs_without_the_cache(client, shared_url, path):
    """It cannot be a hit whatever the version now is, so it goes straight to Flask, whose own
    statement reads the version: no query more than with the cache off."""
    uncached = make_app(shared_url, RESPONSE_CACHE_BYTES=0)
    try:
        with request_queries(uncached.test_client()) as counter:
            assert uncached.test_client().get(path).status_code == 200
        without_cache = counter.count
    finally:
        close_app(uncached)
    client.get("/v1/units")  # any request: the process has seen a version
    with request_queries(client) as counter:
        miss = client.get(path)
    assert miss.headers["X-Cache"] == "miss" and counter.count == without_cache
    with request_queries(client) as counter:
        assert client.get(path).headers["X-Cache"] == "hit"
    assert counter.count == 1


def test_hits_are_conditional_and_answer_head(client):
    etag = client.get(RECORD).headers["ETag"]
    again = client.get(RECORD, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["X-Cache"] == "hit"
    assert again.get_data() == b""
    head = client.head(RECORD)
    assert head.status_code == 200 and head.headers["X-Cache"] == "hit" and head.get_data() == b""
    assert head.headers["Content-Length"] == str(len(client.get(RECORD).get_data()))


def test_what_the_body_depends_on_is_part_of_the_key(client):
    json_body = client.get("/v1/figures?limit=2").get_data()
    other_host = client.get("/v1/figures?limit=2", headers={"Host": "api.example.org"})
    assert other_host.headers["X-Cache"] == "miss"
    assert b"api.example.org" in other_host.get_data() and b"api.example.org" not in json_body
    # An X-Forwarded-* header no proxy is trusted to set changes nothing, so it is no part of the key.
    forwarded = client.get("/v1/figures?limit=2", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"})
    assert forwarded.headers["X-Cache"] == "hit" and forwarded.get_data() == json_body
    csv = raw_get(client, "/v1/figures?limit=2", headers={"Accept": "text/csv"})
    assert csv.mimetype == "text/csv" and csv.headers["X-Cache"] == "miss"
    again = raw_get(client, "/v1/figures?limit=2", headers={"Accept": "text/csv"})
    assert again.headers["X-Cache"] == "hit" and again.get_data() == csv.get_data()


def test_errors_and_streams_too_big_for_an_entry_are_not_kept(loaded, openapi):
    app = create_app({"DATABASE_URL": loaded, "RESPONSE_CACHE_ENTRY_BYTES": 4000, "EXPORT_CACHE_BYTES": 0})
    client = ValidatingClient(app.test_client(), openapi)
    for _ in range(2):
        assert client.get("/v1/figures/no-such-figure").headers.get("X-Cache") == "miss"
        assert client.get("/v1/figures?limit=0").headers.get("X-Cache") == "miss"
        csv = raw_get(client, "/v1/figures?format=csv")
        assert csv.mimetype == "text/csv" and csv.headers.get("X-Cache") == "miss" and len(csv.get_data()) > 4000
    assert not app.extensions[EXTENSION].entries


def test_a_reload_is_seen_at_once(migrated, openapi, tmp_path):
    a = read_seeds(SEEDS)
    b_dir = tmp_path / "seeds-b"
    shutil.copytree(SEEDS, b_dir)
    for path in b_dir.glob("07_*.yaml"):
        path.unlink()
    b = read_seeds(b_dir)
    with db.obj.connection_context():
        load(a, db.obj)
    client = ValidatingClient(create_app({"DATABASE_URL": migrated}).test_client(), openapi)
    for _ in range(2):
        assert client.get("/v1/sources?limit=500").get_json()["meta"]["dataset_version"] == a.version
    from api.store.db import open_database

    writer = open_database(migrated)
    with writer.bind_ctx(m.ALL_MODELS), writer.connection_context():
        load(b, writer)
    writer.close()
    body = client.get("/v1/sources?limit=500")
    assert body.headers["X-Cache"] == "miss"
    assert body.get_json()["meta"]["dataset_version"] == b.version


def test_the_cache_stays_within_its_bytes():
    cache = ResponseCache(max_bytes=10_000, max_entry_bytes=4_000)
    for i in range(100):
        cache.put(("v", i), 200, [("Content-Type", "application/json")], b"x" * 1000)
        assert cache.size <= 10_000
    assert len(cache.entries) < 10 and ("v", 99) in cache.entries and ("v", 0) not in cache.entries
    cache.put(("v", "big"), 200, [], b"x" * 5000)
    assert ("v", "big") not in cache.entries


def test_behind_a_trusted_proxy_the_forwarded_scheme_and_host_are_part_of_the_key(shared_url):
    client = create_app({"DATABASE_URL": shared_url, "TRUSTED_PROXIES": 1}).test_client()
    plain = client.get("/v1/figures?limit=2")
    forwarded = client.get("/v1/figures?limit=2", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.org"})
    assert forwarded.headers["X-Cache"] == "miss" and b"https://api.example.org/v1/figures" in forwarded.get_data()
    assert b"https://" not in plain.get_data()


def test_with_a_rate_limit_the_cache_stays_on_and_a_hit_still_counts(shared_url):
    app = create_app({"DATABASE_URL": shared_url, "RATE_LIMIT": "3/minute"})
    assert EXTENSION in app.extensions
    client = app.test_client()
    answers = [client.get(RECORD) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers.get("X-Cache") for a in answers[:3]] == ["miss", "hit", "hit"]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[3].mimetype == "application/problem+json" and int(answers[3].headers["Retry-After"]) > 0


def test_pooled_connections_go_back_to_the_pool(client):
    for path in PATHS * 3:
        client.get(path)
    assert not db.obj._in_use, "a request kept its connection"


def test_walking_the_pages_of_a_list_counts_it_once(client):
    """min= is a filter no total was counted for at load: its pages count it once between them."""
    counted, url, pages = 0, "/v1/figures?limit=4&sort=id&min=1", 0
    while url:
        with request_queries(client) as counter:
            body = client.get(url).get_json()
        counted += sum("COUNT(" in q.msg[0] for q in counter.get_queries())
        url, pages = body["links"]["next"], pages + 1
    assert pages > 3 and counted == 1


def test_a_csv_export_streams_rather_than_being_read_into_memory_first(client):
    response = client._client.get("/v1/figures?format=csv")
    assert response.is_streamed  # with its length counted first, so that a stream cut short shows
    body = response.get_data()
    assert body.decode("utf-8-sig").startswith("id,type,name_ko") and response.headers["Content-Length"] == str(len(body))
    response.close()


# --- exports too big for memory, kept on disk ---------------------------------------------

EXPORT = "/v1/figures?format=csv"


def export_app(url, directory, **config):
    """An app whose every export of more than 4000 bytes goes to the disk store in `directory`."""
    return create_app({"DATABASE_URL": url, "RESPONSE_CACHE_ENTRY_BYTES": 4000, "EXPORTS_DIR": str(directory), **config})


def kept_files(directory):
    return sorted(p.name for p in directory.iterdir())


def test_an_export_too_big_for_memory_is_served_from_disk_the_second_time(loaded, openapi, tmp_path):
    app = export_app(loaded, tmp_path / "exports")
    client = ValidatingClient(app.test_client(), openapi)
    miss = raw_get(client, EXPORT)
    assert miss.headers["X-Cache"] == "miss" and len(miss.get_data()) > 4000
    assert miss.headers["Content-Length"] == str(len(miss.get_data()))  # counted before the first byte
    with request_queries(client) as counter:
        hit = raw_get(client, EXPORT)
    assert hit.headers["X-Cache"] == "hit" and counter.count == 1  # the dataset version, nothing else
    assert hit.get_data() == miss.get_data()
    assert hit.headers["Content-Length"] == str(len(miss.get_data()))  # a file has a length to give
    same = ("Content-Type", "Content-Disposition", "ETag", "Cache-Control", "Content-Security-Policy")
    assert {k: hit.headers.get(k) for k in same} == {k: miss.headers.get(k) for k in same}
    assert not app.extensions[EXTENSION].entries  # on disk, not in memory
    assert [name.rsplit(".", 1)[1] for name in kept_files(tmp_path / "exports")] == ["body", "json"]
    again = raw_get(client, EXPORT, headers={"If-None-Match": miss.headers["ETag"]})
    assert again.status_code == 304 and again.headers["X-Cache"] == "hit" and again.get_data() == b""
    head = client._client.head(EXPORT)
    assert head.status_code == 200 and head.headers["X-Cache"] == "hit" and head.get_data() == b""


def test_an_export_another_worker_kept_on_disk_is_served_from_there(loaded, tmp_path):
    """Workers share the folder: one that never kept the export itself still finds it there."""
    made = raw_get(export_app(loaded, tmp_path / "exports").test_client(), EXPORT)
    other = export_app(loaded, tmp_path / "exports").test_client()
    assert raw_get(other, "/v1/units").status_code == 200  # it has seen the version now
    served = raw_get(other, EXPORT)
    assert served.headers["X-Cache"] == "hit" and served.get_data() == made.get_data()


def test_an_export_cut_short_is_not_kept(loaded, tmp_path):
    directory = tmp_path / "exports"
    client = export_app(loaded, directory).test_client()
    sorted_export = f"{EXPORT}&sort=-value"  # made batch by batch (the whole one is one kept chunk)
    response = client.get(sorted_export, buffered=False)
    chunks = iter(response.response)
    next(chunks), next(chunks)  # the header row and the first batch: past 4000 bytes, so spilling
    assert any(name.endswith(".partial") for name in kept_files(directory))
    response.close()  # the client went away
    assert kept_files(directory) == []
    assert raw_get(client, sorted_export).headers["X-Cache"] == "miss"


def test_a_reload_is_not_answered_from_an_older_export(migrated, tmp_path):
    from api.store.db import open_database

    fewer = tmp_path / "seeds-without-07"
    shutil.copytree(SEEDS, fewer)
    for path in fewer.glob("07_*.yaml"):
        path.unlink()
    writer = open_database(migrated)
    with writer.bind_ctx(m.ALL_MODELS), writer.connection_context():
        load(read_seeds(SEEDS), writer)
    client = export_app(migrated, tmp_path / "exports").test_client()
    first = raw_get(client, EXPORT)
    assert raw_get(client, EXPORT).headers["X-Cache"] == "hit"
    with writer.bind_ctx(m.ALL_MODELS), writer.connection_context():
        load(read_seeds(fewer), writer)  # article 7's figure is gone
    writer.close()
    after = raw_get(client, EXPORT)
    assert after.headers["X-Cache"] == "miss" and after.headers["ETag"] != first.headers["ETag"]
    assert after.get_data().count(b"\r\n") < first.get_data().count(b"\r\n")
    assert raw_get(client, EXPORT).get_data() == after.get_data()


def test_the_disk_store_stays_within_its_bytes(loaded, tmp_path):
    directory = tmp_path / "exports"
    one = len(raw_get(export_app(loaded, tmp_path / "sizing").test_client(), EXPORT).get_data())
    app = export_app(loaded, directory, EXPORT_CACHE_BYTES=int(one * 2.5))
    client = app.test_client()
    paths = [EXPORT, f"{EXPORT}&sort=id", f"{EXPORT}&sort=-id", f"{EXPORT}&sort=value"]
    for path in paths:
        assert raw_get(client, path).headers["X-Cache"] == "miss"
        sizes = [p.stat().st_size for p in directory.glob("*.body")]
        assert sum(sizes) <= int(one * 2.5)
    assert len(list(directory.glob("*.body"))) == 2
    assert raw_get(client, paths[-1]).headers["X-Cache"] == "hit"  # the last kept, the first dropped
    assert raw_get(client, paths[0]).headers["X-Cache"] == "miss"
    assert app.extensions[EXPORTS].max_bytes == int(one * 2.5)


def test_a_store_that_cannot_write_still_sends_the_whole_export(loaded, tmp_path):
    directory = tmp_path / "exports"
    client = export_app(loaded, directory).test_client()
    expected = raw_get(export_app(loaded, tmp_path / "other").test_client(), EXPORT).get_data()
    shutil.rmtree(directory)  # a temp folder cleaned away under a running server
    response = raw_get(client, EXPORT)
    assert response.status_code == 200 and response.get_data() == expected
    assert raw_get(client, EXPORT).headers["X-Cache"] == "miss"
    assert not directory.exists()
