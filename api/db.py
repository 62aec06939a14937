"""The deferred database and the base model every table inherits."""

from peewee import DatabaseProxy, Model
from playhouse.db_url import connect

db = DatabaseProxy()

# WAL lets readers go on while a load writes; foreign keys are off by default in SQLite.
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}


def open_database(url):
    """A peewee Database for `url` (sqlite:///path or postgresql://...)."""
    if url.startswith("sqlite"):
        return connect(url, pragmas=SQLITE_PRAGMAS)
    return connect(url)


def bind(url):
    """Point the shared proxy at the database named by `url` and return it."""
    database = open_database(url)
    db.initialize(database)
    return database


def is_postgres(database=None):
    from peewee import PostgresqlDatabase

    target = database if database is not None else db.obj
    return isinstance(target, PostgresqlDatabase)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False
