"""The versions of the dataset and what each changed, as the loads kept them (api/ingest/load.py):
the change feed, one record's history, and which records changed since a version.

A version is a Dataset row (the last is the one served); what its load changed of each record
is a RecordChange row: added (with the record as added), changed (the fields that changed, old
and new) or removed (the record as it was). Rows are kept for every version, so the feed can be
read from any version on, and a removed record still has its history.
"""

import orjson

from api.store import models as m

Change, Dataset = m.RecordChange, m.Dataset


def version(name):
    """The Dataset row of the version called `name`, or None."""
    return Dataset.get_or_none(Dataset.version == name)


def versions():
    """A select of the versions, newest first (keyed by id, for keyset pages)."""
    return Dataset.select().order_by(Dataset.id.desc())


def feed(since=None, record_type=None, kind=None):
    """A select of the changes, oldest first: made after version `since` (a Dataset), of one
    record type, of one kind; with their version's name and time."""
    query = Change.select(Change, Dataset.version, Dataset.loaded_at).join(Dataset)
    if since is not None:
        query = query.where(Change.dataset > since.id)
    if record_type is not None:
        query = query.where(Change.record_type == record_type)
    if kind is not None:
        query = query.where(Change.kind == kind)
    return query


def of_record(record_type, record_id):
    """The changes of one record, newest first, with their version's name and time."""
    query = Change.select(Change, Dataset.version, Dataset.loaded_at).join(Dataset)
    return query.where((Change.record_type == record_type) & (Change.record_id == record_id)).order_by(Change.id.desc())


def removal(record_type, record_id):
    """The version that removed a record, if its last change removed it; else None."""
    last = of_record(record_type, record_id).first()
    return last.dataset if last is not None and last.kind == "removed" else None


def changed_since(record_type, since):
    """A subquery of the ids of `record_type`'s records added or changed after version `since`."""
    query = Change.select(Change.record_id).where((Change.record_type == record_type) & (Change.dataset > since.id))
    return query.where(Change.kind.in_(["added", "changed"]))


def entry(change):
    """One change as the API shows it (`change` selected by `feed` or `of_record`)."""
    detail = orjson.loads(bytes(change.detail))
    out = {
        "dataset_version": change.dataset.version,
        "loaded_at": change.dataset.loaded_at.isoformat() + "Z",
        "collection": m.TYPE_COLLECTIONS[change.record_type],
        "type": change.record_type,
        "id": change.record_id,
        "kind": change.kind,
        "changes": detail if change.kind == "changed" else None,
        "record": detail if change.kind == "added" else None,
        "was": detail if change.kind == "removed" else None,
    }
    return out
