"""Totals of filtered lists counted at request time (api/query/counts.py), remembered per
dataset version while the response cache is on."""

import collections
import threading

from flask import current_app

from api.query.dataset import version_of
from api.web.dataset import read_dataset

COUNTS = "civicfacts_counts"


class CountCache:
    """Totals of filtered lists by (dataset version, collection, filters): every page of one
    list has the same total, and counting 10^6 rows for each page of a walk is the slow part."""

    def __init__(self, max_entries=10_000):
        self.max_entries = max_entries
        self.entries = collections.OrderedDict()
        self.lock = threading.Lock()

    def get_or_count(self, key, count):
        with self.lock:
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key]
        total = count()
        with self.lock:
            self.entries[key] = total
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        return total


def total_of(collection, filters, count):
    """count() (a (total, exact) pair), remembered per dataset version for these filters while
    the response cache is on: every page of one list has the same total."""
    counts = current_app.extensions.get(COUNTS)
    if counts is None:
        return count()
    key = (version_of(read_dataset()), collection, tuple(sorted((k, str(v)) for k, v in filters.items())))
    return counts.get_or_count(key, count)
