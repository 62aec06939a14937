"""bench/answer_size.py: a diverse query timed at each N as the bench sends it, and at the larger
N again with as many records as its answer holds at the smallest. No speed is asserted here."""

import pytest

from bench import answer_size
from bench.generate import generate
from bench.report import equal_size

pytestmark = [pytest.mark.bench, pytest.mark.slow]


def test_each_kind_is_timed_as_sent_and_at_the_smallest_ns_answer_size(tmp_path):
    figures = (300, 1200)
    for n in figures:
        generate(f"sqlite:///{tmp_path / f'n{n}.db'}", n, log=lambda *a: None)
    rows = answer_size.measure({"SQLite": lambda n: f"sqlite:///{tmp_path / f'n{n}.db'}"}, figures, count=20, repeats=1)
    for kind in answer_size.KINDS:
        small, answered, large, equal = [r for r in rows if r["kind"] == kind]
        assert [(r["n"], r["subset"]) for r in (small, answered, large, equal)] == [(300, "all"), (300, "answered"), (1200, "all"), (1200, "equal")]
        assert answered["empty"] == 0 and answered["records"] >= small["records"]
        assert equal["limit"] == max(1, round(answered["records"])) and equal["records"] <= equal["limit"]
        assert small["limit"] is None and large["limit"] is None
        assert all(r["p50_ms"] > 0 for r in (small, answered, large, equal))
    text = "\n".join(equal_size(rows))
    assert "| SQLite | diverse: figures of a random unit and month | 300 | every URL, as sent |" in text and "| 1.00× |" in text


def test_a_limit_is_added_to_a_query_string_or_starts_one():
    assert answer_size.with_limit("/v1/search?q=a", 4) == "/v1/search?q=a&limit=4"
    assert answer_size.with_limit("/v1/figures", 4) == "/v1/figures?limit=4"


def test_the_report_sets_an_equal_size_row_against_the_answered_urls_and_shows_nothing_without_rows():
    def r(n, subset, limit, records, empty, p50):
        return {"database": "SQLite", "kind": "search", "n": n, "subset": subset, "limit": limit, "records": records, "empty": empty, "p50_ms": p50}

    rows = [
        r(1000, "all", None, 3.5, 0.72, 1.0),
        r(1000, "answered", None, 12.5, 0, 1.5),
        r(1000000, "all", None, 50, 0, 2.66),
        r(1000000, "equal", 12, 12, 0, 1.8),
    ]
    lines = equal_size(rows)
    assert "   | SQLite | diverse: search for a random word | 1000 | every URL, as sent | 3.5 | 72% | 1.00 | 1.00× |" in lines
    assert "   | SQLite | diverse: search for a random word | 1000000 | every URL, as sent | 50.0 | 0% | 2.66 | 2.66× |" in lines
    assert "   | SQLite | diverse: search for a random word | 1000000 | every URL, `limit=12` | 12.0 | 0% | 1.80 | 1.20× |" in lines
    assert equal_size(None) == [] and equal_size([]) == []
