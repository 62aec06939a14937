"""The dataset a request reads: looked up once per request, in its snapshot."""

from flask import g
from flask_smorest import abort

from api.query import documents, history
from api.query.dataset import current
from api.store.db import db
from api.web.transactions import begin_put_off


def read_dataset():
    """The loaded Dataset in this request's snapshot (None if none is loaded), read once."""
    if "dataset" not in g:
        g.dataset = current(db)
    return g.dataset


def current_dataset():
    """The loaded Dataset, or a 503 saying none is loaded yet."""
    dataset = read_dataset()
    if dataset is None:
        abort(503, message="No dataset is loaded yet: run `civicfacts load`.", not_ready=True)
    g.dataset_version = dataset.version  # responses.add_caching puts it in the ETag
    return dataset


def current_record(record_type, record_id, column):
    """The loaded Dataset (or a 503 saying none is) and one record's (column's bytes, hash), or
    None if there is no such record. Both by one statement when the request has not read the
    dataset yet. A record not found is looked up again in the request's transaction, begun now
    if it was put off (api/web/transactions.py), so that the 404 or 410 that follows (which
    reads the history too) is read in one snapshot with it."""
    if "dataset" in g:
        return current_dataset(), documents.one(record_type, record_id, column)
    g.dataset, found = documents.one_with_dataset(record_type, record_id, column)
    if found is None and begin_put_off():
        found = documents.one(record_type, record_id, column)
    return current_dataset(), found


def named_version(name, parameter):
    """The Dataset row of the version a parameter names, or a 400 naming the parameter."""
    found = history.version(name)
    if found is None:
        message = f"no version {name!r}: /v1/versions lists them"
        abort(400, message=f"{parameter}: {message}", errors=[{"parameter": parameter, "message": message}])
    return found
