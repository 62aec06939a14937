"""The whole dataset in one file: a zip of CSV files with a Frictionless `datapackage.json`
(api/formats/datapackage.py says what it holds), or a SQLite database.

Both are built by the load (api/ingest/compile.py) and kept in the database in chunks, so that
every app server sends the same bytes and no request waits for a build. A download is read
inside its request's snapshot, chunk by chunk, so memory stays flat and a reload that commits
meanwhile never mixes two files: the client gets the file of the dataset it started on.
"""

import hashlib
import re

from flask import Response, request, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import abort

from api.store import models as m
from api.store.db import renew_deadline
from api.web.blueprint import CivicBlueprint, documents_errors
from api.web.dataset import current_dataset
from api.web.params import StrictQuerySchema
from api.web.responses import negotiate

ZIP = "application/zip"
SQLITE = "application/vnd.sqlite3"
OCTET_STREAM = "application/octet-stream"
SAFE_VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")
blp = CivicBlueprint(
    "downloads",
    __name__,
    url_prefix="/v1/downloads",
    description="The whole dataset as one file: CSV in a zip with a Frictionless data package, or SQLite.",
)
NO_PARAMS = type("DownloadQuerySchema", (StrictQuerySchema,), {})


def download_links():
    """The download URLs, for the `/v1` index and the explorer."""
    return {
        "download_zip": url_for("downloads.DatasetZip", _external=True),
        "download_sqlite": url_for("downloads.DatasetSqlite", _external=True),
    }


def version_label(dataset):
    """The dataset version as it may appear in a file name and a header: the loader writes a hex
    digest, but the name must stay safe whatever the Dataset row holds."""
    version = dataset.version
    return version if SAFE_VERSION.fullmatch(version) else hashlib.sha256(version.encode()).hexdigest()[:16]


def chunks(kind, count):
    """The file's bytes, a chunk per query (each ~1 MiB): never the whole file in memory."""
    chunk = m.DownloadChunk
    for number in range(count):
        renew_deadline()  # the time limit is per query, as on PostgreSQL: a big file takes many
        row = chunk.select(chunk.data).where((chunk.kind == kind) & (chunk.number == number)).tuples().first()
        if row is None:  # the load that made the file wrote every chunk in the same transaction
            raise RuntimeError(f"chunk {number} of the {kind} download is missing")
        yield bytes(row[0])


def send(kind, mimetype):
    mimetype = negotiate([mimetype, OCTET_STREAM])
    dataset = current_dataset()
    built = m.Download.select(m.Download.size, m.Download.sha256).where(m.Download.kind == kind).tuples().first()
    if built is None:
        abort(503, message=f"The {kind} download of this dataset was not built: run `civicfacts load` to load it again.")
    size, digest = built
    tag = digest[:32]
    if request.if_none_match.contains(tag):
        return Response(status=304, headers={"ETag": f'"{tag}"'})
    count = m.DownloadChunk.select().where(m.DownloadChunk.kind == kind).count()
    response = Response(stream_with_context(chunks(kind, count)), mimetype=mimetype, direct_passthrough=True)
    response.content_length = size
    response.headers["Content-Disposition"] = f'attachment; filename="civicfacts-{version_label(dataset)}.{kind}"'
    response.set_etag(tag)
    return response


def binary(description, mimetype):
    disposition = {
        "description": "attachment; filename=civicfacts-<dataset version>.<zip or sqlite>",
        "required": True,
        "schema": {"type": "string", "pattern": "^attachment; filename="},
    }
    return {
        200: {
            "description": description,
            # Binary: OpenAPI 3.1 describes such a body by its media type alone. Generators know
            # application/octet-stream as bytes, and not these types: the same file is served as
            # that too, to a client that asks for it.
            "content": {mimetype: {}, OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
            "headers": {"ETag": "ETAG", "Cache-Control": "CACHE_CONTROL", "Content-Disposition": disposition},
        }
    }


@blp.route("/dataset.zip")
class DatasetZip(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(operationId="getDatasetZip")
    @blp.doc(responses=binary("A zip of CSV files (UTF-8 with a BOM) and datapackage.json", ZIP))
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The whole dataset, as CSV files in a zip

        One CSV per collection (as `/v1/<collection>.csv` gives it), one per link table (every
        relation, one row per link) and the vocabularies (units and terms), described by a
        Frictionless Data `datapackage.json`: columns, types, keys and units. Built by the
        load that made this dataset.
        """
        return send("zip", ZIP)


@blp.route("/dataset.sqlite")
class DatasetSqlite(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(operationId="getDatasetSqlite")
    @blp.doc(responses=binary("A SQLite database with every table of the dataset", SQLITE))
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The whole dataset, as a SQLite database

        The records, their links and the vocabularies, as tables: open it with `sqlite3`,
        Datasette or any SQLite client. Built by the load that made this dataset.
        """
        return send("sqlite", SQLITE)
