"""The whole dataset in one file: a zip of CSV files with a Frictionless `datapackage.json`
(api/formats/datapackage.py says what it holds), or a SQLite database. Both are written as
they are read, in keyset batches, so memory stays flat however many rows there are.

The SQLite file holds the zip's tables, typed: a table per CSV file, named as the file and its
resource in the data package (`figures`, `unit`, `figure_subject`), its columns as the CSV's,
the data package's primary and foreign keys declared, so that Datasette (or any client) links
a row to the rows it names. Each record table (and `unit`) also has a `name` column (Korean,
and English in brackets), which Datasette shows as the label of a row wherever another row
refers to it.
And one row of `dataset`: the version and when it was loaded. It is the same whether the API
serves from SQLite or PostgreSQL.
"""

import codecs
import csv
import sqlite3
import stat
import time
import zipfile

from api.formats.csv_export import FORMULA_STARTS
from api.formats.datapackage import datapackage, files

SQL_TYPES = {"integer": "INTEGER", "number": "NUMERIC", "boolean": "INTEGER", "date": "TEXT", "string": "TEXT"}
BATCH = 1000
LABELS = {"unit": ("label_ko", "label_en")}  # besides the records: a figure's unit, labelled too


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


def _quoted(name):
    return '"' + name.replace('"', '""') + '"'


def create_table(resource, labelled):
    """CREATE TABLE for one resource of the data package, with its keys (and `name`, if labelled)."""
    schema = resource["schema"]
    columns = [f"{_quoted(f['name'])} {SQL_TYPES[f['type']]}" for f in schema["fields"]]
    if labelled:
        columns.insert(1, '"name" TEXT')
    if schema.get("primaryKey"):
        columns.append(f"PRIMARY KEY ({', '.join(map(_quoted, schema['primaryKey']))})")
    for key in schema.get("foreignKeys", []):
        target = key["reference"]
        columns.append(f"FOREIGN KEY ({_quoted(key['fields'])}) REFERENCES {_quoted(target['resource'])} ({_quoted(target['fields'])})")
    return f"CREATE TABLE {_quoted(resource['name'])} ({', '.join(columns)})"


def _lines(chunks):
    """The text lines of a CSV given in byte chunks, whatever the chunks' boundaries (csv.reader
    joins the lines of a quoted cell that holds a line break)."""
    pending = ""
    for text in codecs.iterdecode(chunks, "utf-8-sig"):
        *complete, pending = (pending + text).split("\n")
        for line in complete:
            yield line + "\n"
    if pending:
        yield pending


def _reader(types, guarded):
    """A function from a CSV row (strings) to its values: empty is NULL, numbers and booleans as
    numbers. `guarded`: the record CSVs put an apostrophe before text a spreadsheet would run as a
    formula (csv_export); a database runs nothing, so the text is stored as it is."""

    def value(kind, text):
        if text == "":
            return None
        if kind == "integer":
            return int(text)
        if kind == "boolean":
            return 1 if text == "true" else 0
        if kind == "string" and guarded and text[:1] == "'" and text[1:2] in FORMULA_STARTS:
            return text[1:]
        return text

    return lambda row: [value(kind, text) for kind, text in zip(types, row, strict=True)]


def build_sqlite(path, dataset, record_types):
    package = datapackage(dataset, record_types)
    resources = {r["path"]: r for r in package["resources"]}
    records = {f"{t.name}.csv" for t in record_types}
    # A scratch file renamed into place once complete: no journal, no fsync needed meanwhile.
    target = sqlite3.connect(str(path), isolation_level=None)
    try:
        target.execute("PRAGMA journal_mode = off")
        target.execute("PRAGMA synchronous = 0")
        target.execute("BEGIN")
        target.execute('CREATE TABLE "dataset" ("version" TEXT PRIMARY KEY, "loaded_at" TEXT)')
        target.execute('INSERT INTO "dataset" VALUES (?, ?)', (dataset.version, dataset.loaded_at.isoformat(timespec="seconds") + "Z"))
        for name, chunks in files(dataset, record_types):
            resource = resources.get(name)
            if resource is None:  # datapackage.json: the keys and types it says are in the tables
                continue
            guarded = name in records
            labels = ("name_ko", "name_en") if guarded else LABELS.get(resource["name"])
            labelled = labels is not None
            target.execute(create_table(resource, labelled))
            fields = resource["schema"]["fields"]
            read = _reader([f["type"] for f in fields], guarded=guarded)
            rows = csv.reader(_lines(chunks))
            header = next(rows)
            assert header == [f["name"] for f in fields], (name, header)
            names = header + (["name"] if labelled else [])
            insert = f"INSERT INTO {_quoted(resource['name'])} ({', '.join(map(_quoted, names))}) VALUES ({', '.join('?' * len(names))})"
            ko, en = (header.index(labels[0]), header.index(labels[1])) if labelled else (0, 0)
            batch = []
            for row in rows:
                values = read(row)
                if labelled:
                    values.append(values[ko] if values[ko] == values[en] or not values[en] else f"{values[ko]} ({values[en]})")
                batch.append(values)
                if len(batch) == BATCH:
                    target.executemany(insert, batch)
                    batch = []
            target.executemany(insert, batch)
        target.execute("COMMIT")
    finally:
        target.close()


BUILDERS = {"zip": build_zip, "sqlite": build_sqlite}
