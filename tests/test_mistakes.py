"""A newcomer's mistakes with the `civicfacts` command end in one or two lines that say what is
wrong and what to run, and exit status 1, never a traceback; `--debug` (or CIVICFACTS_DEBUG=1)
shows the traceback. Each case runs the installed command in a process of its own, from a folder
that is not the repository's, as a user would."""

import os
import pathlib
import subprocess
import sys
import uuid

import pytest

from tests.support import ROOT, SEEDS, admin_connection, postgres_url

COMMAND = pathlib.Path(sys.executable).parent / "civicfacts"


def civicfacts(*args, cwd, env=None):
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CIVICFACTS_DEBUG")}
    return subprocess.run(
        [str(COMMAND), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120, env={**environment, **(env or {})}, check=False
    )


def assert_explained(result, *words):
    """Exit 1, no traceback, one or two lines on stderr holding every one of `words`."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("civicfacts: "), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("civicfacts.db", ["'civicfacts.db' is not a database URL", "sqlite:///civicfacts.db"]),
        ("mysql://user@localhost/civicfacts", ["mysql:// databases are not supported", "postgresql://"]),
        ("sqlite:///no-such-folder/civicfacts.db", ["the folder no-such-folder does not exist", "mkdir -p no-such-folder"]),
        ("postgresql://someone:secret@127.0.0.1:1/civicfacts", ["postgresql://someone:***@127.0.0.1:1/civicfacts", "is its server running?"]),
    ],
    ids=["no-scheme", "mysql", "missing-folder", "no-server"],
)
def test_a_bad_database_url_is_one_line_and_exit_1(url, words, tmp_path):
    result = civicfacts("migrate", "--database", url, cwd=tmp_path)
    assert_explained(result, *words)
    assert "secret" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no database file left behind


def test_load_and_the_environments_url_are_checked_the_same(tmp_path):
    assert_explained(civicfacts("load", SEEDS, cwd=tmp_path, env={"DATABASE_URL": "civicfacts.db"}), "not a database URL")
    assert list(tmp_path.iterdir()) == []


def test_serve_checks_the_url_before_it_starts(tmp_path):
    result = civicfacts("serve", "--port", "0", cwd=tmp_path, env={"DATABASE_URL": "mysql://user@localhost/civicfacts"})
    assert_explained(result, "mysql:// databases are not supported")
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path):
    for result in (
        civicfacts("--debug", "migrate", "--database", "civicfacts.db", cwd=tmp_path),
        civicfacts("migrate", "--debug", "--database", "civicfacts.db", cwd=tmp_path),
        civicfacts("migrate", "--database", "civicfacts.db", cwd=tmp_path, env={"CIVICFACTS_DEBUG": "1"}),
    ):
        assert result.returncode == 1
        assert "Traceback" in result.stderr
        assert "DatabaseUrlError: 'civicfacts.db' is not a database URL" in result.stderr
    assert "--debug" in civicfacts("--help", cwd=tmp_path).stdout


def test_load_before_migrate_says_to_migrate_and_leaves_no_file(tmp_path):
    result = civicfacts("load", "--database", "sqlite:///civicfacts.db", SEEDS, cwd=tmp_path)
    assert_explained(result, f"there is no database at {tmp_path / 'civicfacts.db'} yet", "`civicfacts migrate`")
    assert not (tmp_path / "civicfacts.db").exists()


def test_load_from_another_folder_names_the_seeds_it_looked_for(tmp_path):
    civicfacts("migrate", "--database", "sqlite:///civicfacts.db", cwd=tmp_path)
    result = civicfacts("load", "--database", "sqlite:///civicfacts.db", cwd=tmp_path)
    assert_explained(result, f"{tmp_path / 'seeds'} does not exist", "civicfacts load path/to/seeds")
    (tmp_path / "empty").mkdir()
    assert_explained(civicfacts("check", "empty", cwd=tmp_path), "holds no .yaml seed files")


def test_load_help_shows_the_default_seeds_folder(tmp_path):
    result = civicfacts("load", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "default: ./seeds" in result.stdout


def test_migrate_names_the_database_it_made(tmp_path):
    result = civicfacts("migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"sqlite:///civicfacts.db ({tmp_path / 'civicfacts.db'}): applied: 0001_initial")


def test_serve_with_gunicorn_not_installed_says_how_to_install_it(tmp_path):
    # A gunicorn that cannot be imported, as on a machine without the extra.
    fake = tmp_path / "without" / "gunicorn"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'gunicorn'\", name='gunicorn')\n")
    result = civicfacts("serve", "--server", "gunicorn", "--port", "0", cwd=ROOT, env={"PYTHONPATH": str(fake.parent)})
    assert_explained(result, "gunicorn is not installed", "pip install 'civicfacts[gunicorn]'")


@pytest.fixture
def unknown_postgres_database(postgres_server_url):
    """The URL of a database the PostgreSQL server does not have (dropped after, if made)."""
    if postgres_server_url is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    url = postgres_url(postgres_server_url, f"civicfacts_new_{uuid.uuid4().hex[:10]}")
    yield url
    with admin_connection(postgres_server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


@pytest.mark.postgres
def test_migrate_creates_a_missing_postgres_database_and_says_so(unknown_postgres_database, tmp_path):
    name = unknown_postgres_database.rpartition("/")[2]
    before = civicfacts("load", "--database", unknown_postgres_database, SEEDS, cwd=tmp_path)
    assert_explained(before, f"{name} does not exist yet", "civicfacts migrate")
    result = civicfacts("migrate", "--database", unknown_postgres_database, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"created the PostgreSQL database {name}"
    assert "applied: 0001_initial" in lines[1]
    again = civicfacts("migrate", "--database", unknown_postgres_database, cwd=tmp_path)
    assert again.stdout.splitlines() == [f"{unknown_postgres_database}: the database is up to date"]


def test_a_bug_keeps_its_traceback():
    from peewee import IntegrityError, OperationalError

    from api.mistakes import explain

    assert explain(OperationalError("database is locked")) == "the database refused: database is locked"
    assert explain(IntegrityError("UNIQUE constraint failed: figure.id")) is None
    assert explain(ModuleNotFoundError("No module named 'yaml'", name="yaml")) is None
    assert explain(KeyError("id")) is None
