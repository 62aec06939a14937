"""Counts of what the hostile-input, fault and fuzz tests tried, for docs/RELIABILITY.md.

Tests call `count(what)`; at the end of a full run conftest writes the report from the
totals, so its numbers are always those of the last full run and never go stale.
"""

from collections import Counter

COUNTS = Counter()


def count(what, n=1):
    COUNTS[what] += n
