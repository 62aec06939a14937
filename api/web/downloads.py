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
from werkzeug.datastructures import ContentRange

from api.query import files
from api.web.blueprint import CivicBlueprint, documents_errors
from api.web.dataset import current_dataset
from api.web.params import StrictQuerySchema
from api.web.responses import negotiate

ZIP = "application/zip"
SQLITE = "application/vnd.sqlite3"
OCTET_STREAM = "application/octet-stream"
CACHING = "public, max-age=60"
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


def requested_range(size, tag):
    """(start, stop) of the one byte range asked for (RFC 9110), or None for the whole file: no
    Range, an If-Range for another version of the file, or several ranges (answered whole, as the
    RFC allows). A range outside the file is a 416."""
    wanted = request.range
    if wanted is None or len(wanted.ranges) != 1:
        return None
    if "If-Range" in request.headers and request.if_range.etag != tag:
        return None
    span = wanted.range_for_length(size)
    if span is None:
        abort(416, message=f"The file is {size} bytes; the range asked for is outside it.", headers={"Content-Range": f"bytes */{size}"})
    return span


def send(kind, mimetype):
    mimetype = negotiate([mimetype, OCTET_STREAM])
    dataset = current_dataset()
    built = files.kept(kind)
    if built is None:
        abort(503, message=f"The {kind} download of this dataset was not built: run `civicfacts load` to load it again.")
    size, digest, chunk_size = built
    tag = digest[:32]
    if request.if_none_match.contains(tag):
        return Response(status=304, headers={"ETag": f'"{tag}"'})
    span = requested_range(size, tag)
    start, stop = span or (0, size)
    body = stream_with_context(files.chunks(kind, start, stop, chunk_size))
    response = Response(body, status=206 if span else 200, mimetype=mimetype, direct_passthrough=True)
    response.content_length = stop - start
    response.accept_ranges = "bytes"  # an interrupted download resumes where it stopped
    response.headers["Cache-Control"] = CACHING  # on a 206 too, which responses.add_caching leaves alone
    if span:
        response.content_range = ContentRange("bytes", start, stop, size)
    response.headers["Content-Disposition"] = f'attachment; filename="civicfacts-{version_label(dataset)}.{kind}"'
    response.set_etag(tag)
    return response


def binary(description, mimetype):
    disposition = {
        "description": "attachment; filename=civicfacts-<dataset version>.<zip or sqlite>",
        "required": True,
        "schema": {"type": "string", "pattern": "^attachment; filename="},
    }
    content_range = {
        "description": "The bytes sent, of the whole file: bytes <first>-<last>/<size>",
        "required": True,
        "schema": {"type": "string", "pattern": "^bytes [0-9]+-[0-9]+/[0-9]+$"},
    }
    accept_ranges = {"description": "bytes: a Range request gets part of the file", "schema": {"type": "string", "const": "bytes"}}
    content = {mimetype: {}, OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}}
    headers = {"ETag": "ETAG", "Cache-Control": "CACHE_CONTROL", "Content-Disposition": disposition, "Accept-Ranges": accept_ranges}
    return {
        206: {
            "description": "The one byte range asked for with Range (several ranges get the whole file)",
            "content": content,
            "headers": {**headers, "Content-Range": content_range},
        },
        200: {
            "description": description,
            # Binary: OpenAPI 3.1 describes such a body by its media type alone. Generators know
            # application/octet-stream as bytes, and not these types: the same file is served as
            # that too, to a client that asks for it.
            "content": content,
            "headers": headers,
        },
    }


@blp.route("/dataset.zip")
class DatasetZip(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(operationId="getDatasetZip")
    @blp.doc(responses=binary("A zip of CSV files (UTF-8 with a BOM) and datapackage.json", ZIP))
    @documents_errors(blp, 304, 406, 416, 503)
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
    @documents_errors(blp, 304, 406, 416, 503)
    def get(self, args):
        """The whole dataset, as a SQLite database

        The records, their links and the vocabularies, as tables: open it with `sqlite3`,
        Datasette or any SQLite client. Built by the load that made this dataset.
        """
        return send("sqlite", SQLITE)
