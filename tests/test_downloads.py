"""The whole dataset as one file, on SQLite and PostgreSQL: a zip of CSVs that the
`frictionless` library validates as a data package, and a SQLite file with every row of
every table; both linked from /v1 and the explorer, built once per loaded dataset (safely
when workers race), streamed in batches, and revalidated by ETag."""

import csv
import dataclasses
import io
import sqlite3
import threading
import zipfile
from contextlib import closing
from decimal import Decimal

import frictionless
import pytest
from playhouse.test_utils import count_queries

from api.query import pagination
from api.store import models as m
from api.store.db import open_database
from api.web import downloads
from tests.support import ValidatingClient

ZIP = "/v1/downloads/dataset.zip"
SQLITE = "/v1/downloads/dataset.sqlite"


@pytest.fixture
def downloads_dir(tmp_path):
    return tmp_path / "downloads"


@pytest.fixture
def download_app(loaded, downloads_dir):
    from api import create_app

    return create_app({"DATABASE_URL": loaded, "TESTING": True, "DOWNLOADS_DIR": str(downloads_dir)})


@pytest.fixture
def dl_client(download_app, openapi):
    return ValidatingClient(download_app.test_client(), openapi)


@pytest.fixture
def builds(monkeypatch):
    """How many times each kind of file was built."""
    counts = {"zip": 0, "sqlite": 0}
    for kind, build in list(downloads.BUILDERS.items()):

        def counted(path, dataset, record_types, kind=kind, build=build):
            counts[kind] += 1
            build(path, dataset, record_types)

        monkeypatch.setitem(downloads.BUILDERS, kind, counted)
    return counts


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


def test_the_sqlite_file_holds_every_row_of_every_table(dl_client, loaded, tmp_path):
    response = fetch(dl_client, SQLITE)
    assert response.mimetype == "application/vnd.sqlite3"
    path = tmp_path / "civicfacts.sqlite"
    path.write_bytes(response.get_data())
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with closing(open_database(loaded)) as served, closing(open_database(f"sqlite:///{path}")) as copied:
        for model in m.ALL_MODELS:
            assert table_rows(copied, model) == table_rows(served, model), model._meta.table_name


# --- links ------------------------------------------------------------------------------------


def test_the_index_and_the_explorer_link_both_downloads(dl_client):
    links = fetch(dl_client, "/v1").get_json()["data"]["links"]
    assert links["download_zip"] == f"http://localhost{ZIP}" and links["download_sqlite"] == f"http://localhost{SQLITE}"
    assert links["explorer"] == "http://localhost/"
    home = fetch(dl_client, "/").get_data(as_text=True)
    assert f'href="http://localhost{ZIP}"' in home and f'href="http://localhost{SQLITE}"' in home


# --- building and caching ---------------------------------------------------------------------


def test_each_file_is_built_once_per_dataset_and_again_after_a_reload(dl_client, builds, loaded, seed_set, downloads_dir):
    first = fetch(dl_client, ZIP)
    second = fetch(dl_client, ZIP)
    assert builds["zip"] == 1 and first.get_data() == second.get_data()
    assert first.headers["ETag"] == second.headers["ETag"]
    fetch(dl_client, SQLITE)
    assert builds == {"zip": 1, "sqlite": 1}

    from api.ingest.load import load

    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS):
        load(dataclasses.replace(seed_set, version="a-new-version"), database)  # as if the seeds had changed
    database.close()
    third = fetch(dl_client, ZIP)
    assert builds["zip"] == 2 and third.headers["ETag"] != first.headers["ETag"]
    built = sorted(p.name for p in downloads_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert len(built) == 3, built  # the two zips (the one a reload replaced is kept a while) and the sqlite
    assert not list(downloads_dir.rglob("*.partial"))


def test_a_client_with_the_current_file_gets_304_without_a_build(dl_client, download_app, builds):
    tag = fetch(download_app.test_client(), ZIP).headers["ETag"]
    assert builds["zip"] == 1
    again = dl_client.get(ZIP, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    head = dl_client.head(SQLITE)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) > 0


def test_workers_racing_to_build_make_one_file_and_all_serve_it_whole(download_app, builds, downloads_dir):
    bodies, errors = [], []
    start = threading.Barrier(4)

    def download():
        try:
            start.wait()
            response = download_app.test_client().get(ZIP)
            bodies.append((response.status_code, response.get_data()))
        except Exception as exc:  # noqa: BLE001 - reported below, with the thread's own traceback lost
            errors.append(exc)

    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert builds["zip"] == 1
    assert {status for status, _ in bodies} == {200} and len({body for _, body in bodies}) == 1
    assert zipfile.ZipFile(io.BytesIO(bodies[0][1])).testzip() is None
    assert [p.suffix for p in downloads_dir.rglob("civicfacts-*")] == [".zip"]


def test_a_build_that_fails_leaves_no_file_behind(download_app, monkeypatch, downloads_dir):
    def broken(path, dataset, record_types):
        path.write_bytes(b"half a zip")
        raise OSError("disk full")

    monkeypatch.setitem(downloads.BUILDERS, "zip", broken)
    with download_app.test_request_context(ZIP):
        download_app.preprocess_request()
        with pytest.raises(OSError, match="disk full"):
            downloads.built("zip", m.Dataset.select().first())
        download_app.do_teardown_request()
    assert [p.name for p in downloads_dir.rglob("*") if p.is_file()] == [".lock"]


def test_the_build_reads_in_batches_and_batches_change_nothing(download_app, monkeypatch, tmp_path):
    whole = fetch(download_app.test_client(), ZIP).get_data()
    monkeypatch.setattr(pagination, "BATCH", 7)
    monkeypatch.setitem(download_app.config, "DOWNLOADS_DIR", str(tmp_path / "small-batches"))
    with count_queries() as counter:
        batched = fetch(download_app.test_client(), ZIP).get_data()
    sql = [q.msg[0] if isinstance(q.msg, tuple) else str(q.msg) for q in counter.get_queries()]
    quotes = len(csv_rows_in(batched, "citation.csv"))
    reads = [q for q in sql if 'FROM "citation"' in q]
    # Every read of the quote table is a batch of 7 (or the few quotes of a batch of records): none takes it whole.
    assert sum(1 for q in reads if "LIMIT" in q) >= quotes / 7
    assert all("LIMIT" in q or "record_id" in q for q in reads)

    def members(body):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    assert members(batched) == members(whole)


def test_an_odd_dataset_version_cannot_escape_the_cache_or_the_header(dl_client, loaded, seed_set, downloads_dir):
    from api.ingest.load import load

    database = open_database(loaded)
    with database.bind_ctx(m.ALL_MODELS):
        load(dataclasses.replace(seed_set, version='../../x"\r\nSet-Cookie: y'), database)
    database.close()
    response = fetch(dl_client, ZIP)
    assert "\n" not in response.headers["Content-Disposition"] and "/" not in response.headers["Content-Disposition"]
    assert "Set-Cookie" not in response.headers
    assert all(path.resolve().is_relative_to(downloads_dir.resolve()) for path in downloads_dir.parent.rglob("civicfacts-*"))
