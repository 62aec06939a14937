"""Faults in the database: the API answers 503 problem+json (not a 500, not a hang) while the
database is locked or gone, and recovers by itself when it is back.

PostgreSQL is stopped only in an instance this test starts itself (never the shared
server on port 5432)."""

import contextlib
import errno
import http.client
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from api import create_app
from api.ingest.load import one_load_at_a_time
from api.ingest.read import read_seeds
from api.store.db import POSTGRES_CONNECT_TIMEOUT, open_database
from tests import reliability
from tests.support import SEEDS, migrate, wait_until_listening

# Locks held for seconds, PostgreSQL servers started and stopped.
pytestmark = pytest.mark.slow

PG_BIN = next(iter(sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin"))), None)


def get(client, path="/v1/figures?limit=5"):
    started = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - started


def assert_unavailable(response, elapsed):
    assert response.status_code == 503, response.data
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    assert "database" in response.get_json()["detail"].lower()
    assert elapsed < 10, f"took {elapsed:.1f}s: a fault must not hang the request"


def loaded_sqlite(tmp_path):
    from api.ingest.load import load
    from api.ingest.read import read_seeds

    url = f"sqlite:///{tmp_path}/faults.db"
    database = migrate(url)
    with database.connection_context():
        load(read_seeds(SEEDS), database)
    return url, tmp_path / "faults.db"


@contextlib.contextmanager
def locked(url):
    """Hold the lock a writer takes that readers must wait for: SQLite's exclusive lock on the
    file; on PostgreSQL an ACCESS EXCLUSIVE lock on a table every list reads (as a migration
    altering it would)."""
    if url.startswith("sqlite"):
        locker = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
        locker.execute("PRAGMA locking_mode = EXCLUSIVE")
        locker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            locker.rollback()
            locker.close()
        return
    import psycopg

    with psycopg.connect(url) as locker:
        locker.execute("LOCK TABLE dataset IN ACCESS EXCLUSIVE MODE")
        yield
        locker.rollback()


def test_a_locked_database_is_503_then_recovers(loaded):
    # A short time limit, so that PostgreSQL's wait for the lock ends as SQLite's busy timeout does.
    client = create_app({"DATABASE_URL": loaded, "QUERY_TIMEOUT_MS": 1000}).test_client()
    assert client.get("/v1/figures?limit=5").status_code == 200
    # The app's pool keeps connections open between requests, and an open reader of a WAL
    # database stops anyone from taking it exclusively: close them, as a restart would.
    from api.store.db import db

    db.obj.close_idle()
    with locked(loaded):
        for path in ("/v1", "/v1/figures?limit=5", "/v1/search?q=김장"):
            response, elapsed = get(client, path)
            assert_unavailable(response, elapsed)
        assert client.get("/docs").status_code == 200  # what needs no database is still served
    assert client.get("/v1/figures?limit=5").status_code == 200


def test_a_missing_sqlite_database_is_503_then_recovers_when_it_is_made(tmp_path):
    client = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/faults.db"}).test_client()
    response, elapsed = get(client)
    assert_unavailable(response, elapsed)
    assert not (tmp_path / "faults.db").exists(), "a read-only request must not create the database"
    assert client.get("/v1/nowhere").status_code == 404  # routing needs no database

    loaded_sqlite(tmp_path)
    assert client.get("/v1/figures?limit=5").status_code == 200


def test_a_query_past_the_time_limit_is_cut_off(tmp_path, database_url, seed_set):
    from api.ingest.load import load
    from api.store.db import db

    database = migrate(database_url)
    with database.connection_context():
        load(seed_set, database)
    app = create_app({"DATABASE_URL": database_url, "QUERY_TIMEOUT_MS": 200})
    slow = (
        "SELECT pg_sleep(3)"
        if database_url.startswith("postgres")
        else ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) SELECT count(*) FROM n")
    )
    # A route of this test only: no real route is slow enough on the seed data to show it.
    app.add_url_rule("/slow", "slow", lambda: str(db.execute_sql(slow).fetchone()))
    response, elapsed = get(app.test_client(), "/slow")
    assert response.status_code == 503, response.data
    assert response.mimetype == "application/problem+json"
    assert elapsed < 2.5
    assert app.test_client().get("/v1/figures?limit=5").status_code == 200


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*command):
    """Run a PostgreSQL server binary as the postgres user (they refuse to run as root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + [str(c) for c in command], check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own, on a free port, as an OwnPostgres."""
    if os.environ.get("TEST_DATABASE_URL") is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    if PG_BIN is None:  # CI asked for PostgreSQL: it must not pass by skipping
        pytest.fail("PostgreSQL server binaries are not installed (Debian package postgresql)", pytrace=False)
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    root = pathlib.Path(tempfile.mkdtemp(prefix="civicfacts-pg-"))
    data = root / "data"
    port = None

    def start():
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        as_postgres(PG_BIN / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w", "start")

    def stop():
        as_postgres(PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")

    def postmaster_pid():
        return int((data / "postmaster.pid").read_text().split()[0])

    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        as_postgres(PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        for attempt in range(3):  # a free port can be taken between finding it and binding it
            port = free_port()
            try:
                start()
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
        yield OwnPostgres(f"postgresql://postgres@127.0.0.1:{port}/postgres", start, stop, postmaster_pid)
    finally:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class OwnPostgres:
    url: str
    start: Callable
    stop: Callable
    postmaster_pid: Callable


def serving(own_postgres):
    from api.ingest.load import load
    from api.ingest.read import read_seeds

    database = migrate(own_postgres.url)
    with database.connection_context():
        load(read_seeds(SEEDS), database)
    client = create_app({"DATABASE_URL": own_postgres.url}).test_client()
    assert client.get("/v1/figures?limit=5").status_code == 200
    return client


def assert_recovers(client):
    deadline = time.monotonic() + 20
    while client.get("/v1/figures?limit=5").status_code != 200:
        assert time.monotonic() < deadline, "the API did not recover after PostgreSQL came back"
        time.sleep(0.2)


PATHS = ("/v1", "/v1/figures?limit=5", "/v1/figures/kimjang-festival-2023-sales-amount", "/v1/search?q=김장")


def test_a_stopped_postgres_is_503_then_recovers(own_postgres):
    client = serving(own_postgres)
    own_postgres.stop()
    for path in PATHS:
        response, elapsed = get(client, path)
        assert_unavailable(response, elapsed)
    assert client.get("/docs").status_code == 200
    own_postgres.start()
    assert_recovers(client)


def test_a_frozen_postgres_is_503_within_the_connect_timeout_then_recovers(own_postgres):
    """A server that accepts connections and never answers (here: its postmaster stopped with
    SIGSTOP) is the unreachable case that hangs a naive client; connect_timeout ends the wait."""
    client = serving(own_postgres)
    # A frozen postmaster takes no new connection, but the backends of open ones still answer:
    # the pool's connections would go on serving. Close them, so the next request must connect.
    from api.store.db import db

    db.obj.close_idle()
    pid = own_postgres.postmaster_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        for path in PATHS[:2]:
            response, elapsed = get(client, path)
            assert_unavailable(response, elapsed)
            assert elapsed >= POSTGRES_CONNECT_TIMEOUT - 1, "the answer came before the server could have"
    finally:
        os.kill(pid, signal.SIGCONT)
    assert_recovers(client)


# --- the pool's trust in a connection just given back ---------------------------------


# The trusting pool is PostgreSQL's: these run on PostgreSQL alone.
POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


def pooled_postgres(loaded):
    client = create_app({"DATABASE_URL": loaded}).test_client()
    from api.store.db import db
    from api.store.fastpath import TrustingPostgresqlPool

    assert isinstance(db.obj, TrustingPostgresqlPool)
    return client, db.obj


@POSTGRES_ONLY
def test_a_connection_given_back_just_now_is_handed_out_without_a_ping(loaded, monkeypatch):
    client, pool = pooled_postgres(loaded)
    pings = []
    real = type(pool._adapter).is_connection_closed
    monkeypatch.setattr(type(pool._adapter), "is_connection_closed", lambda self, conn: pings.append(1) or real(self, conn))
    assert client.get("/v1/figures?limit=5").status_code == 200
    assert client.get("/v1/figures?limit=5").status_code == 200
    assert pings == []
    monkeypatch.setattr("api.store.fastpath.POOL_TRUST_SECONDS", 0)  # every connection too old to trust: pinged again
    assert client.get("/v1/figures?limit=5").status_code == 200
    assert pings


@POSTGRES_ONLY
def test_a_trusted_connection_the_server_dropped_costs_no_500(loaded):
    client, pool = pooled_postgres(loaded)
    assert client.get("/v1/figures?limit=5").status_code == 200
    backends = [conn.info.backend_pid for _, _, conn in pool._connections]
    assert backends, "the request gave its connection back to the pool"
    import psycopg

    with psycopg.connect(loaded, autocommit=True) as admin:
        for pid in backends:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    statuses = []
    for _ in range(4):
        response = client.get("/v1/figures?limit=5")
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.mimetype == "application/problem+json"
    assert set(statuses) <= {200, 503} and statuses[-2:] == [200, 200], statuses
    assert all(conn.info.backend_pid not in backends for _, _, conn in pool._connections)


# --- loads one at a time ----------------------------------------------------------------------

CIVICFACTS = pathlib.Path(sys.executable).parent / "civicfacts"


def seeds_with_a_new_word(tmp_path, word):
    """A copy of the seeds whose one note gains `word`: a load that changes a record and the word index."""
    copy = tmp_path / f"seeds-{word}"
    shutil.copytree(SEEDS, copy)
    book = next(copy.glob("07_*.yaml"))
    text = book.read_text(encoding="utf-8")
    book.write_text(text.replace("Publisher of <", f"{word} publisher of <", 1), encoding="utf-8")
    return copy


def civicfacts_load(url, seeds_dir):
    return subprocess.Popen([CIVICFACTS, "load", "--database", url, seeds_dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def versions(url):
    database = open_database(url)
    with database.connection_context():
        return [row[0] for row in database.execute_sql("SELECT seeds_hash FROM dataset ORDER BY id")]


@contextlib.contextmanager
def another_load(url):
    """Hold the load lock as a running `civicfacts load` holds it."""
    database = open_database(url)
    with database.connection_context(), one_load_at_a_time(database):
        yield


def test_a_load_while_another_runs_is_refused_clearly_and_writes_nothing(loaded, tmp_path):
    seeds = seeds_with_a_new_word(tmp_path, "zebragiraffe")
    before = versions(loaded)
    with another_load(loaded):
        process = civicfacts_load(loaded, seeds)
        out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err
    assert "another load is running" in err and "Traceback" not in err, err
    assert versions(loaded) == before
    process = civicfacts_load(loaded, seeds)  # once the other has finished, it loads
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert len(versions(loaded)) == len(before) + 1


def test_a_sqlite_load_meeting_another_writer_says_so_instead_of_a_traceback(tmp_path):
    """Another writer than a load (holding SQLite's write lock past busy_timeout): the load's
    BEGIN IMMEDIATE is refused up front with the same sentence, not "database is locked" midway."""
    url, path = loaded_sqlite(tmp_path)
    seeds = seeds_with_a_new_word(tmp_path, "zebragiraffe")
    before = versions(url)
    writer = sqlite3.connect(path, timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")
        process = civicfacts_load(url, seeds)
        out, err = process.communicate(timeout=120)
    finally:
        writer.rollback()
        writer.close()
    assert process.returncode == 1, out + err
    assert "another load is running" in err and "Traceback" not in err, err
    assert versions(url) == before


def search_answers(url, words):
    client = create_app({"DATABASE_URL": url, "RESPONSE_CACHE_BYTES": 0}).test_client()
    answers = {}
    for word in words:
        body = client.get(f"/v1/search?q={word}&limit=500").get_json()
        answers[word] = (body["meta"]["total"], [(hit["type"], hit["id"]) for hit in body["data"]])
    return answers


def test_two_loads_at_once_run_one_at_a_time(loaded, backend, tmp_path, request):
    """Two `civicfacts load` processes at once: each loads whole or is refused with a sentence,
    and the word index is what a clean load of the seeds that won gives (on PostgreSQL both
    loads used to commit, and the index kept both's rows)."""
    folders = {read_seeds(path).version: path for path in (seeds_with_a_new_word(tmp_path, w) for w in ("zebragiraffe", "okapiwombat"))}
    before = versions(loaded)
    processes = [civicfacts_load(loaded, path) for path in folders.values()]
    outcomes = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in processes]
    for process in processes:
        process.stdout.close()
        process.stderr.close()
    for code, out, err in outcomes:
        assert "Traceback" not in err, err
        assert code == 0 or (code == 1 and "another load is running" in err), out + err
    assert any(code == 0 for code, _, _ in outcomes)
    after = versions(loaded)
    assert after[: len(before)] == before and 1 <= len(after) - len(before) <= 2
    winner = folders[after[-1]]
    clean = f"sqlite:///{tmp_path}/clean.db"
    migrate(clean).close()
    subprocess.run([CIVICFACTS, "load", "--database", clean, winner], check=True, capture_output=True, timeout=300)
    words = ["zebragiraffe", "okapiwombat", "김장", "광주", "publisher", "books", "2023", "억", "festival", "school"]
    assert search_answers(loaded, words) == search_answers(clean, words)
    reliability.count(f"faults|two `civicfacts load` processes at once, one at a time|{backend}")


# --- the disk store of big exports failing ----------------------------------------------------

EXPORT = "/v1/figures?format=csv"


def read_only(*args, **kwargs):
    raise OSError(errno.EROFS, "Read-only file system")


def export_client(url, directory):
    """A client whose every export of more than 4000 bytes goes to the disk store in `directory`."""
    return create_app({"DATABASE_URL": url, "RESPONSE_CACHE_ENTRY_BYTES": 4000, "EXPORTS_DIR": str(directory)}).test_client()


def whole_export(client):
    response = client.get(EXPORT)
    body = response.get_data()
    response.close()
    assert response.status_code == 200 and response.headers["Content-Length"] == str(len(body))
    return response.headers.get("X-Cache"), body


@pytest.mark.parametrize("when", ["before the export is kept", "once it is kept", "midway through writing it"])
def test_an_export_store_that_fails_never_cuts_the_response(loaded, tmp_path, monkeypatch, when):
    """A read-only exports folder (every write, rename, unlink and utime failing with EROFS,
    which unlink's missing_ok does not cover), or a disk that fills midway: the export is sent
    whole all the same, and only the copy on disk is given up."""
    from api.web import export_store

    expected = whole_export(export_client(loaded, tmp_path / "reference"))[1]
    client = export_client(loaded, tmp_path / "exports")
    if when == "once it is kept":
        assert whole_export(client) == ("miss", expected)
    real_open = open

    def opener(path, mode="r", *args, **kwargs):
        if when == "midway through writing it" and "w" in mode:
            handle = real_open(path, mode, *args, **kwargs)
            handle.write = lambda data: read_only() if data else 0  # noqa: ARG005 - the disk fills at the first write
            return handle
        return read_only() if "w" in mode else real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(export_store, "open", opener, raising=False)
    for name in ("unlink", "write_text", "rename", "replace"):
        monkeypatch.setattr(pathlib.Path, name, read_only)
    monkeypatch.setattr(export_store.os, "utime", read_only)
    monkeypatch.setattr(export_store.os, "replace", read_only)
    for _ in range(2):
        cache, body = whole_export(client)
        assert body == expected
    assert cache == ("hit" if when == "once it is kept" else "miss")


# --- an export the database fails midway -------------------------------------------------------

# The app, with the database failing under a CSV export after its first batch (of 5 rows):
# as a terminated PostgreSQL backend or a SQLite error midway would. Served by granian itself.
FAILING_EXPORT_APP = """
import peewee

import api
import api.formats.csv_export as csv_export
from api.query import files, pagination

pagination.BATCH = 5
walk = csv_export.keyset_batches


def failing(*args, **kwargs):
    for number, batch in enumerate(walk(*args, **kwargs)):
        if number == 1:
            raise peewee.OperationalError("terminating connection due to administrator command")
        yield batch


csv_export.keyset_batches = failing
kept_chunks = files.chunks


def failing_file(*args, **kwargs):
    # A whole collection's export is the file the load kept, read a chunk per query: the
    # database fails after the first bytes of it.
    for chunk in kept_chunks(*args, **kwargs):
        yield chunk[:100]
        raise peewee.OperationalError("terminating connection due to administrator command")


files.chunks = failing_file


def create_app():
    return api.create_app()
"""


@contextlib.contextmanager
def granian_serving(module_dir, module, url):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": f"{module_dir}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [pathlib.Path(sys.executable).parent / "granian", "--interface", "wsgi", "--factory", "--workers", "1"]
    command += ["--blocking-threads", "1", "--port", str(port), f"{module}:create_app"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(server, port, "granian")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_export_the_database_fails_midway_is_cut_off_not_ended(loaded, backend, tmp_path):
    """The export's length is sent before its first byte, so when the database fails midway the
    server closes the connection short of it: every HTTP client reports an incomplete body,
    where a chunked stream would have ended cleanly, as if whole (granian ends it so)."""
    (tmp_path / "failing_export.py").write_text(FAILING_EXPORT_APP, encoding="utf-8")
    with granian_serving(tmp_path, "failing_export", loaded) as port:
        for path in (EXPORT, "/v1/figures?format=csv&sort=-value", "/v1/sources?format=csv"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("GET", path)
                try:
                    response = connection.getresponse()
                except http.client.RemoteDisconnected:
                    # The failure came before granian had sent the status line (a race it can
                    # lose on a busy machine): the connection is cut, which no client takes for
                    # a whole answer either.
                    continue
                assert response.status == 200 and response.getheader("Transfer-Encoding") is None
                length = int(response.getheader("Content-Length"))
                with pytest.raises(http.client.IncompleteRead) as cut:
                    response.read()
                assert len(cut.value.partial) < length  # granian may drop what it had buffered, too
            finally:
                connection.close()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/v1/figures?limit=2")  # and it goes on serving
        assert connection.getresponse().status == 200
        connection.close()
    reliability.count(f"faults|an export cut off midway, short of its Content-Length|{backend}")


# --- a SQLite file replaced or deleted under a running server ----------------------------------


def test_a_sqlite_file_replaced_or_deleted_under_a_running_server_is_noticed(tmp_path):
    """A new file renamed over the database (as a deployment copies one in) is served at once,
    not the old one from the pool's open connections; a deleted file is a 503 until one is back."""
    url, path = loaded_sqlite(tmp_path)
    client = create_app({"DATABASE_URL": url}).test_client()
    before = client.get("/v1").get_json()["data"]["dataset"]["version"]
    assert client.get("/v1").headers["X-Cache"] == "hit"
    replacement = tmp_path / "replacement.db"
    shutil.copyfile(path, replacement)
    with contextlib.closing(sqlite3.connect(replacement)) as connection, connection:
        connection.execute("UPDATE dataset SET version = 'replaced' WHERE id = (SELECT max(id) FROM dataset)")
    os.replace(replacement, path)
    for _ in range(3):  # every pooled connection, not only the next one
        assert client.get("/v1").get_json()["data"]["dataset"]["version"] == "replaced" != before
    kept = tmp_path / "kept.db"
    os.rename(path, kept)
    response, elapsed = get(client, "/v1")
    assert_unavailable(response, elapsed)
    os.rename(kept, path)
    assert client.get("/v1").get_json()["data"]["dataset"]["version"] == "replaced"


def test_a_change_feed_csv_the_database_fails_under_is_503_not_a_short_200(loaded, monkeypatch):
    """The change feed's lines are made per request, so its CSV is written out before it is
    sent: a database failure midway is a 503 problem, and a whole feed goes with its length."""
    from peewee import OperationalError

    from api.query import history

    client = create_app({"DATABASE_URL": loaded, "RESPONSE_CACHE_BYTES": 0}).test_client()
    whole = client.get("/v1/changes?format=csv")
    assert whole.status_code == 200 and whole.headers["Content-Length"] == str(len(whole.get_data())) and whole.get_data().count(b"\r\n") > 2
    made = history.entry
    calls = []

    def failing(change):
        calls.append(change)
        if len(calls) > 2:
            raise OperationalError("terminating connection due to administrator command")
        return made(change)

    monkeypatch.setattr(history, "entry", failing)
    response = client.get("/v1/changes?format=csv")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
