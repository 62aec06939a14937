"""The benchmark report's judging of the rate limit's target (bench/report.py): a round in which
one of the server's workers did all the work measures where wrk's connections landed, not the
limiter, and is set aside on either side; the numbers of every round stay in the table."""

import http.server
import threading

from bench.harness import busiest_share
from bench.report import answer_sizes, disk_reads, rounds_p50, spread_p50, spread_rps, targets


def _round(rps, share, seconds=5, p50_us=500):
    return {"rps": rps, "requests": rps * seconds, "duration_us": seconds * 1_000_000, "busiest_share": share, "p50_us": p50_us, "p99_us": 900}


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


def test_the_one_record_target_shows_each_rounds_p50_with_how_its_work_was_split():
    rounds = [_round(700, 1.0, p50_us=5380), _round(1350, 0.51, p50_us=2740)]
    assert rounds_p50(_side(rounds)) == "5.38 (1.00), 2.74 (0.51)"
    assert rounds_p50(_side([_round(700, None)])) == "0.50 (–)"
    side = {**_side(rounds), "latency_us": {"p50": 4060}}
    run = {"figures": 1000000, "queries": {"diverse_record": {"ours_postgres_nocache": side}}}
    text = "\n".join(targets({"runs": {"1000000": run}}))
    assert "| 1000000 | diverse: one figure, random id | ours, PostgreSQL, cache off | 4.06 | 5.38 (1.00), 2.74 (0.51) | misses |" in text


def _flat_results(small_rounds, big_rounds):
    def side(rounds):
        return {**_side(rounds), "latency_us": {"p50": sum(r["p50_us"] for r in rounds) / len(rounds)}}

    sized = ((1000, small_rounds), (1000000, big_rounds))
    return {"runs": {str(n): {"figures": n, "queries": {"diverse_record": {"ours_postgres_nocache": side(rounds)}}} for n, rounds in sized}}


def test_one_spread_round_is_enough_for_a_spread_p50():
    assert spread_p50(_side([_round(700, 1.0, p50_us=5000), _round(1300, 0.5, p50_us=2000)])) == (2000, 1)
    assert spread_p50(_side([_round(700, 0.99, p50_us=5000)])) is None
    assert spread_p50(_side([_round(700, None, p50_us=5000)])) is None  # a run that did not record the split


def test_the_flat_latency_target_sets_aside_a_round_one_worker_served_alone():
    small = [_round(2000, 0.5, p50_us=1800), _round(2000, 0.52, p50_us=1800)]
    big = [_round(1300, 0.53, p50_us=2300), _round(700, 1.0, p50_us=5300)]  # every round: 3.8 / 1.8 = 2.11×
    text = "\n".join(targets(_flat_results(small, big)))
    assert "cache off included: **holds** (on every round: **misses**)." in text
    assert "| 1.80 / 3.80 | 2.11× | 1.80 / 2.30 (2 of 2 / 1 of 2 rounds), 1.28× | holds |" in text


def test_the_flat_latency_target_judges_every_round_when_an_end_has_no_spread_one():
    small = [_round(2000, 0.5, p50_us=1800), _round(2000, 0.52, p50_us=1800)]
    big = [_round(700, 0.97, p50_us=5300), _round(700, 1.0, p50_us=5300)]
    text = "\n".join(targets(_flat_results(small, big)))
    assert "cache off included: **misses** (on every round: **misses**)." in text
    assert "| 1.80 / 5.30 | 2.94× | – | misses |" in text
    slow = [_round(900, 0.5, p50_us=5300), _round(900, 0.5, p50_us=5300)]  # spread, and slow all the same
    assert "| 1.80 / 5.30 | 2.94× | 1.80 / 5.30 (2 of 2 / 2 of 2 rounds), 2.94× | misses |" in "\n".join(targets(_flat_results(small, slow)))


def _sized_run(n, records, p50_us):
    answers = {kind: {"records": records, "bytes": 2048 * records, "urls": 200} for kind in ("record", "subject", "unit_month", "search")}
    answers["record"] = {"records": 1, "bytes": 1024, "urls": 200}
    queries = {name: {"ours_sqlite_nocache": {"latency_us": {"p50": p50_us}}} for name in ("diverse_record", "diverse_search")}
    return {"figures": n, "queries": queries, "diverse_answers": answers}


def test_the_flat_latency_target_is_shown_beside_what_the_answers_hold_at_each_n():
    runs = [(1000, _sized_run(1000, 2, 2000)), (1000000, _sized_run(1000000, 50, 10000))]
    text = "\n".join(answer_sizes(runs))
    assert "| query | records (size) at N = 1000 / 1000000 |" in text
    # a word found in 2 records at 10^3 and in a page of 50 at 10^6: 5× the time for 25× the records
    assert "| diverse: search for a random word | 2.0 (4.0 KiB) / 50.0 (100.0 KiB) | 1.00 / 0.20 | – / – |" in text
    assert "| diverse: one figure, random id | 1.0 (1.0 KiB) / 1.0 (1.0 KiB) | 2.00 / 10.00 | – / – |" in text
    assert answer_sizes(runs[:1]) == []  # one N: nothing to compare
    assert answer_sizes([(n, {**run, "diverse_answers": None}) for n, run in runs]) == []  # runs before stop 28


def test_each_diverse_round_at_the_largest_n_is_shown_with_what_the_machine_read_from_disk():
    cold, warm = {**_round(200, 0.5, p50_us=14400), "disk_read_kib": 900 * 1024}, {**_round(360, 0.5, p50_us=5100), "disk_read_kib": 3 * 1024}
    big = {"figures": 1000000, "queries": {"diverse_search": {"ours_postgres_nocache": _side([cold, warm])}}}
    small = {"figures": 1000, "queries": {"diverse_search": {"ours_postgres_nocache": _side([warm])}}}
    text = "\n".join(disk_reads([(1000, small), (1000000, big)]))
    assert "at N = 1000000" in text
    assert "| diverse: search for a random word | ours, PostgreSQL, cache off | 14.40 ms, 900 MiB, 5.10 ms, 3 MiB |" in text
    uncounted = {**big, "queries": {"diverse_search": {"ours_postgres_nocache": _side([_round(200, 0.5)])}}}
    assert disk_reads([(1000000, uncounted)]) == []  # runs before stop 31 did not count


def _measured(p50_us=500, **counted):
    """A round as bench/run.py `measure` returns it, with what it `counted` (disk reads, ...)."""
    latency = {"p50": p50_us, "p90": p50_us, "p99": p50_us, "max": p50_us}
    base = {**_round(300, 0.5, p50_us=p50_us), "errors_total": 0, "peak_rss_kib": 1, "others_cpu": 0, "machine_cpu": 0, "latency_us": latency}
    return {**base, **counted}


def test_merging_a_sides_rounds_keeps_what_each_round_read_from_disk():
    from bench.run import merge_rounds

    merged = merge_rounds([_measured(14400, disk_read_kib=900 * 1024), _measured(5100, disk_read_kib=3 * 1024)])
    assert [r["disk_read_kib"] for r in merged["rounds"]] == [900 * 1024, 3 * 1024]


def test_a_primed_round_shows_what_its_priming_read_beside_what_the_round_read():
    primed = {**_round(360, 0.5, p50_us=5100), "disk_read_kib": 2 * 1024, "primed_disk_read_kib": 700 * 1024}
    big = {"figures": 1000000, "prime_s": 2, "queries": {"diverse_search": {"ours_postgres": _side([primed])}}}
    text = "\n".join(disk_reads([(1000000, big)]))
    assert "| diverse: search for a random word | ours, PostgreSQL | 5.10 ms, 2 MiB (primed: 700 MiB) |" in text
    assert "primed, untimed, by 2 s of its own sequence" in text
    unprimed = {**big, "prime_s": None, "queries": {"diverse_search": {"ours_postgres": _side([{**primed, "primed_disk_read_kib": None}])}}}
    text = "\n".join(disk_reads([(1000000, unprimed)]))
    assert "| ours, PostgreSQL | 5.10 ms, 2 MiB |" in text and "primed" not in text


def test_a_cached_side_is_primed_through_its_cache_off_twin_so_its_own_cache_stays_cold():
    from bench.run import RATE_LIMITED, prime_target

    servers = dict.fromkeys(["ours_sqlite", "ours_sqlite_nocache", RATE_LIMITED, "ours_postgres", "ours_postgres_nocache", "datasette"])
    files = {(side, "diverse_mix"): None for side in servers}
    assert prime_target("ours_sqlite", "diverse_mix", servers, files) == "ours_sqlite_nocache"
    assert prime_target(RATE_LIMITED, "diverse_mix", servers, files) == "ours_sqlite_nocache"
    assert prime_target("ours_postgres", "diverse_mix", servers, files) == "ours_postgres_nocache"
    assert prime_target("ours_sqlite_nocache", "diverse_mix", servers, files) == "ours_sqlite_nocache"
    assert prime_target("datasette", "diverse_mix", servers, files) == "datasette"
    # no twin in this run (the smoke run has none): the side primes itself
    assert prime_target("ours_postgres", "diverse_mix", {"ours_postgres": None}, {("ours_postgres", "diverse_mix"): None}) == "ours_postgres"


def test_a_round_primed_by_every_distinct_url_shows_how_many_it_sent_and_in_how_long():
    r = {
        **_round(360, 0.5, p50_us=900),
        "disk_read_kib": 0,
        "primed_requests": 1180,
        "primed_of": 1200,
        "primed_s": 45.0,
        "primed_disk_read_kib": 12 * 1024,
    }
    run = {"figures": 1000000, "prime_s": 45, "prime_mode": "distinct", "queries": {"diverse_search": {"ours_sqlite": _side([r])}}}
    text = "\n".join(disk_reads([(1000000, run)]))
    assert "| ours, SQLite | 0.90 ms, 0 MiB (primed: 1180 of 1200 URLs in 45.0 s, 12 MiB) |" in text
    assert "every distinct URL of its own sequence once (at most 45 s)" in text


def test_priming_requests_each_distinct_url_once_in_first_appearance_order(tmp_path):
    from bench.harness import once_each
    from bench.run import distinct_paths

    path_file = tmp_path / "side.paths"
    path_file.write_text("/b\n/a\n/b\n/c\n/a\n")
    assert distinct_paths(path_file) == ["/b", "/a", "/c"]

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.path)
            status = 404 if self.path == "/missing" else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = once_each(server.server_address[1], ["/b", "/a", "/c", "/missing"], 2, 30)
        assert sorted(seen) == ["/a", "/b", "/c", "/missing"]
        assert (out["requests"], out["of"], out["errors"]) == (4, 4, 1)
        cut = once_each(server.server_address[1], ["/x"] * 50, 1, 0)  # no time at all: nothing is sent
        assert (cut["requests"], cut["of"]) == (0, 50)
    finally:
        server.shutdown()
        server.server_close()


def test_merging_a_sides_rounds_keeps_what_each_rounds_priming_read():
    from bench.run import merge_rounds

    merged = merge_rounds([_measured(disk_read_kib=1024, primed_disk_read_kib=90 * 1024), _measured(disk_read_kib=0, primed_disk_read_kib=0)])
    assert [r["primed_disk_read_kib"] for r in merged["rounds"]] == [90 * 1024, 0]
    primed = _measured(primed_by="ours_sqlite_nocache", primed_requests=1200, primed_of=1200, primed_s=3.1)
    merged = merge_rounds([primed, primed])
    assert {k: merged["rounds"][0][k] for k in ("primed_by", "primed_requests", "primed_of", "primed_s")} == {
        "primed_by": "ours_sqlite_nocache",
        "primed_requests": 1200,
        "primed_of": 1200,
        "primed_s": 3.1,
    }


def fake_kdamond(root, state="on", action="pageout", applied=0):
    scheme = root / "0" / "contexts" / "0" / "schemes" / "0"
    for path, text in {
        root / "0" / "state": state,
        root / "0" / "contexts" / "0" / "monitoring_attrs" / "intervals" / "aggr_us": "5000000",
        scheme / "action": action,
        scheme / "access_pattern" / "age" / "min": "12",
        scheme / "quotas" / "bytes": str(128 * 2**20),
        scheme / "quotas" / "reset_interval_ms": "1000",
        scheme / "stats" / "sz_applied": str(applied),
    }.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")


def test_the_machines_damon_pageout_is_read_with_its_total_and_shown_for_the_run(tmp_path, monkeypatch):
    from bench import harness
    from bench.report import damon_lines

    monkeypatch.setattr(harness, "DAMON", tmp_path)
    fake_kdamond(tmp_path, applied=3 * 2**30)
    start = harness.damon_pageout()
    assert start == [{"min_idle_s": 60.0, "quota_mib_per_s": 128.0, "paged_out_mib": 3 * 1024}]
    assert (tmp_path / "0" / "state").read_text() == "update_schemes_stats"  # the totals were asked for
    fake_kdamond(tmp_path, applied=8 * 2**30)
    end = harness.damon_pageout()
    said = damon_lines({"damon_pageout_at_start": start, "damon_pageout_at_end": end})
    assert said == ["- Memory: DAMON pages out memory not touched for 60 s, up to 128 MiB a second; it paged out 5.0 GiB during the run."]
    assert damon_lines({"damon_pageout_at_start": None}) == ["- Memory: no DAMON pageout scheme ran."]
    assert damon_lines({}) == []  # runs before stop 32


def test_a_damon_that_is_off_or_does_not_page_out_is_not_counted(tmp_path, monkeypatch):
    from bench import harness

    monkeypatch.setattr(harness, "DAMON", tmp_path)
    assert harness.damon_pageout() is None  # no kdamond at all
    fake_kdamond(tmp_path, state="off")
    assert harness.damon_pageout() is None
    fake_kdamond(tmp_path, action="stat")
    assert harness.damon_pageout() is None


def test_a_diverse_querys_check_shows_each_sampled_urls_rows_and_no_time_it_did_not_take():
    from bench.report import check_rows

    run = {
        "checks": {
            "one_record": {"ours_sqlite": {"rows_selected": 1, "bytes": 974, "first_ms": 3.1}},
            "diverse_random_id": {"ours_sqlite": {"rows_selected": [1, 1, 0], "bytes": 955, "first_ms": None}},
        }
    }
    fixed, diverse_row = check_rows(run)[-2:]
    assert fixed.endswith("| 1 rows, 974 B, 3.1 ms |")
    assert diverse_row.endswith("| 1, 1, 0 rows in 3 sampled URLs, 955 B on average |")
    assert "None" not in diverse_row
