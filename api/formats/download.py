"""The whole dataset in one file: a zip of CSV files with a Frictionless `datapackage.json`
(api/formats/datapackage.py says what it holds), or a SQLite database. Both are written as
they are read, in keyset batches, so memory stays flat however many rows there are.

The SQLite file copies every table through the models, so it is the same whether the API
serves from SQLite or PostgreSQL.
"""

import stat
import time
import zipfile

from peewee import SchemaManager, SqliteDatabase

from api.formats.datapackage import files, table_keys
from api.query.pagination import keyset_batches
from api.store import models as m


def build_zip(path, dataset, record_types):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, chunks in files(dataset, record_types):
            # Readable by all once extracted (ZipFile.open would mark each entry 0600).
            entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = (stat.S_IFREG | 0o644) << 16
            with archive.open(entry, "w") as member:
                for chunk in chunks:
                    member.write(chunk)


def build_sqlite(path, dataset, record_types):
    # A scratch file renamed into place once complete: no journal, no fsync needed meanwhile.
    target = SqliteDatabase(str(path), pragmas={"journal_mode": "off", "synchronous": 0})
    with target:
        for model in m.PUBLISHED_MODELS:
            SchemaManager(model, target).create_all()
        with target.atomic():
            for model in m.PUBLISHED_MODELS:
                for rows in keyset_batches(model.select().dicts(), table_keys(model)):
                    model.insert_many(rows).as_rowcount().execute(target)


BUILDERS = {"zip": build_zip, "sqlite": build_sqlite}
