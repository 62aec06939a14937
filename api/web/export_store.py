"""Big CSV exports kept on disk, per dataset version, shared by the workers of one machine.

A streamed export too big for the response cache's memory (a CSV of 10^5 rows is 40 MB) but
costly to make again is written to a file as it is sent, renamed into place once it has been
sent whole, and served from the file the next time, in chunks, with its length. The files are
bounded by total bytes, and are only ever found under the current version.
"""

import hashlib
import json
import logging
import os
import pathlib
import shutil
import tempfile
import uuid

log = logging.getLogger(__name__)

EXPORTS = "civicfacts_exports"


class ExportStore:
    """Streamed responses kept as files, by (version, request key): what is too big to keep in
    memory (a CSV export of 10^5 rows is 40 MB) but costs seconds to make again. A file is written
    under a temporary name while the response streams and renamed into place (atomic on POSIX)
    only once it was sent whole, so no request is served half a file; its headers go beside it.
    The least recently served go first once the files pass `max_bytes`, and nothing is written
    while the disk has less than twice that free: the store never fills a disk."""

    def __init__(self, directory, max_bytes, scope):
        self.directory, self.max_bytes, self.scope = pathlib.Path(directory), max_bytes, scope
        self.directory.mkdir(parents=True, exist_ok=True)

    def _base(self, version, key):
        # The database URL is part of the name: apps on other databases may share the folder.
        return self.directory / hashlib.sha256(repr((self.scope, version, key)).encode()).hexdigest()

    def holds(self, version, key):
        """Whether a response is kept for this request (a stat of its file, no read)."""
        return self._base(version, key).with_suffix(".body").exists()

    def open(self, version, key):
        """(status, headers, open file) kept for this request, or None (then the request is
        answered as if nothing were kept: the store's failures never reach a response)."""
        base = self._base(version, key)
        try:
            handle = open(base.with_suffix(".body"), "rb")
        except OSError:  # not kept, or the folder is gone or unreadable
            return None
        try:
            meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
            status, headers = meta["status"], [tuple(header) for header in meta["headers"]]
        except (OSError, ValueError, KeyError, TypeError):
            handle.close()
            return None
        try:
            os.utime(handle.fileno())  # served now: the last to be dropped
        except OSError as exc:  # a read-only folder: the file is still whole, and served
            log.warning("cannot mark an export on disk as served: %s", exc)
        return status, headers, handle

    def writer(self, version, key, status, headers):
        """A _Spill for this response, or None when the disk is short of space."""
        try:
            if shutil.disk_usage(self.directory).free < 2 * self.max_bytes:
                return None
        except OSError:
            return None
        return _Spill(self, self._base(version, key), status, headers)

    def trim(self):
        """Drop the least recently served files until the rest fit in `max_bytes` (OSError if
        the folder cannot be read or changed: the caller gives up the file, never the response)."""
        kept = []
        for body in self.directory.glob("*.body"):
            try:
                info = body.stat()
            except FileNotFoundError:  # another worker dropped it meanwhile
                continue
            kept.append((info.st_mtime, info.st_size, body))
        total = sum(size for _, size, _ in kept)
        for _, size, body in sorted(kept, key=lambda item: item[0]):
            if total <= self.max_bytes:
                break
            body.unlink(missing_ok=True)
            body.with_suffix(".json").unlink(missing_ok=True)
            total -= size


class _Spill:
    """One response being written to the store. Any failure of its own (a full disk, a folder
    gone or read-only, a file that cannot be removed) gives up the file, never the response:
    no method raises."""

    def __init__(self, store, base, status, headers):
        self.store, self.base, self.size = store, base, 0
        self.meta = {"status": status, "headers": headers}
        self.partial = store.directory / f".{uuid.uuid4().hex}.partial"
        self.file = None

    def write(self, data):
        if self.partial is None:
            return
        self.size += len(data)
        try:
            if self.size > self.store.max_bytes:
                raise OSError("larger than the whole store")
            if self.file is None:
                self.file = open(self.partial, "wb")
            self.file.write(data)
        except Exception as exc:  # noqa: BLE001 - the store's failure must not end the response
            log.warning("not keeping an export on disk: %s", exc)
            self.abandon()

    def finish(self):
        if self.partial is None:
            return
        try:
            if self.file is None:
                self.file = open(self.partial, "wb")
            self.file.close()
            meta = self.store.directory / f".{uuid.uuid4().hex}.partial-json"
            meta.write_text(json.dumps(self.meta), encoding="utf-8")
            os.replace(meta, self.base.with_suffix(".json"))
            os.replace(self.partial, self.base.with_suffix(".body"))
            self.partial = None
            self.store.trim()
        except Exception as exc:  # noqa: BLE001 - the store's failure must not end the response
            log.warning("not keeping an export on disk: %s", exc)
            self.abandon()

    def abandon(self):
        file, partial, self.file, self.partial = self.file, self.partial, None, None
        try:
            if file is not None:
                file.close()
            if partial is not None:
                partial.unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - e.g. unlink on a read-only file system (EROFS, not ENOENT)
            log.warning("could not remove a partial export %s: %s", partial, exc)


def export_store(app):
    """The disk store of big exports, or None when it is turned off or its folder cannot be made."""
    max_bytes = int(app.config.get("EXPORT_CACHE_BYTES", 0))
    if max_bytes <= 0:
        return None
    configured = app.config.get("EXPORTS_DIR")
    # By default one folder per user: another user's folder in the shared temp dir is not ours to write.
    directory = configured or pathlib.Path(tempfile.gettempdir()) / f"civicfacts-exports-{os.getuid()}"
    try:
        return ExportStore(directory, max_bytes, app.config["DATABASE_URL"])
    except OSError as exc:
        log.warning("big exports are not kept on disk: %s", exc)
        return None
