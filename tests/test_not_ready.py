"""Served before `civicfacts migrate` or `civicfacts load`, every request is a 503 that says
which step is missing and the command to run (waiting will not mend it): problem+json for an
API client, a page in the explorer's style for a browser; the log names the database, its
password hidden."""

import logging
import uuid

import pytest

from tests.support import PROBLEM_JSON, close_app, make_app, postgres_url

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PATHS = ["/v1", "/v1/figures", "/v1/figures/some-figure", "/", "/explore/figures"]


@pytest.fixture
def app_on():
    made = []

    def on(url):
        app = make_app(url, RESPONSE_CACHE_BYTES=0)
        made.append(app)
        return app

    yield on
    for app in made:
        close_app(app)


def assert_names_the_step(app, *words):
    client = app.test_client()
    for path in PATHS:
        for accept, kind in ((None, PROBLEM_JSON), ("application/json", PROBLEM_JSON), (BROWSER_ACCEPT, "text/html")):
            if accept == "application/json" and not path.startswith("/v1"):
                continue  # the explorer answers HTML only: 406
            response = client.get(path, headers={"Accept": accept} if accept else {})
            assert response.status_code == 503, (path, accept, response.status_code)
            assert response.mimetype == kind, (path, accept)
            assert response.headers["Retry-After"]
            text = response.json["detail"] if kind == PROBLEM_JSON else response.get_data(as_text=True)
            for word in words:
                assert word in text, (path, accept, word, text)
            assert "try again shortly" not in text


def test_before_migrate_every_request_says_to_migrate(database_url, app_on, caplog):
    # database_url: on SQLite a file that does not exist yet; on PostgreSQL a database with no tables
    with caplog.at_level(logging.WARNING, logger="api.web.errors"):
        assert_names_the_step(app_on(database_url), "run `civicfacts migrate`, then `civicfacts load`")
    assert any("not set up" in r.getMessage() and database_url in r.getMessage() for r in caplog.records)


def test_before_load_every_request_says_to_load(migrated, app_on):
    assert_names_the_step(app_on(migrated), "No dataset is loaded yet: run `civicfacts load`.")


def test_the_page_for_browsers_loads_its_style_sheet_without_a_database(database_url, app_on):
    client = app_on(database_url).test_client()
    page = client.get("/", headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    assert 'href="/explore/explorer.css"' in page
    assert client.get("/explore/explorer.css").status_code == 200


def test_a_server_whose_working_directory_is_removed_says_its_database_is_missing(tmp_path, monkeypatch, app_on):
    """A relative SQLite path, and the folder it was relative to deleted under the running
    server: still a 503 naming the database and the step, never a 500 from making the message."""
    folder = tmp_path / "gone"
    folder.mkdir()
    monkeypatch.chdir(folder)
    app = app_on("sqlite:///civicfacts.db")
    folder.rmdir()
    assert_names_the_step(app, "civicfacts.db", "a working directory that no longer exists", "run `civicfacts migrate`, then `civicfacts load`")


@pytest.mark.postgres
def test_a_missing_postgres_database_says_migrate_creates_it_and_hides_the_password(postgres_server_url, app_on, caplog):
    if postgres_server_url is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    url = postgres_url(postgres_server_url, f"civicfacts_absent_{uuid.uuid4().hex[:10]}")
    with_password = url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")
    with caplog.at_level(logging.WARNING, logger="api.web.errors"):
        assert_names_the_step(app_on(with_password), "does not exist yet", "(migrate creates it)")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "postgres:***@" in logged
    assert "hunter2" not in logged


@pytest.mark.parametrize(
    ("error", "step"),
    [
        ("unable to open database file", None),  # the file exists: not a missing step (a permission, a full disk)
        ("no such table: dataset", "lacks its tables: run `civicfacts migrate`, then `civicfacts load`."),
        ('relation "dataset" does not exist\nLINE 1: SELECT ...', "lacks its tables"),
        ("no such column: t1.extra", "lacks a migration: run `civicfacts migrate`."),
        ('column "extra" does not exist', "lacks a migration"),
        ('connection failed: FATAL:  database "civicfacts" does not exist', "civicfacts does not exist yet"),
        ("database is locked", None),
        ("connection failed: Connection refused", None),
    ],
)
def test_a_missing_step_is_told_from_a_database_that_is_down(error, step, tmp_path):
    from api.store.readiness import missing_step

    url = f"sqlite:///{tmp_path}/civicfacts.db"
    (tmp_path / "civicfacts.db").touch()
    found = missing_step(Exception(error), url if "database file" in error or "such" in error else "postgresql://u:pw@h/civicfacts")
    assert (found is None) if step is None else (step in found), found
    assert found is None or "pw" not in found
