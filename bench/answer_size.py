"""Latency at equal answer size: does a diverse query's cost grow with the table, or with its answer?

    python -m bench.answer_size --figures 1000,1000000 [--postgres URL] [--out bench/answer_size.json]

Target 3 compares a query's p50 at the largest N with its p50 at the smallest. For a unit's month
and a random word the answer itself grows with N (some 4 records at 10^3, a page of 50 at 10^6:
bench/RESULTS.md), so the ratio measures the answer as well as the table. This tool separates the
two. In-process (Flask's test client, the response cache off, one thread, no wrk), for the first
URLS distinct URLs of each kind's diverse sequence at each N, it times each URL as the bench sends
it. At the smallest N it also times only the URLs whose answer holds a record (at 10^3 most
random words find nothing, and an empty answer costs least); at every larger N, the same URLs
again with `limit` set to the mean records of those answers, so that the answers compared hold
as many records. Each p50 is the best of
REPEATS passes' medians, after one pass that warms the data. No target is judged here: the
targets are wrk's, in bench/run.py; `make bench` runs this after it, and bench/report.py shows
its rows under target 3 (bench/answer_size.json).
"""

import argparse
import json
import math
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import diverse  # noqa: E402
from bench.report import equal_size  # noqa: E402

KINDS = ("unit_month", "search")  # the kinds whose answers grow with N
URLS = 600
REPEATS = 3


def distinct_paths(drawn, count=URLS):
    """The first `count` distinct paths of one kind's drawn sequence (diverse.sequences)."""
    return list(dict.fromkeys(diverse.paths_for("ours_sqlite", "", drawn)))[:count]


def with_limit(path, limit):
    return f"{path}{'&' if '?' in path else '?'}limit={limit}"


def answers(client, paths):
    """{path: records its answer holds}: one pass, which also warms the data."""
    held = {}
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code} {response.data[:300]!r}")
        held[path] = len(response.get_json()["data"])
    return held


def timed(client, paths, repeats=REPEATS):
    """The best median ms over `repeats` passes of `paths`."""
    best = math.inf
    for _ in range(repeats):
        times = []
        for path in paths:
            started = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        best = min(best, statistics.median(times))
    return best


def row(database, kind, n, subset, limit, held, p50):
    counts = list(held.values())
    empty = sum(1 for c in counts if c == 0) / len(counts)
    return {
        "database": database,
        "kind": kind,
        "n": n,
        "subset": subset,
        "limit": limit,
        "records": statistics.mean(counts),
        "empty": empty,
        "p50_ms": p50,
    }


def client_for(url):
    from api import create_app

    return create_app({"DATABASE_URL": url, "RESPONSE_CACHE_BYTES": 0}).test_client()


def measure(databases, figures, kinds=KINDS, count=URLS, repeats=REPEATS):
    """[{database, kind, n, subset, limit, records, empty, p50_ms}], where `databases` is
    {name: url_of(n)}. At the smallest N: every URL ("all"), and those whose answer holds a
    record ("answered": at 10^3 most random words find nothing, and an empty answer costs
    least); their mean records set the `limit` of each larger N's "equal" row."""
    rows = []
    drawn = {n: diverse.sequences(n)[0] for n in figures}  # drawn once per N, for every database and kind
    for name, url_of in databases.items():
        clients = {n: client_for(url_of(n)) for n in figures}
        for kind in kinds:
            limit = None
            for n in figures:
                client, paths = clients[n], distinct_paths(drawn[n][kind], count)
                held = answers(client, paths)
                rows.append(row(name, kind, n, "all", None, held, timed(client, paths, repeats)))
                if limit is None:
                    answered = [path for path in paths if held[path]]
                    if not answered:
                        raise RuntimeError(f"{name}, N = {n}: no {kind} answer holds a record")
                    kept = {path: held[path] for path in answered}
                    rows.append(row(name, kind, n, "answered", None, kept, timed(client, answered, repeats)))
                    limit = max(1, round(statistics.mean(kept.values())))
                    continue
                limited = [with_limit(path, limit) for path in paths]
                rows.append(row(name, kind, n, "equal", limit, answers(client, limited), timed(client, limited, repeats)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description="diverse queries' latency at equal answer size (see the module's doc)")
    parser.add_argument("--figures", default="1000,1000000", help="comma list of N, smallest first; each must be generated")
    parser.add_argument("--data-dir", default=str(ROOT / "bench" / "data"), help="where bench.run keeps n<N>.db")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL: also measure its civicfacts_bench_n<N>")
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    figures = sorted(int(n) for n in args.figures.split(","))
    databases = {"SQLite": lambda n: f"sqlite:///{pathlib.Path(args.data_dir) / f'n{n}.db'}"}
    if args.postgres:
        base = args.postgres.rpartition("/")[0]
        databases["PostgreSQL"] = lambda n: f"{base}/civicfacts_bench_n{n}"
    rows = measure(databases, figures)
    print("\n".join(equal_size(rows)))
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps({"urls": URLS, "repeats": REPEATS, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
