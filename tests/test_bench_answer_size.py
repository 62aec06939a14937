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
        small, large, equal = [r for r in rows if r["kind"] == kind]
        assert (small["n"], small["limit"], large["n"], large["limit"]) == (300, None, 1200, None)
        assert equal["n"] == 1200 and equal["limit"] == max(1, round(small["records"]))
        assert equal["records"] <= equal["limit"]  # the equal-size answer holds at most the smallest N's
        assert all(r["p50_ms"] > 0 for r in (small, large, equal))
    text = "\n".join(equal_size(rows))
    assert "| SQLite | diverse: figures of a random unit and month | 300 | as sent (50) |" in text and "| 1.00× |" in text


def test_a_limit_is_added_to_a_query_string_or_starts_one():
    assert answer_size.with_limit("/v1/search?q=a", 4) == "/v1/search?q=a&limit=4"
    assert answer_size.with_limit("/v1/figures", 4) == "/v1/figures?limit=4"


def test_the_report_shows_the_rows_under_the_latency_target_and_leaves_them_out_when_absent():
    rows = [
        {"database": "SQLite", "kind": "search", "n": 1000, "limit": None, "records": 3.5, "p50_ms": 1.0},
        {"database": "SQLite", "kind": "search", "n": 1000000, "limit": None, "records": 50.0, "p50_ms": 2.66},
        {"database": "SQLite", "kind": "search", "n": 1000000, "limit": 4, "records": 4.0, "p50_ms": 1.62},
    ]
    lines = equal_size(rows)
    assert "   | SQLite | diverse: search for a random word | 1000000 | 4 | 4.0 | 1.62 | 1.62× |" in lines
    assert "   | SQLite | diverse: search for a random word | 1000000 | as sent (50) | 50.0 | 2.66 | 2.66× |" in lines
    assert equal_size(None) == [] and equal_size([]) == []
