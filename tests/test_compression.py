"""Compression: each encoding a client may ask for, decoded to the same bytes; Vary; an ETag of
its own per encoding, and 304 only for the tag that was sent; small bodies and downloads left
as they are; the response cache keeping what it sent, compressed, so a hit compresses nothing.

Raw test clients: the validating one reads bodies as JSON, and these are compressed."""

import gzip

import brotli
import pytest
from flask_compress.compat import compression

from tests.support import close_app, make_app

DECODE = {"gzip": gzip.decompress, "br": brotli.decompress, "zstd": compression.zstd.decompress}
BIG = "/v1/figures?limit=500"


@pytest.fixture(scope="module")
def raw(app):
    return app.test_client()


@pytest.mark.parametrize("encoding", sorted(DECODE))
def test_each_encoding_decodes_to_the_identity_body(raw, encoding):
    plain = raw.get(BIG)
    packed = raw.get(BIG, headers={"Accept-Encoding": encoding})
    assert plain.headers.get("Content-Encoding") is None
    assert packed.headers["Content-Encoding"] == encoding
    assert DECODE[encoding](packed.data) == plain.data
    assert len(packed.data) * 3 < len(plain.data)
    assert int(packed.headers["Content-Length"]) == len(packed.data)
    assert "Accept-Encoding" in packed.headers["Vary"] and "Accept" in packed.headers["Vary"]


def test_the_client_preference_wins_and_zstd_breaks_ties(raw):
    assert raw.get(BIG, headers={"Accept-Encoding": "gzip, deflate, br, zstd"}).headers["Content-Encoding"] == "zstd"
    assert raw.get(BIG, headers={"Accept-Encoding": "gzip;q=1, br;q=0.5"}).headers["Content-Encoding"] == "gzip"
    assert raw.get(BIG, headers={"Accept-Encoding": "identity"}).headers.get("Content-Encoding") is None


def test_each_encoding_has_its_own_etag_and_304(raw):
    tags = {}
    for encoding in ("", "gzip", "br"):
        response = raw.get(BIG, headers={"Accept-Encoding": encoding})
        tags[encoding] = response.headers["ETag"]
    assert len(set(tags.values())) == 3
    assert tags["gzip"] == tags[""][:-1] + ':gzip"'
    assert raw.get(BIG, headers={"Accept-Encoding": "gzip", "If-None-Match": tags["gzip"]}).status_code == 304
    # A tag of another encoding is another representation: the client gets the body.
    assert raw.get(BIG, headers={"Accept-Encoding": "br", "If-None-Match": tags["gzip"]}).status_code == 200
    assert raw.get(BIG, headers={"Accept-Encoding": "gzip", "If-None-Match": tags[""]}).status_code == 200
    assert raw.get(BIG, headers={"If-None-Match": tags[""]}).status_code == 304


@pytest.mark.parametrize(
    ("path", "mimetype"),
    [
        ("/v1/openapi.yaml", "application/yaml"),
        ("/v1/figures?format=csv", "text/csv"),
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-ui.css", "text/css"),
        ("/explore/figures", "text/html"),
    ],
)
def test_text_types_are_compressed(raw, path, mimetype):
    response = raw.get(path, headers={"Accept-Encoding": "br"})
    assert response.mimetype == mimetype and response.headers["Content-Encoding"] == "br"
    assert brotli.decompress(response.data) == raw.get(path).data


def test_small_bodies_and_downloads_are_sent_as_they_are(raw):
    small = raw.get("/v1/versions?limit=1", headers={"Accept-Encoding": "gzip"})
    assert len(small.data) < 1024 and small.headers.get("Content-Encoding") is None
    zipped = raw.get("/v1/downloads/dataset.zip", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.headers.get("Content-Encoding") is None
    assert zipped.data[:2] == b"PK"


@pytest.fixture
def cached_client(shared_url):
    app = make_app(shared_url)
    yield app.test_client()
    close_app(app)


def test_a_cache_hit_is_what_was_sent_compressed_once(cached_client, monkeypatch):
    client = cached_client
    first = client.get(BIG, headers={"Accept-Encoding": "gzip"})
    assert first.headers["X-Cache"] == "miss" and first.headers["Content-Encoding"] == "gzip"
    calls = []
    monkeypatch.setattr(gzip, "compress", lambda *args, **kwargs: calls.append(1))
    hit = client.get(BIG, headers={"Accept-Encoding": "x-unknown, gzip"})  # spelled otherwise, the same encoding
    assert hit.headers["X-Cache"] == "hit" and hit.data == first.data and calls == []
    assert hit.headers["ETag"] == first.headers["ETag"]
    assert client.get(BIG, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]}).status_code == 304
    plain = client.get(BIG)  # another encoding is another entry
    assert plain.headers["X-Cache"] == "miss" and plain.headers.get("Content-Encoding") is None
