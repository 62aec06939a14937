"""The whole dataset as one file, on SQLite and PostgreSQL: a zip of CSVs that the
`frictionless` library validates as a data package, and a SQLite file with the same tables,
typed and with their keys; both linked from /v1 and the explorer, built by the load (never by a
request), kept in the database in chunks, sent whole with their length, and revalidated by ETag."""

import copy
import csv
import dataclasses
import hashlib
import io
import json
import sqlite3
import zipfile
from contextlib import closing
from decimal import Decimal

import frictionless
import pytest
from playhouse.test_utils import count_queries

from api.query import pagination
from api.store import models as m
from api.store.db import open_database
from tests.support import request_queries

ZIP = "/v1/downloads/dataset.zip"
SQLITE = "/v1/downloads/dataset.sqlite"
COLLECTIONS = set(m.RECORD_MODELS)


@pytest.fixture
def dl_client(client):
    """These tests only read: the shared database's downloads, built when it was loaded."""
    return client


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.get_data()[:300])
    return response


def unzip(body, into):
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        archive.extractall(into)
        return sorted(archive.namelist())


def csv_rows_in(body, name):
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def csv_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# --- what the files hold ------------------------------------------------------------------


def test_the_zip_is_a_valid_frictionless_data_package(dl_client, tmp_path):
    response = fetch(dl_client, ZIP)
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="civicfacts-')
    names = unzip(response.get_data(), tmp_path / "package")
    tables = [model._meta.table_name for model in m.LINK_MODELS if model is not m.SearchEntry] + ["unit", "term"]
    assert names == sorted(["datapackage.json", *(f"{c}.csv" for c in m.RECORD_MODELS), *(f"{t}.csv" for t in tables)])

    report = frictionless.validate(tmp_path / "package" / "datapackage.json")
    assert report.valid, report.flatten(["taskName", "rowNumber", "fieldName", "type", "note"])[:10]
    package = frictionless.Package(tmp_path / "package" / "datapackage.json")
    for resource in package.resources:
        for field in resource.schema.fields:
            assert field.description, (resource.name, field.name)
    figures = package.get_resource("figures").schema
    assert figures.get_field("value").type == "number" and "unit" in figures.get_field("value").description
    assert {"fields": ["unit"], "reference": {"resource": "unit", "fields": ["code"]}} in figures.foreign_keys
    counts = fetch(dl_client, "/v1").get_json()["data"]["collections"]
    for name, entry in counts.items():
        assert len(csv_rows(tmp_path / "package" / f"{name}.csv")) == entry["count"], name


def test_frictionless_would_catch_a_broken_package(dl_client, tmp_path):
    """The validation above is not vacuous: a value that is no number, or a link to no figure, fails it."""
    unzip(fetch(dl_client, ZIP).get_data(), tmp_path)
    path = tmp_path / "figure_subject.csv"
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[1].split(",")[0]
    path.write_text(text.replace(first, "no-such-figure", 1), encoding="utf-8")
    report = frictionless.validate(tmp_path / "datapackage.json")
    assert not report.valid
    assert {error.type for task in report.tasks for error in task.errors} == {"foreign-key"}


def test_each_collection_csv_in_the_zip_is_the_one_the_api_serves(dl_client, tmp_path):
    unzip(fetch(dl_client, ZIP).get_data(), tmp_path)
    for collection in m.RECORD_MODELS:
        served = fetch(dl_client, f"/v1/{collection}?format=csv").get_data()
        assert (tmp_path / f"{collection}.csv").read_bytes() == served, collection


def comparable(value):
    # SQLite keeps a decimal with the digits it needs (101.3), PostgreSQL with its scale (101.300000).
    return str(value.normalize()) if isinstance(value, Decimal) else str(value)


def table_rows(database, model):
    with database.bind_ctx([model]):
        return sorted(tuple(comparable(v) for v in row) for row in model.select(*model._meta.sorted_fields).tuples())


def test_the_sqlite_file_holds_the_zip_tables_typed_named_and_linked(dl_client, tmp_path):
    """Each CSV of the zip is a table of the same name with the same rows (typed: numbers as
    numbers, empty as NULL), the data package's keys declared and every reference resolving;
    record tables have a `name` for Datasette to label rows by; nothing the API keeps for itself."""
    response = fetch(dl_client, SQLITE)
    assert response.mimetype == "application/vnd.sqlite3"
    path = tmp_path / "civicfacts.sqlite"
    path.write_bytes(response.get_data())
    archive = fetch(dl_client, ZIP).data
    package = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("datapackage.json"))
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {r["name"] for r in package["resources"]} | {"dataset"}
        for resource in package["resources"]:
            name = resource["name"]
            expected = csv_rows_in(archive, resource["path"])
            cursor = raw.execute(f'SELECT * FROM "{name}"')
            names = [d[0] for d in cursor.description]
            got = [dict(zip(names, row, strict=True)) for row in cursor]
            assert len(got) == len(expected), name
            declared = {(k["fields"], k["reference"]["resource"], k["reference"]["fields"]) for k in resource["schema"].get("foreignKeys", [])}
            keys = {(row[3], row[2], row[4]) for row in raw.execute(f'PRAGMA foreign_key_list("{name}")')}
            assert keys == declared, name
            if resource["name"] in COLLECTIONS:
                assert names[:2] == ["id", "name"]
                assert all(row["name"].startswith(row["name_ko"]) for row in got)
        figure = raw.execute("SELECT value, unit, name FROM figures WHERE id = 'kimjang-festival-2023-sales-amount'").fetchone()
        assert figure == (1470000000, "KRW", "판매금액 (Sales amount)")
        assert raw.execute("SELECT name FROM unit WHERE code = 'KRW'").fetchone()[0].endswith(")")
        assert raw.execute("SELECT version FROM dataset").fetchone()[0] == fetch(dl_client, "/v1").get_json()["data"]["dataset"]["version"]


# --- links ------------------------------------------------------------------------------------


def test_the_index_and_the_explorer_link_both_downloads(dl_client):
    links = fetch(dl_client, "/v1").get_json()["data"]["links"]
    assert links["download_zip"] == f"http://localhost{ZIP}" and links["download_sqlite"] == f"http://localhost{SQLITE}"
    assert links["explorer"] == "http://localhost/"
    home = fetch(dl_client, "/").get_data(as_text=True)
    assert f'href="http://localhost{ZIP}"' in home and f'href="http://localhost{SQLITE}"' in home


# --- building and serving ---------------------------------------------------------------------


def downloads_in(url):
    """{kind: (size, sha256, the file's bytes from its chunks)} as the database keeps them."""
    database = open_database(url)
    with database.bind_ctx([m.Download, m.DownloadChunk]):
        out = {}
        for kind, size, digest in m.Download.select(m.Download.kind, m.Download.size, m.Download.sha256).tuples():
            chunks = m.DownloadChunk.select(m.DownloadChunk.data).where(m.DownloadChunk.kind == kind).order_by(m.DownloadChunk.number)
            out[kind] = (size, digest, b"".join(bytes(data) for (data,) in chunks.tuples()))
    database.close()
    return out


def test_the_load_builds_both_files_and_keeps_them_whole(shared_url):
    kept = downloads_in(shared_url)
    assert set(kept) == {"zip", "sqlite"} | {f"csv:{collection}" for collection in COLLECTIONS}
    for kind, (size, digest, body) in kept.items():
        assert len(body) == size > 0 and hashlib.sha256(body).hexdigest() == digest, kind


def test_a_download_is_sent_whole_with_its_length_and_its_hash_as_etag(dl_client, shared_url):
    kept = downloads_in(shared_url)
    for url, kind in ((ZIP, "zip"), (SQLITE, "sqlite")):
        with request_queries(dl_client) as counter:
            response = fetch(dl_client, url)
        assert response.get_data() == kept[kind][2]
        assert response.headers["Content-Length"] == str(kept[kind][0])
        assert response.headers["ETag"] == f'"{kept[kind][1][:32]}"'
        assert not any("INSERT" in str(q.msg) for q in counter.get_queries()), "a request never builds a file"


def test_a_whole_collection_export_is_sent_from_the_file_the_load_kept(dl_client, shared_url):
    """The full CSV of a collection, in page order, is the file the load kept: read in chunks,
    with no look-up of a record's document (a look-up per row took 25 s at 10^6 figures)."""
    kept = downloads_in(shared_url)
    for collection in COLLECTIONS:
        with request_queries(dl_client) as counter:
            response = fetch(dl_client, f"/v1/{collection}?format=csv")
        size, _, body = kept[f"csv:{collection}"]
        assert response.get_data() == body and response.headers["Content-Length"] == str(size), collection
        sql = [str(q.msg) for q in counter.get_queries()]
        assert not any('"document"' in q for q in sql), collection
        if response.headers.get("X-Cache") != "hit":  # another test may have asked for it first
            assert any('"download_chunk"' in q for q in sql), collection


def test_a_filtered_sorted_or_stale_export_is_made_from_the_compiled_lines(writable_client, loaded, shared_url):
    """A filter, a sort or a cursor is not the kept file; nor is a file another load made (between
    a load's commit and its files being kept, they are the previous version's): those are
    made from the compiled lines, and the whole collection so made is the file kept, byte for byte."""
    kept = downloads_in(shared_url)
    with request_queries(writable_client) as counter:
        sorted_export = fetch(writable_client, "/v1/figures?format=csv&sort=-value")
        filtered = fetch(writable_client, "/v1/figures?format=csv&unit=KRW")
    assert all('"download_chunk"' not in str(q.msg) for q in counter.get_queries())
    lines = kept["csv:figures"][2].split(b"\r\n")
    assert sorted(sorted_export.get_data().split(b"\r\n")) == sorted(lines)
    assert set(filtered.get_data().split(b"\r\n")) < set(lines)
    database = open_database(loaded)
    with database.bind_ctx([m.Download]), database.atomic():
        m.Download.update(dataset=None).where(m.Download.kind.startswith("csv:")).execute()
    database.close()
    for collection in COLLECTIONS:
        with request_queries(writable_client) as counter:
            response = fetch(writable_client, f"/v1/{collection}?format=csv")
        assert response.get_data() == kept[f"csv:{collection}"][2], collection
        assert any('"document"' in str(q.msg) for q in counter.get_queries()), collection


def test_a_file_is_kept_in_chunks_of_one_size_but_the_last(loaded, monkeypatch):
    from api.ingest import compile as compiler

    database = open_database(loaded)
    monkeypatch.setattr(compiler, "CHUNK_BYTES", 7)
    with database.bind_ctx(m.ALL_MODELS), database.atomic():
        dataset = m.Dataset.select().order_by(m.Dataset.id.desc()).get()
        for kind, pieces in {"odd": [b"abc", b"defghijklm", b"", b"nop"], "even": [b"0123456", b"789abcd"], "empty": []}.items():
            compiler.keep_file(database, kind, dataset, pieces)
        chunk = m.DownloadChunk
        got = {
            kind: [bytes(d) for (d,) in chunk.select(chunk.data).where(chunk.kind == kind).order_by(chunk.number).tuples()]
            for kind in ("odd", "even", "empty")
        }
        sizes = dict(m.Download.select(m.Download.kind, m.Download.size).where(m.Download.kind.in_(["odd", "even", "empty"])).tuples())
    database.close()
    assert got == {"odd": [b"abcdefg", b"hijklmn", b"op"], "even": [b"0123456", b"789abcd"], "empty": [b""]}
    assert sizes == {"odd": 16, "even": 14, "empty": 0}


def test_a_client_with_the_current_file_gets_304_and_head_answers_without_a_body(dl_client):
    tag = fetch(dl_client, ZIP).headers["ETag"]
    again = dl_client.get(ZIP, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    head = dl_client.head(SQLITE)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) > 0 and head.get_data() == b""


def test_a_reload_builds_new_files_and_the_etag_changes(writable_client, loaded, seed_set):
    from api.ingest.load import load

    first = fetch(writable_client, ZIP)
    changed = copy.deepcopy(seed_set)
    changed.entries["kimjang-festival-2023"].data["note"] = "Corrected."
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS):
        load(dataclasses.replace(changed, version="a-new-version"), database)  # the seeds changed
    database.close()
    second = fetch(writable_client, ZIP)
    assert second.headers["ETag"] != first.headers["ETag"]
    assert "a-new-version" in second.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(second.get_data())) as archive:
        assert '"version": "a-new-version"' in archive.read("datapackage.json").decode("utf-8")


def test_a_database_loaded_without_its_downloads_says_so_with_503(writable_client, loaded):
    database = open_database(loaded)
    with database.bind_ctx([m.Download, m.DownloadChunk]), database.atomic():
        m.DownloadChunk.delete().execute()
        m.Download.delete().execute()
    database.close()
    response = writable_client.get(ZIP)
    assert response.status_code == 503 and "civicfacts load" in response.get_json()["detail"]


def test_the_build_reads_in_batches_and_batches_change_nothing(loaded, monkeypatch, tmp_path):
    from api.formats.download import build_zip
    from api.registry import RECORD_TYPES

    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        dataset = m.Dataset.select().order_by(m.Dataset.id.desc()).get()
        build_zip(tmp_path / "whole.zip", dataset, RECORD_TYPES)
        monkeypatch.setattr(pagination, "BATCH", 7)
        with count_queries() as counter:
            build_zip(tmp_path / "batched.zip", dataset, RECORD_TYPES)
    database.close()
    sql = [q.msg[0] if isinstance(q.msg, tuple) else str(q.msg) for q in counter.get_queries()]
    batched = (tmp_path / "batched.zip").read_bytes()
    quotes = len(csv_rows_in(batched, "citation.csv"))
    reads = [q for q in sql if 'FROM "citation"' in q]
    # Every read of the quote table is a batch of 7: none takes it whole.
    assert reads and all("LIMIT" in q for q in reads) and len(reads) >= quotes / 7

    def members(body):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    assert members(batched) == members((tmp_path / "whole.zip").read_bytes())


def test_an_odd_dataset_version_cannot_escape_the_header(writable_client, loaded, seed_set):
    from api.ingest.load import load

    changed = copy.deepcopy(seed_set)
    changed.entries["kimjang-festival-2023"].data["note"] = "Corrected."
    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS):
        load(dataclasses.replace(changed, version='../../x"\r\nSet-Cookie: y'), database)
    database.close()
    response = fetch(writable_client, ZIP)
    assert "\n" not in response.headers["Content-Disposition"] and "/" not in response.headers["Content-Disposition"]
    assert "Set-Cookie" not in response.headers


def test_zip_entries_extract_readable_by_all(dl_client, tmp_path):
    body = fetch(dl_client, ZIP).data
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        modes = {(info.external_attr >> 16) & 0o777 for info in archive.infolist()}
    assert modes == {0o644}


@pytest.mark.parametrize("url", [ZIP, SQLITE])
def test_a_range_gets_that_part_of_the_file(dl_client, url):
    whole = fetch(dl_client, url)
    size, tag = len(whole.data), whole.headers["ETag"]
    assert whole.headers["Accept-Ranges"] == "bytes"
    for asked, (start, stop) in {"bytes=0-99": (0, 100), "bytes=100-": (100, size), "bytes=-50": (size - 50, size)}.items():
        part = dl_client.get(url, headers={"Range": asked, "If-Range": tag})
        assert part.status_code == 206 and part.data == whole.data[start:stop], asked
        assert part.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{size}"
        assert int(part.headers["Content-Length"]) == stop - start
    # Another version's tag in If-Range, or several ranges: the whole file.
    assert dl_client.get(url, headers={"Range": "bytes=0-99", "If-Range": '"older"'}).data == whole.data
    assert dl_client.get(url, headers={"Range": "bytes=0-9,20-29"}).status_code == 200
    outside = dl_client.get(url, headers={"Range": f"bytes={size}-"})
    assert outside.status_code == 416 and outside.headers["Content-Range"] == f"bytes */{size}"


def test_a_range_across_chunks_is_cut_from_each():
    """Chunks are a MiB in a real load; kept in chunks of 7 bytes, a range still gets exactly its
    bytes, reading only the chunks it covers."""
    from api.query.files import cut

    whole = bytes(range(100))
    read = []

    def chunk(number):
        read.append(number)
        return whole[number * 7 : (number + 1) * 7]

    assert b"".join(cut(chunk, 5, 40, 7)) == whole[5:40] and read == [0, 1, 2, 3, 4, 5]
    for start, stop in [(0, 100), (0, 1), (7, 14), (99, 100), (13, 15), (50, 50)]:
        assert b"".join(cut(chunk, start, stop, 7)) == whole[start:stop], (start, stop)
