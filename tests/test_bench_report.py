"""The benchmark report's judging of the rate limit's target (bench/report.py): a round in which
one of the server's workers did all the work measures where wrk's connections landed, not the
limiter, and is set aside on either side; the numbers of every round stay in the table."""

from bench.harness import busiest_share
from bench.report import spread_rps, targets


def _round(rps, share, seconds=5):
    return {"rps": rps, "requests": rps * seconds, "duration_us": seconds * 1_000_000, "busiest_share": share, "p50_us": 500, "p99_us": 900}


def _side(rounds):
    seconds = sum(r["duration_us"] for r in rounds) / 1e6
    return {"rps": sum(r["requests"] for r in rounds) / seconds, "rounds": rounds}


def test_the_busiest_share_tells_a_spread_round_from_one_worker_doing_everything():
    before = {1: 10, 2: 100, 3: 100}  # the main process, two workers
    assert busiest_share(before, {1: 10, 2: 150, 3: 152}) == 52 / 102
    assert busiest_share(before, {1: 11, 2: 300, 3: 100}) == 200 / 201
    assert busiest_share(before, dict(before)) is None  # no CPU spent: nothing to say


def test_only_spread_rounds_are_counted_and_too_few_of_them_count_as_none():
    side = _side([_round(4000, 0.5), _round(2000, 0.99), _round(4400, 0.55)])
    assert spread_rps(side) == (4200, 2)
    assert spread_rps(_side([_round(4000, 0.5), _round(2000, 0.99)])) is None
    assert spread_rps(_side([_round(4000, None), _round(4000, None)])) is None  # a run that did not record the split


def _results(limited, free):
    run = {"figures": 100000, "queries": {"first_page": {"ours_sqlite_ratelimited": limited, "ours_sqlite": free}}}
    return {"runs": {"100000": run}}


def test_the_rate_limit_target_is_judged_on_the_spread_rounds_and_shows_every_round():
    limited = _side([_round(2500, 0.98), _round(4300, 0.5), _round(4200, 0.52), _round(2600, 0.97)])
    free = _side([_round(4500, 0.51), _round(4400, 0.5), _round(4600, 0.49), _round(4500, 0.5)])
    text = "\n".join(targets(_results(limited, free)))
    assert "keeps ≥ 90% of its requests/s: **holds**" in text
    assert "| 100000 | first page (50 rows) | 3400 | 4500 | 0.76× | 4250 / 4500 (2 / 4 of 4 / 4 rounds), 0.94× | holds |" in text


def test_a_slow_limiter_misses_however_its_rounds_were_spread():
    limited = _side([_round(3500, 0.5), _round(3600, 0.5), _round(3400, 0.5)])
    free = _side([_round(4500, 0.5), _round(4400, 0.5), _round(4600, 0.5)])
    assert "keeps ≥ 90% of its requests/s: **misses**" in "\n".join(targets(_results(limited, free)))


def test_without_enough_spread_rounds_every_round_is_judged():
    limited = _side([_round(2500, 0.98), _round(4300, 0.5)])
    free = _side([_round(4500, 0.51), _round(4400, 0.5)])
    text = "\n".join(targets(_results(limited, free)))
    assert "| 0.76× | – | misses |" in text
