"""The whole dataset in one file: a zip of CSV files with a Frictionless `datapackage.json`
(api/datapackage.py says what it holds), or a SQLite database.

Each is built once per loaded dataset, into a cache directory (DOWNLOADS_DIR, else the
system's temp dir), and served from there:

- the build (api/formats/download.py) reads in keyset batches and writes as it reads, so
  memory stays flat however many rows there are;
- it writes to a temporary name and renames it into place (atomic on POSIX), so no
  request ever serves half a file;
- an exclusive lock on the cache directory makes one worker build while the others wait
  for it, rather than every worker of a freshly loaded server building the same file;
- a request opens the file it serves before any other build may delete it, and an open
  file outlives its name on POSIX, so a reload never cuts a download short.
"""

import contextlib
import fcntl
import hashlib
import os
import pathlib
import re
import tempfile
import uuid

from flask import Response, current_app, request, url_for
from flask.views import MethodView

from api.formats.download import BUILDERS
from api.registry import RECORD_TYPES
from api.store.db import without_time_limit
from api.web.blueprint import CivicBlueprint, documents_errors
from api.web.dataset import current_dataset
from api.web.params import StrictQuerySchema
from api.web.responses import FileBody, negotiate

FORMAT = "3"  # bump when what is built changes, so no cache serves the old shape
ZIP = "application/zip"
SQLITE = "application/vnd.sqlite3"
SAFE_VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")
KEEP = 2  # built files kept per kind: the current dataset's, and the one a reload just replaced
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


# --- caching --------------------------------------------------------------------------


def cache_dir():
    configured = current_app.config.get("DOWNLOADS_DIR")
    # By default one folder per user: another user's folder in the shared temp dir is not ours to write.
    base = pathlib.Path(configured) if configured else pathlib.Path(tempfile.gettempdir()) / f"civicfacts-downloads-{os.getuid()}"
    path = base / f"format-{FORMAT}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def version_label(dataset):
    """The dataset version as it may appear in a file name and a header: the loader writes a hex
    digest, but the name must stay safe whatever the Dataset row holds."""
    version = dataset.version
    return version if SAFE_VERSION.fullmatch(version) else hashlib.sha256(version.encode()).hexdigest()[:16]


def file_name(kind, dataset):
    # The load time as well as the version: a reload of the same seeds gives the same rows but a
    # new Dataset row, and the SQLite file and datapackage.json carry it.
    stamp = dataset.loaded_at.strftime("%Y%m%dT%H%M%S%f")
    return f"civicfacts-{version_label(dataset)}-{stamp}.{kind}"


@contextlib.contextmanager
def exclusive(directory):
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _open(path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


def built(kind, dataset):
    """An open file of this kind for this dataset, built now if no earlier request did."""
    directory = cache_dir()
    path = directory / file_name(kind, dataset)
    handle = _open(path)
    if handle is not None:
        return handle
    with exclusive(directory):
        handle = _open(path)  # another worker built it while this one waited
        if handle is not None:
            return handle
        # Under the lock no other build is running here: any partial file left is a dead build's.
        for stale in directory.glob(f".*.{kind}.partial"):
            stale.unlink(missing_ok=True)
        partial = directory / f".{uuid.uuid4().hex}.{kind}.partial"
        try:
            with without_time_limit():
                BUILDERS[kind](partial, dataset, RECORD_TYPES)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        handle = open(path, "rb")
        older = sorted(directory.glob(f"civicfacts-*.{kind}"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP:]
        for old in older:
            if old != path:
                old.unlink(missing_ok=True)
        return handle


def send(kind, mimetype):
    negotiate([mimetype])
    dataset = current_dataset()
    tag = file_name(kind, dataset).removeprefix("civicfacts-") + f"-{FORMAT}"
    if request.if_none_match.contains(tag):
        return Response(status=304, headers={"ETag": f'"{tag}"'})  # the client has it: no build to wait for
    handle = built(kind, dataset)
    response = Response(FileBody(handle), mimetype=mimetype, direct_passthrough=True)
    response.content_length = os.fstat(handle.fileno()).st_size
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
            # Binary: OpenAPI 3.1 describes such a body by its media type alone, with no schema.
            "content": {mimetype: {}},
            "headers": {"ETag": "ETAG", "Cache-Control": "CACHE_CONTROL", "Content-Disposition": disposition},
        }
    }


@blp.route("/dataset.zip")
class DatasetZip(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=binary("A zip of CSV files (UTF-8 with a BOM) and datapackage.json", ZIP))
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The whole dataset, as CSV files in a zip

        One CSV per collection (as `?format=csv` gives it), one per link table (every
        relation, one row per link) and the vocabularies (units and terms), described by a
        Frictionless Data `datapackage.json`: columns, types, keys and units. Built once
        per dataset version.
        """
        return send("zip", ZIP)


@blp.route("/dataset.sqlite")
class DatasetSqlite(MethodView):
    @blp.arguments(NO_PARAMS, location="query")
    @blp.doc(responses=binary("A SQLite database with every table of the dataset", SQLITE))
    @documents_errors(blp, 304, 406, 503)
    def get(self, args):
        """The whole dataset, as a SQLite database

        Every table the API serves from, copied as it is: open it with `sqlite3`, Datasette
        or any SQLite client. Built once per dataset version.
        """
        return send("sqlite", SQLITE)
