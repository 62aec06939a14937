"""Which dataset is loaded: the one row the loader writes last, read with one small query.

Every request asks it (the response cache keys entries by it, ETags carry it), so it is
written out as SQL once rather than built by peewee each time.
"""

from api.store import models as m

DATASET_SQL = 'SELECT "id", "version", "loaded_at" FROM "dataset" ORDER BY "id" DESC LIMIT 1'


def current(database):
    """The loaded Dataset on `database` (in the caller's transaction), or None if none is loaded."""
    return read_current(database.execute_sql(DATASET_SQL))


def read_current(cursor):
    """The Dataset in the last result of `cursor`, or None: of DATASET_SQL, or of a string of
    statements without parameters ending in it (PostgreSQL's simple query protocol takes
    several, so a request's BEGIN and the look-up go in one round trip)."""
    while cursor.description is None and cursor.nextset():
        pass  # past the results of the statements before, to the dataset's
    return dataset_of(cursor.fetchone())


def dataset_of(row):
    """The Dataset whose id, version and load time (as DATASET_SQL selects them) begin `row`, or None."""
    if row is None or row[0] is None:
        return None
    return m.Dataset(id=row[0], version=row[1], loaded_at=m.Dataset.loaded_at.python_value(row[2]))


def version_of(dataset):
    """What identifies a loaded dataset: the version is a hash of the seeds, so loading the
    same seeds again keeps it; the load time is part of it because the index shows it."""
    return None if dataset is None else (dataset.id, dataset.version, str(dataset.loaded_at))
