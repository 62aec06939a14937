"""The whole dataset in one file: a zip of CSV files with a Frictionless `datapackage.json`
(api/datapackage.py says what it holds), or a SQLite database. Each is built once per
dataset version, into a cache directory (`DOWNLOADS_DIR`, else the system's temp dir), and
served from there. The SQLite file copies every table through the models, so it is the
same whether the API serves from SQLite or PostgreSQL.
"""

import os
import pathlib
import re
import tempfile
import uuid
import zipfile

from flask import current_app, send_file, url_for
from flask.views import MethodView
from peewee import SchemaManager, SqliteDatabase

from api import models as m
from api.datapackage import batches, files
from api.resources.collection import CivicBlueprint, current_dataset, documents_errors
from api.schemas import StrictQuerySchema

FORMAT = "1"  # bump when what is built changes, so no cache serves the old shape
ZIP = "application/zip"
SQLITE = "application/vnd.sqlite3"
blp = CivicBlueprint(
    "downloads", __name__, url_prefix="/v1/downloads",
    description="The whole dataset as one file: CSV in a zip with a Frictionless data package, or SQLite.",
)
NO_PARAMS = type("DownloadQuerySchema", (StrictQuerySchema,), {})


def download_links():
    """The download URLs, for the `/v1` index and the explorer."""
    return {
        "download_zip": url_for("downloads.DatasetZip", _external=True),
        "download_sqlite": url_for("downloads.DatasetSqlite", _external=True),
    }


# --- building and caching -------------------------------------------------------------


def build_zip(path, dataset):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files(dataset):
            archive.writestr(name, text)


def build_sqlite(path, dataset):
    target = SqliteDatabase(str(path))
    with target:
        for model in m.ALL_MODELS:
            SchemaManager(model, target).create_all()
        with target.atomic():
            for model in m.ALL_MODELS:
                names = model._meta.sorted_fields
                for rows in batches(model.select(*names).order_by(*model._meta.get_primary_keys()).tuples()):
                    model.insert_many(rows, fields=names).execute(target)


BUILDERS = {"zip": build_zip, "sqlite": build_sqlite}


def cache_dir():
    configured = current_app.config.get("DOWNLOADS_DIR")
    base = pathlib.Path(configured) if configured else pathlib.Path(tempfile.gettempdir()) / "civicfacts-downloads"
    path = base / f"format-{FORMAT}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def built(kind, dataset):
    """The file of this kind for this dataset version, built now if no earlier request did."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", dataset.version):
        raise ValueError(f"unexpected dataset version {dataset.version!r}")
    directory = cache_dir()
    path = directory / f"civicfacts-{dataset.version}.{kind}"
    if path.exists():
        return path
    # Build beside the final name and rename: another worker never sees half a file.
    partial = directory / f".{kind}-{uuid.uuid4().hex}.partial"
    try:
        BUILDERS[kind](partial, dataset)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    for old in directory.glob(f"civicfacts-*.{kind}"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def send(kind, mimetype):
    dataset = current_dataset()
    path = built(kind, dataset)
    return send_file(
        path, mimetype=mimetype, as_attachment=True, download_name=path.name,
        etag=f"{dataset.version}-{FORMAT}-{kind}", max_age=60,
    )


def binary(description, mimetype):
    disposition = {"description": "attachment; filename=civicfacts-<version>.<ext>", "schema": {"type": "string"}}
    return {200: {
        "description": description,
        "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}},
        "headers": {"Content-Disposition": disposition},
    }}


@blp.route("/dataset.zip")
class DatasetZip(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=binary("A zip of CSV files (UTF-8 with a BOM) and datapackage.json", ZIP))
    @documents_errors(blp, 304, 503)
    def get(self, args):
        """The whole dataset, as CSV files in a zip

        One CSV per collection (as `?format=csv` gives it), one per link table (every
        relation, one row per link) and the vocabularies (units and terms), described by a
        Frictionless Data `datapackage.json`: columns, types, keys and units.
        """
        return send("zip", ZIP)


@blp.route("/dataset.sqlite")
class DatasetSqlite(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=binary("A SQLite database with every table of the dataset", SQLITE))
    @documents_errors(blp, 304, 503)
    def get(self, args):
        """The whole dataset, as a SQLite database

        Every table the API serves from, copied as it is: open it with `sqlite3` or Datasette.
        """
        return send("sqlite", SQLITE)
