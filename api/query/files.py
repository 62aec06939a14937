"""Files the load keeps in the database in chunks (`download` and `download_chunk`): the
whole-dataset downloads (zip, SQLite) and each collection's full CSV export, read back a
chunk per query so that memory stays flat however big the file.

A collection's export is kept under the kind `csv:<collection>` (export_kind): the header and
every record's compiled line, in page order, the bytes `/v1/{collection}?format=csv` sends.
Streaming those lines from the documents at request time made a lookup per row into the
document table: at 10^6 figures 25 s for the first full export, against Datasette's 40 s
(bench/RESULTS.md); a file in 1 MiB chunks is read sequentially.
"""

from peewee import fn

from api.store import models as m
from api.store.db import renew_deadline

Chunk = m.DownloadChunk


def export_kind(collection):
    """The kind under which the full CSV export of `collection` is kept."""
    return f"csv:{collection}"


def kept(kind, dataset_id=None):
    """(size, sha256, chunk size) of the file kept as `kind`, or None. With `dataset_id`, only a
    file the load of that dataset made: a load commits its records before it builds the files,
    and in between the files kept are the previous version's."""
    query = m.Download.select(m.Download.size, m.Download.sha256).where(m.Download.kind == kind)
    if dataset_id is not None:
        query = query.where(m.Download.dataset == dataset_id)
    found = query.tuples().first()
    if found is None:
        return None
    first = Chunk.select(fn.LENGTH(Chunk.data)).where((Chunk.kind == kind) & (Chunk.number == 0)).scalar()
    return found[0], found[1], first or 1


def chunks(kind, start, stop, chunk_size):
    """Bytes start to stop of the file kept as `kind`, a chunk per query: never the whole file
    in memory. Each query gets the request's time limit afresh (a big file takes many)."""

    def read(number):
        renew_deadline()
        row = Chunk.select(Chunk.data).where((Chunk.kind == kind) & (Chunk.number == number)).tuples().first()
        if row is None:  # the load that made the file wrote every chunk in the same transaction
            raise RuntimeError(f"chunk {number} of the {kind} file is missing")
        return bytes(row[0])

    return cut(read, start, stop, chunk_size)


def kept_export(collection, dataset_id):
    """(size, chunks) of the full CSV export of `collection` the load of `dataset_id` kept, or
    None. The chunks are read only as they are iterated."""
    kind = export_kind(collection)
    found = kept(kind, dataset_id)
    if found is None:
        return None
    size, _, chunk_size = found
    return size, chunks(kind, 0, size, chunk_size)


def cut(read, start, stop, chunk_size):
    """Bytes start to stop of a file kept in chunks (every one chunk_size long but the last),
    `read(number)` giving one: only the chunks the range covers are read."""
    if stop <= start:
        return
    first, last = start // chunk_size, (stop - 1) // chunk_size
    for number in range(first, last + 1):
        offset = number * chunk_size
        yield read(number)[max(start - offset, 0) : stop - offset]
