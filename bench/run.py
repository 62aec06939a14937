"""The load benchmark: our API (gunicorn) against Datasette and nginx, on the same data.

    .venv/bin/python -m bench.run --figures 1000,100000 --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.run --smoke --data-dir /tmp/x --out /tmp/x/RESULTS.md

For each N: generate the data (cached by dataset version), start every server on a free
loopback port (ours on SQLite, ours on PostgreSQL, Datasette on the same SQLite file in
immutable mode), fetch each query once per side (checks 200, saves our bytes, checks that
both sides select the same rows), start nginx serving our saved bytes as static files, then
for each query run wrk against each side in turn (interleaved, so a change in the machine's
background load hits every side alike) while a thread samples the RSS of each server's
process tree from /proc. Results go to a JSON file (merged by N) and a Markdown report.
See bench/README.md.
"""

import argparse
import datetime
import http.client
import importlib.util
import json
import os
import pathlib
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import diverse  # noqa: E402
from bench import report as reporting  # noqa: E402
from bench.generate import dataset_version, generate  # noqa: E402
from bench.harness import (  # noqa: E402
    CLK_TCK,
    DATASETTE,
    DONE_LUA,
    HOST,
    MIX_LUA,
    RssSampler,
    Server,
    _CountLines,
    busiest_share,
    damon_pageout,
    disk_read_kib,
    free_port,
    get,
    get_json,
    log,
    machine,
    machine_busy_ticks,
    once_each,
    path_of,
    python_round,
    unloaded_ms,
    wrk,
)

KEYSET_DEPTH = 100
PAGE = 50

# The fixed request mix: (name, what it asks). Every side answers each with the query below.
QUERIES = [
    ("first_page", "first page of /figures (50 rows)"),
    ("filtered", "figures in one unit overlapping one year (first 50)"),
    ("keyset_deep", f"page {KEYSET_DEPTH} of /figures by following cursors (50 rows)"),
    ("record", "one figure by id"),
    ("search_ko", "search for a 2-syllable Korean word (김장)"),
    ("search_en", "search for an English word (tourism)"),
    ("csv", "CSV export, unit=person (N/10 rows: 10^5 at N=10^6)"),
    ("mix", "the queries above but CSV, round-robin"),
]
# The diverse workload (bench/diverse.py): each a random sequence over thousands of distinct URLs.
DIVERSE = [(f"diverse_{kind}", kind) for kind in (*diverse.KINDS, "mix")]
RATE_LIMITED = "ours_sqlite_ratelimited"
# High enough never to refuse: what the limit itself costs, not what it refuses.
NEVER_REFUSING = "1000000000/minute"
# The repeated URLs are what the target judges; the diverse queries too, all of them, so that
# its response cache is as warm as the plain side's when the mix (drawn from all four) runs.
RATE_LIMITED_QUERIES = ("record", "first_page", *(name for name, _ in DIVERSE))
# How many distinct URLs of each diverse kind are fetched once to say what an answer holds.
ANSWER_SAMPLE = 200
# The repeated URLs the rate limit's target judges: a 10% margin is within what two 5 s rounds
# vary on this 2-core machine (±20%), so its pair runs more rounds (--limit-rounds), alternating.
LIMIT_JUDGED = ("record", "first_page")
# After each measurement the machine must fall quiet (CPU busy under 10% of its 2 cores over a
# quarter second) before the next starts, for at most a minute: see settle().
SETTLE_BUSY, SETTLE_MAX_S = 0.10, 60
# Before each diverse round, untimed: every distinct URL of the same sequence once, in the order
# it first appears (for at most PRIME_S seconds), through a server on the same data that keeps no
# responses (our cache-off twin; Datasette itself), so that the round reads its data from memory,
# as a server under steady load does. These machines page out memory left idle for a minute
# (DAMON, bench/README.md), and a side's data sat idle while the other sides ran: stop 31's first
# rounds at 10^6 read up to 266 MiB from disk. Stop 32 primed for 2 s of the sequence, which a
# cached side outran in its round (a random word on PostgreSQL still read 431 MiB); every URL the
# round can send is primed now. The cached side's own cache stays cold. --no-prime measures without it.
PRIME_S = 30
PRIMED_KEPT = ("primed_by", "primed_requests", "primed_of", "primed_s", "primed_errors", "primed_disk_read_kib")
PRIMED_THROUGH = {"ours_sqlite": "ours_sqlite_nocache", RATE_LIMITED: "ours_sqlite_nocache", "ours_postgres": "ours_postgres_nocache"}
SEARCH_KO, SEARCH_EN = "김장", "tourism"
FILTER_UNIT, FILTER_FROM, FILTER_TO = "KRW", "2020-01-01", "2020-12-31"
CSV_UNIT = "person"


def ours_paths(port, depth):
    """Our request paths; the keyset page is found by following `links.next` from page 1."""
    q = urllib.parse.quote
    paths = {
        "first_page": "/v1/figures",
        "filtered": f"/v1/figures?unit={FILTER_UNIT}&from={FILTER_FROM}&to={FILTER_TO}",
        "record": None,
        "search_ko": f"/v1/search?q={q(SEARCH_KO)}",
        "search_en": f"/v1/search?q={q(SEARCH_EN)}",
        "csv": f"/v1/figures?unit={CSV_UNIT}&format=csv",
        "csv_all": "/v1/figures?format=csv",
    }
    page = get_json(port, paths["first_page"])
    paths["record"] = "/v1/figures/" + page["data"][len(page["data"]) // 2]["id"]
    path = paths["first_page"]
    for _ in range(depth - 1):
        path = path_of(page["links"]["next"])
        page = get_json(port, path)
    paths["keyset_deep"] = path
    return paths


def datasette_paths(port, db, record_id, depth):
    """Datasette's equivalents: its table JSON with column filters, its `_next` keyset token."""
    q = urllib.parse.quote
    paths = {
        "first_page": f"/{db}/figure.json?_size={PAGE}",
        "filtered": f"/{db}/figure.json?unit_id={FILTER_UNIT}&period_end__gte={FILTER_FROM}&period_start__lte={FILTER_TO}&_size={PAGE}",
        "record": f"/{db}/figure/{q(record_id)}.json",
        "search_ko": f"/{db}/search_entry.json?folded__contains={q(SEARCH_KO)}&_size={PAGE}",
        "search_en": f"/{db}/search_entry.json?folded__contains={q(SEARCH_EN)}&_size={PAGE}",
        "csv": f"/{db}/figure.csv?unit_id={CSV_UNIT}&_stream=on&_size=max",
        "csv_all": f"/{db}/figure.csv?_stream=on&_size=max",
    }
    path = paths["first_page"]
    for _ in range(depth - 1):
        path = path_of(get_json(port, path)["next_url"])
    paths["keyset_deep"] = path
    return paths


def rows_selected(side, name, status, body):
    """How many rows the side says the query selects (total for lists, lines for CSV)."""
    if status != 200 or body is None:
        return None
    if name in ("csv", "csv_all"):
        return body  # counted while streaming
    data = json.loads(body)
    if side.startswith("ours"):
        return (data.get("meta") or {}).get("total", 1 if "data" in data else None)
    if name == "record":
        return len(data.get("rows", []))
    return data.get("filtered_table_rows_count")


# -- the run -----------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.data_dir = pathlib.Path(args.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "logs").mkdir(exist_ok=True)
        self.app_bin = pathlib.Path(sys.executable).parent
        self.have_wrk = shutil.which("wrk") is not None
        self.have_nginx = shutil.which("nginx") is not None
        self.use_datasette = not args.no_datasette
        self.scripts = {}

    def write_scripts(self, tmp):
        for name, text in (("done", DONE_LUA), ("mix", MIX_LUA), ("file", diverse.FILE_LUA + DONE_LUA)):
            path = pathlib.Path(tmp) / f"{name}.lua"
            path.write_text(text)
            self.scripts[name] = str(path)

    def pg_url(self, n):
        base, _, _ = self.args.postgres.rpartition("/")
        return f"{base}/{self.args.pg_prefix}_n{n}"

    def ours(self, side, url, n, server="granian", workers=None, threads=None):
        port = free_port()
        argv = [str(self.app_bin / "civicfacts"), "serve", "--host", HOST, "--port", str(port), "--server", server]
        if workers or self.args.workers:
            argv += ["--workers", str(workers or self.args.workers)]
        if threads:
            argv += ["--threads", str(threads)]
        # Each server its own folder of kept exports: none finds a file another side's run left.
        (self.data_dir / "exports").mkdir(exist_ok=True)
        env = {"DATABASE_URL": url, "CIVICFACTS_EXPORTS_DIR": tempfile.mkdtemp(prefix=f"{side}-", dir=self.data_dir / "exports")}
        if side.endswith("_nocache"):
            env["CIVICFACTS_RESPONSE_CACHE_BYTES"] = "0"
        if side == RATE_LIMITED:
            env["CIVICFACTS_RATE_LIMIT"] = NEVER_REFUSING
        return Server(side, argv, port, env=env, log_path=self.data_dir / "logs" / f"{side}-n{n}.log", ready_path="/v1")

    def datasette(self, sqlite_path, n):
        port = free_port()
        argv = [
            str(DATASETTE),
            "serve",
            "-i",
            str(sqlite_path),
            "-h",
            HOST,
            "-p",
            str(port),
            "--setting",
            "suggest_facets",
            "off",
            # Its defaults stop a query after 1 s and a CSV at 100 MB: at 10^6 figures its
            # search and its full export would fail rather than be measured.
            "--setting",
            "sql_time_limit_ms",
            "120000",
            "--setting",
            "max_csv_mb",
            "0",
        ]
        return Server("datasette", argv, port, log_path=self.data_dir / "logs" / f"datasette-n{n}.log", ready_path="/-/versions.json")

    def nginx(self, root, bodies, n):
        """nginx on a loopback port serving each saved body at /q/<query>, config in `root`."""
        port = free_port()
        root = pathlib.Path(root)
        for sub in ("tmp", "logs"):
            (root / sub).mkdir(exist_ok=True)
        locations = "\n".join(f"    location = /q/{name} {{ default_type {ctype}; alias {path}; }}" for name, (path, ctype) in bodies.items())
        temp = " ".join([])
        conf = f"""worker_processes {self.args.workers or 2};
daemon off;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path {root}/tmp/body;
  proxy_temp_path {root}/tmp/proxy;
  fastcgi_temp_path {root}/tmp/fastcgi;
  uwsgi_temp_path {root}/tmp/uwsgi;
  scgi_temp_path {root}/tmp/scgi;{temp}
  server {{
    listen {HOST}:{port};
{locations}
  }}
}}
"""
        (root / "nginx.conf").write_text(conf)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # nginx workers run as nobody when we are root
        argv = ["nginx", "-e", str(root / "logs" / "error.log"), "-p", str(root), "-c", str(root / "nginx.conf")]
        return Server("nginx", argv, port, log_path=self.data_dir / "logs" / f"nginx-n{n}.log", ready_path="/q/record")

    def generate(self, n):
        sqlite_path = self.data_dir / f"n{n}.db"
        timings = {}
        log(f"N={n}: generating SQLite {sqlite_path}")
        timings["sqlite"] = generate(f"sqlite:///{sqlite_path}", n, log=lambda *a: log(*a))
        if self.args.postgres:
            log(f"N={n}: generating PostgreSQL {self.pg_url(n)}")
            timings["postgres"] = generate(self.pg_url(n), n, log=lambda *a: log(*a))
        return sqlite_path, timings

    def warm(self, n, sqlite_path):
        """Read each database's files once, into the OS page cache: else the side measured first
        pays for the disk reads that every later side is spared (seen at 10^5 with the 10^6 file
        written just before: 23 req/s in round one, 740 in round two, for the same side). The
        SQLite file is read through, and PostgreSQL's tables, indexes and their TOAST by
        pg_prewarm (its 'read' mode: into the OS cache, not shared buffers), except the kept
        downloads (UNREAD), which the queries measured here do not read: at 10^6 the two
        databases together are larger than the memory, and reading the downloads in pushed out
        the pages the queries do read. Returns the seconds it took."""
        started = time.perf_counter()
        with open(sqlite_path, "rb") as f:
            for offset, length in sqlite_ranges_read(sqlite_path):
                f.seek(offset)
                while length > 0:
                    got = len(f.read(min(length, 1 << 24)))
                    if not got:
                        break
                    length -= got
        if self.args.postgres:
            import psycopg

            with psycopg.connect(self.pg_url(n), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                tables = "c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND NOT c.relname = ANY(%s)"
                relations = f"""
                    SELECT c.oid FROM pg_class c WHERE {tables}
                    UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE {tables}
                    UNION SELECT c.reltoastrelid FROM pg_class c WHERE {tables} AND c.reltoastrelid <> 0
                    UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class c ON i.indrelid = c.reltoastrelid WHERE {tables}"""
                conn.execute(f"SELECT pg_prewarm(oid, 'read') FROM ({relations}) r", [list(UNREAD)] * 4).fetchall()
        seconds = time.perf_counter() - started
        log(f"N={n}: databases read into the page cache in {seconds:.0f}s")
        return seconds

    def run_n(self, n):
        sqlite_path, generation = self.generate(n)
        warmed = self.warm(n, sqlite_path)
        depth = max(1, min(KEYSET_DEPTH, n // PAGE))
        result = {
            "figures": n,
            "dataset_version": dataset_version(n, 1),
            "generation": generation,
            "warmed_s": warmed,
            "keyset_depth": depth,
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "connections": self.args.connections,
            "duration_s": self.args.duration,
            "queries": {},
            "rounds": self.args.rounds,
            "prime_s": None if self.args.smoke or self.args.no_prime else PRIME_S,
            "prime_mode": "distinct",  # each distinct URL once, at most prime_s seconds (stop 32: prime_s seconds of the sequence)
            "tool": "wrk" if self.have_wrk else "python",
        }
        servers = {"ours_sqlite": self.ours("ours_sqlite", f"sqlite:///{sqlite_path}", n)}
        if not self.args.smoke:
            # Measured right after the side it is compared with, in every round: the two ratios'
            # sides then see the same background load (rounds of one side differed by up to 15%).
            servers[RATE_LIMITED] = self.ours(RATE_LIMITED, f"sqlite:///{sqlite_path}", n)
            servers["ours_sqlite_nocache"] = self.ours("ours_sqlite_nocache", f"sqlite:///{sqlite_path}", n)
        if self.args.postgres:
            servers["ours_postgres"] = self.ours("ours_postgres", self.pg_url(n), n, threads=self.args.pg_threads)
            if not self.args.smoke:
                servers["ours_postgres_nocache"] = self.ours("ours_postgres_nocache", self.pg_url(n), n, threads=self.args.pg_threads)
        if self.use_datasette:
            servers["datasette"] = self.datasette(sqlite_path, n)
        tmp = tempfile.mkdtemp(prefix="civicfacts-bench-")
        os.chmod(tmp, 0o755)  # nginx's workers (nobody, when we are root) must reach the files below it
        try:
            self.write_scripts(tmp)
            for name, server in servers.items():
                log(f"starting {name} on port {server.port}")
                server.start()
                result.setdefault("idle_rss_kib", {})[name] = server.rss_kib()
            paths = {}
            for side, server in servers.items():
                if side.startswith("ours") and not side.endswith("_nocache") and side != RATE_LIMITED:
                    paths[side] = ours_paths(server.port, depth)
            for side in servers:
                if side.endswith("_nocache"):
                    paths[side] = paths[side.removesuffix("_nocache")]  # cursors are signed alike on both
            if RATE_LIMITED in servers:
                paths[RATE_LIMITED] = {q: paths["ours_sqlite"][q] for q in RATE_LIMITED_QUERIES if q in paths["ours_sqlite"]}
            if "datasette" in servers:
                record_id = paths["ours_sqlite"]["record"].rsplit("/", 1)[1]
                db_name = sqlite_path.stem
                paths["datasette"] = datasette_paths(servers["datasette"].port, db_name, record_id, depth)
            result["paths"] = paths
            bodies = self.fetch_once(servers, paths, result, pathlib.Path(tmp))
            if not self.args.smoke and not self.args.no_csv_all:
                # The first full CSV, on servers just started: its memory is the servers' own and
                # the export's, not response caches the load rounds below fill (64 MiB a worker).
                self.csv_all(servers, paths, result)
            path_files = self.diverse_files(servers, n, sqlite_path.stem, result, pathlib.Path(tmp))
            if self.have_nginx and not self.args.no_nginx:
                servers["nginx"] = self.nginx(pathlib.Path(tmp) / "www", bodies, n)
                log(f"starting nginx on port {servers['nginx'].port}")
                servers["nginx"].start()
                paths["nginx"] = {name: f"/q/{name}" for name in bodies}
            self.check_cache(servers, paths)
            for name, _ in QUERIES + DIVERSE:
                if self.args.smoke and name not in ("mix", "diverse_mix"):
                    continue  # the smoke run: one load round, the mixes
                rounds = {}
                count = 1 if self.args.smoke else self.args.rounds
                if name in LIMIT_JUDGED and RATE_LIMITED in servers and not self.args.smoke:
                    count = max(count, self.args.limit_rounds)
                for k in range(count):
                    # Each round in the opposite order of the one before: drift in the background load evens out.
                    order = list(servers.items()) if k % 2 == 0 else list(servers.items())[::-1]
                    for side, server in order:
                        if side == RATE_LIMITED and name not in RATE_LIMITED_QUERIES:
                            continue
                        if k >= self.args.rounds and side not in ("ours_sqlite", RATE_LIMITED):
                            continue  # the extra rounds are the rate limit's pair only
                        if name.startswith("diverse_"):
                            if (side, name) in path_files:
                                path_file, first = path_files[(side, name)]
                                primed = self.prime(name, side, servers, path_files) if result["prime_s"] else None
                                out = self.measure(name, side, server, servers, [first], path_file)
                                rounds.setdefault(side, []).append({**out, **(primed or {})})
                            continue
                        if name == "mix":
                            if side == RATE_LIMITED:
                                continue
                            side_paths = [paths[side][q] for q, _ in QUERIES if q not in ("csv", "mix") and q in paths[side]]
                        elif name in paths[side] and not (name == "csv" and side.endswith("_nocache")):
                            side_paths = [paths[side][name]]  # ours keeps the CSV on disk after the first request
                        else:
                            continue
                        rounds.setdefault(side, []).append(self.measure(name, side, server, servers, side_paths))
                result["queries"][name] = {side: merge_rounds(outs) for side, outs in rounds.items()}
        finally:
            for server in servers.values():
                server.stop()
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(self.data_dir / "exports", ignore_errors=True)
        result["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        return result

    def server_matrix(self, n):
        """The same app under each server, worker and thread count, on each database."""
        databases = [("SQLite", f"sqlite:///{self.data_dir / f'n{n}.db'}")]
        if self.args.postgres:
            databases.append(("PostgreSQL", self.pg_url(n)))
        servers = ["granian"] + (["gunicorn"] if importlib.util.find_spec("gunicorn") else [])
        configs = [(server, 2, threads) for server in servers for threads in (1, 4)] + [("granian", 2, 2)]
        rows, tmp = [], tempfile.mkdtemp(prefix="civicfacts-bench-")
        self.write_scripts(tmp)
        try:
            for database, url in databases:
                for server_name, workers, threads in configs:
                    for nocache in (False, True):
                        side = "matrix_nocache" if nocache else "matrix"
                        server = self.ours(side, url, n, server=server_name, workers=workers, threads=threads)
                        try:
                            server.start()
                            paths = ours_paths(server.port, 1)
                            for name in ("filtered", "search_ko") if nocache else ("record", "first_page"):
                                log(f"  servers: {server_name} {workers}x{threads} {database}{' cache off' if nocache else ''}")
                                out = self.measure(name, side, server, {side: server}, [paths[name]])
                                rows.append(
                                    {
                                        "server": server_name,
                                        "database": database,
                                        "workers": workers,
                                        "threads": threads,
                                        "nocache": nocache,
                                        "query": name,
                                        "result": out,
                                    }
                                )
                        finally:
                            server.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(self.data_dir / "exports", ignore_errors=True)
        return {"figures": n, "rows": rows}

    def check_cache(self, servers, paths):
        """Our cached sides must answer a repeat from the cache, the others must not."""
        for side, server in servers.items():
            if not side.startswith("ours"):
                continue
            want = None if side.endswith("_nocache") else "hit"
            for _ in range(8):  # each worker process has a cache of its own: ask until one has it
                _, headers, _ = get(server.port, paths[side]["record"])
                state = headers.get("x-cache")
                if state == want:
                    break
            if state != want:
                raise RuntimeError(f"{side}: a repeated request answered X-Cache {state!r}, expected {want!r}")

    def fetch_once(self, servers, paths, result, tmp):
        """Each query once per side: status, bytes and rows selected; our bytes saved for nginx."""
        www = tmp / "www"
        www.mkdir()
        bodies = {}
        checks = result.setdefault("checks", {})
        for name, _ in QUERIES:
            if name == "mix":
                continue
            for side, server in servers.items():
                if name not in paths[side]:
                    continue
                path = paths[side][name]
                started = time.perf_counter()
                if name == "csv":
                    target = www / f"{name}.body" if side == "ours_sqlite" else None
                    with open(target, "wb") if target else _NullContext() as f:
                        counter = _CountLines(f)
                        status, headers, size = get(server.port, path, sink=counter)
                    selected = counter.lines - 1 if status == 200 else None
                else:
                    status, headers, body = get(server.port, path)
                    size = len(body)
                    selected = rows_selected(side, name, status, body)
                    if side == "ours_sqlite":
                        (www / f"{name}.body").write_bytes(body)
                if status != 200:
                    raise RuntimeError(f"{side} {path}: HTTP {status}")
                if side == "ours_sqlite":
                    bodies[name] = (www / f"{name}.body", headers.get("content-type", "application/octet-stream").split(";")[0])
                checks.setdefault(name, {})[side] = {
                    "bytes": size,
                    "rows_selected": selected,
                    "first_ms": round((time.perf_counter() - started) * 1000, 1),
                }
            log(f"  {name}: " + ", ".join(f"{s} {c['bytes']} B, {c['rows_selected']} rows" for s, c in checks[name].items()))
        return bodies

    def diverse_files(self, servers, n, db, result, tmp):
        """The diverse sequences, one file of paths per side and query (nginx has none of them),
        each query's first few distinct requests fetched once per side: all must answer 200."""
        drawn, distinct = diverse.sequences(n)
        result["diverse_distinct"] = distinct
        checks = result.setdefault("checks", {})
        files = {}
        for name, kind in DIVERSE:
            if self.args.smoke and kind != "mix":
                continue
            for side, server in servers.items():
                if side == "nginx" or (side == RATE_LIMITED and name not in RATE_LIMITED_QUERIES):
                    continue
                paths = diverse.paths_for(side, db, drawn[kind])
                path_file = tmp / f"{side}-{name}.paths"
                path_file.write_text("\n".join(paths) + "\n")
                files[(side, name)] = (path_file, paths[0])
                sample = list(dict.fromkeys(paths))[:5]
                sizes, rows = [], []
                for path in sample:
                    status, _, body = get(server.port, path)
                    if status != 200:
                        raise RuntimeError(f"{side} {path}: HTTP {status} {body[:300]!r}")
                    sizes.append(len(body))
                    rows.append(rows_selected(side, kind, status, body))
                checks.setdefault(name, {})[side] = {"bytes": round(statistics.mean(sizes)), "rows_selected": rows, "first_ms": None}
            log(f"  {name}: {distinct[kind]} distinct requests, a sequence of {len(drawn[kind])}")
        # The smoke run has no cache-off side; what it fills the cached side's cache with is not measured there.
        result["diverse_answers"] = self.answer_sizes(servers.get("ours_sqlite_nocache") or servers["ours_sqlite"], db, drawn)
        return files

    def answer_sizes(self, server, db, drawn):
        """{kind: {records, bytes, urls}}: the mean records and bytes of an answer over the first
        ANSWER_SAMPLE distinct URLs of each kind's sequence, as `server` (our cache-off side) answers them.
        Recorded at each N, so that the latency target's rows can be read against what the answers
        hold there (a random word finds a few records at 10^3, a page of 50 at 10^6)."""
        sizes = {}
        for kind, requests in drawn.items():
            if kind == "mix":
                continue
            paths = list(dict.fromkeys(diverse.paths_for("ours_sqlite", db, requests)))[:ANSWER_SAMPLE]
            records, sent = [], []
            for path in paths:
                status, _, body = get(server.port, path)
                if status != 200:
                    raise RuntimeError(f"{path}: HTTP {status} {body[:300]!r}")
                data = json.loads(body).get("data")
                records.append(len(data) if isinstance(data, list) else 1)
                sent.append(len(body))
            sizes[kind] = {"records": statistics.mean(records), "bytes": statistics.mean(sent), "urls": len(paths)}
        return sizes

    def prime(self, name, side, servers, path_files):
        """Each distinct URL of `side`'s sequence for `name` once, untimed, through prime_target(),
        for at most PRIME_S seconds; then the machine settles. Returns what it did, kept beside
        the round it preceded."""
        target = prime_target(side, name, servers, path_files)
        path_file, _ = path_files[(target, name)]
        read_before = disk_read_kib()
        out = once_each(servers[target].port, distinct_paths(path_file), self.args.connections, PRIME_S)
        primed = {
            "primed_by": target,
            "primed_requests": out["requests"],
            "primed_of": out["of"],
            "primed_s": round(out["seconds"], 1),
            "primed_errors": out["errors"],
            "primed_disk_read_kib": disk_read_kib() - read_before,
        }
        settle()
        return primed

    def load(self, port, side_paths, conns, duration, timeout, path_file=None):
        """One round of requests (wrk's, or without wrk one after another for at most 2 s):
        side_paths, or the paths of `path_file` in its order. Returns wrk's summary."""
        if self.have_wrk:
            return wrk(port, side_paths, conns, duration, timeout, self.scripts, path_file)
        paths = path_file.read_text().split("\n")[:-1] if path_file else side_paths
        return python_round(port, paths, min(duration, 2))

    def measure(self, name, side, server, servers, side_paths, path_file=None):
        csv = name == "csv"
        conns = min(self.args.connections, 2) if csv else self.args.connections
        service_ms = None if name == "mix" or path_file else unloaded_ms(server.port, side_paths[0])
        duration = self.args.duration
        if csv and service_ms:
            duration = int(min(60, max(duration, 3 * service_ms / 1000 * conns)))
        timeout = 120 if csv else 30
        sampler = RssSampler(server.proc.pid)
        before = self._cpu_snapshot(servers)
        split_before = server.cpu_by_process()
        load_before = float(pathlib.Path("/proc/loadavg").read_text().split()[0])
        read_before = disk_read_kib()
        sampler.start()
        try:
            out = self.load(server.port, side_paths, conns, duration, timeout, path_file)
        finally:
            peak = sampler.stop()
        out.update(self._cpu_delta(before, self._cpu_snapshot(servers)))
        out.update(
            busiest_share=busiest_share(split_before, server.cpu_by_process()),
            connections=conns,
            duration_s=duration,
            unloaded_ms=service_ms,
            peak_rss_kib=peak,
            peak_one_rss_kib=sampler.peak_one_rss_kib,
            loadavg_before=load_before,
            disk_read_kib=disk_read_kib() - read_before,
        )
        out["settle_s"] = 0.0 if self.args.smoke else settle()  # the smoke run shares CI's busy machine
        errors = f" ERRORS {out['errors']}" if out["errors_total"] else ""
        settled = f"  settled {out['settle_s']:.1f} s" if out["settle_s"] >= 1 else ""
        log(
            f"  {name:12} {side:14} {out['rps']:9.1f} req/s  p50 {out['latency_us']['p50'] / 1000:8.1f} ms  "
            f"p99 {out['latency_us']['p99'] / 1000:8.1f} ms  rss {peak / 1024:7.1f} MiB  others' cpu {out['others_cpu']:.0%}  "
            f"disk {out['disk_read_kib'] / 1024:.0f} MiB{errors}{settled}"
        )
        return out

    def _cpu_snapshot(self, servers):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "t": time.monotonic(),
            "busy": machine_busy_ticks(),
            "servers": sum(s.cpu_ticks() for s in servers.values()),
            "self": (children.ru_utime + children.ru_stime + me.ru_utime + me.ru_stime) * CLK_TCK,
        }

    def _cpu_delta(self, a, b):
        wall = b["t"] - a["t"]
        capacity = wall * CLK_TCK * (os.cpu_count() or 1)
        ours = (b["servers"] - a["servers"]) + (b["self"] - a["self"])
        others = max(0.0, (b["busy"] - a["busy"]) - ours)
        return {"machine_cpu": (b["busy"] - a["busy"]) / capacity if capacity else 0.0, "others_cpu": others / capacity if capacity else 0.0}

    def csv_all(self, servers, paths, result):
        """Every figure as CSV, one request per side, timed to the last byte, RSS sampled."""
        out = result["queries"].setdefault("csv_all", {})
        for side, server in servers.items():
            if side in ("nginx", RATE_LIMITED) or side.endswith("_nocache"):
                continue
            idle = server.rss_kib()
            sampler = RssSampler(server.proc.pid)
            sampler.start()
            started = time.perf_counter()
            counter = _CountLines()
            try:
                status, _, size = get(server.port, paths[side]["csv_all"], timeout=1800, sink=counter)
                error = None if status == 200 else f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                status, size, error = None, None, f"{exc.__class__.__name__}: {exc}"
            seconds = time.perf_counter() - started
            peak = sampler.stop()
            rows = counter.lines - 1 if counter.lines else 0
            complete = error is None and rows == result["figures"]
            out[side] = {
                "seconds": seconds,
                "bytes": size,
                "rows": rows,
                "peak_rss_kib": peak,
                "peak_one_rss_kib": sampler.peak_one_rss_kib,
                "idle_rss_kib": idle,
                "error": error,
                "complete": complete,
                "rows_per_s": rows / seconds if seconds else 0.0,
            }
            log(
                f"  csv_all      {side:14} {rows} rows in {seconds:.1f}s, rss {peak / 1024:.1f} MiB"
                + ("" if complete else f" INCOMPLETE ({error or 'rows missing'})")
            )
            if side != "datasette" and complete:
                # The same export again: ours is then sent from the file the first one left on disk.
                started = time.perf_counter()
                status, headers, again = get(server.port, paths[side]["csv_all"], timeout=1800, sink=_CountLines())
                out[side]["repeat_seconds"] = time.perf_counter() - started
                out[side]["repeat_cache"] = headers.get("x-cache") if status == 200 and again == size else f"HTTP {status}, {again} bytes"
                log(f"  csv_all      {side:14} again in {out[side]['repeat_seconds']:.1f}s (X-Cache: {out[side]['repeat_cache']})")


# What warm() leaves out: the kept exports and downloads (api/query/files.py), 2.7 GB of the
# 13.7 GB SQLite file at 10^6, read only by the CSV of every figure, which runs first.
UNREAD = ("download_chunk",)


def sqlite_ranges_read(path):
    """(offset, length) in bytes of the SQLite file at `path`, in order, leaving out the pages
    of the UNREAD tables and their indexes (dbstat names each page's table or index)."""
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        names = ", ".join("?" for _ in UNREAD)
        skipped = conn.execute(
            f"SELECT pageno FROM dbstat WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name IN ({names})) ORDER BY pageno", UNREAD
        ).fetchall()
    ranges, start = [], 1  # pages are numbered from 1
    for (page,) in skipped:
        if page > start:
            ranges.append(((start - 1) * page_size, (page - start) * page_size))
        start = max(start, page + 1)
    if start <= pages:
        ranges.append(((start - 1) * page_size, (pages - start + 1) * page_size))
    return ranges


def settle(quiet=SETTLE_BUSY, longest=SETTLE_MAX_S, step=0.25):
    """Wait until the machine is quiet again (its CPU under `quiet` of its capacity over `step`
    seconds), at most `longest` seconds; returns how long it took. A side's work can outlive wrk:
    Datasette goes on with the queries of clients that have gone (at 10^6, seconds each), and the
    side measured next paid for them (a unit's month, cache off: 7.8 ms before Datasette's turn,
    15.6 ms right after it, in the same run)."""
    started = time.monotonic()
    capacity = step * CLK_TCK * (os.cpu_count() or 1)
    while time.monotonic() - started < longest:
        before = machine_busy_ticks()
        time.sleep(step)
        if (machine_busy_ticks() - before) / capacity < quiet:
            break
    return time.monotonic() - started


def distinct_paths(path_file):
    """The distinct paths of a sequence's file, in the order each first appears."""
    return list(dict.fromkeys(path_file.read_text().split("\n")[:-1]))


def prime_target(side, name, servers, path_files):
    """Which server primes `side`'s round of `name`: its cache-off twin (PRIMED_THROUGH) when
    it runs with the same sequence, so that the side's own response cache stays cold; else
    the side itself."""
    twin = PRIMED_THROUGH.get(side)
    return twin if twin in servers and (twin, name) in path_files else side


def merge_rounds(outs):
    """One side's rounds as one: requests over total time, the mean p50, the worst p99."""
    if len(outs) == 1:
        return outs[0]
    merged = dict(outs[-1])
    seconds = sum(o["duration_us"] for o in outs) / 1e6
    merged["requests"] = sum(o["requests"] for o in outs)
    merged["rps"] = merged["requests"] / seconds if seconds else 0.0
    merged["errors_total"] = sum(o["errors_total"] for o in outs)
    merged["peak_rss_kib"] = max(o["peak_rss_kib"] for o in outs)
    merged["others_cpu"] = statistics.mean(o["others_cpu"] for o in outs)
    merged["machine_cpu"] = statistics.mean(o["machine_cpu"] for o in outs)
    merged["latency_us"] = {
        "p50": statistics.mean(o["latency_us"]["p50"] for o in outs),
        "p90": statistics.mean(o["latency_us"]["p90"] for o in outs),
        "p99": max(o["latency_us"]["p99"] for o in outs),
        "max": max(o["latency_us"]["max"] for o in outs),
    }
    merged["rounds"] = [
        {
            "rps": o["rps"],
            "p50_us": o["latency_us"]["p50"],
            "p99_us": o["latency_us"]["p99"],
            "requests": o["requests"],
            "duration_us": o["duration_us"],
            "busiest_share": o.get("busiest_share"),
            "disk_read_kib": o.get("disk_read_kib"),
            **{k: o.get(k) for k in PRIMED_KEPT},
        }
        for o in outs
    ]
    return merged


class _NullContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description="civicfacts load benchmark (see bench/README.md)")
    parser.add_argument("--figures", default="1000,100000,1000000", help="comma list of N")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL (any database); ours also runs on it")
    parser.add_argument("--pg-prefix", default="civicfacts_bench", help="our databases there are <prefix>_n<N>")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (CSV: at most 2)")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per query, side and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per query, each in the opposite order of the last")
    parser.add_argument("--limit-rounds", type=int, default=6, help="rounds of the rate limit's pair on the repeated URLs it is judged on")
    parser.add_argument("--workers", type=int, default=None, help="server workers (default: civicfacts serve's)")
    parser.add_argument("--pg-threads", type=int, default=None, help="threads per worker on PostgreSQL (default: civicfacts serve's)")
    parser.add_argument("--servers-at", type=int, default=100000, help="N at which to compare servers, workers and threads (0: skip)")
    parser.add_argument("--data-dir", default=str(BENCH / "data"))
    parser.add_argument("--results", default=None, help="JSON results, merged by N (default DATA_DIR/results.json)")
    parser.add_argument("--out", default=str(BENCH / "RESULTS.md"), help="the Markdown report")
    parser.add_argument("--no-datasette", action="store_true")
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--no-csv-all", action="store_true", help="skip the CSV of every figure")
    parser.add_argument("--no-prime", action="store_true", help="measure diverse rounds without priming them (see PRIME_S)")
    parser.add_argument("--fresh", action="store_true", help="start the results file anew instead of merging")
    parser.add_argument("--smoke", action="store_true", help="CI: small N, one load round, no Datasette")
    args = parser.parse_args(argv)
    # Stopped from outside (a CI timeout, ^C): leave through the finally blocks that stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.smoke:
        args.figures = args.figures if argv and "--figures" in argv else "500"
        args.no_datasette = True
        args.duration = 1
    if not args.no_datasette and not DATASETTE.exists():
        parser.error(f"{DATASETTE} is missing: make bench installs it (bench/requirements.txt)")
    if not args.smoke and not shutil.which("wrk"):
        parser.error("wrk is missing: apt-get install wrk nginx")
    results_path = pathlib.Path(args.results or pathlib.Path(args.data_dir) / "results.json")
    bench = Bench(args)
    results = {"runs": {}}
    if results_path.exists() and not args.fresh:
        results = json.loads(results_path.read_text())
    results["machine"] = machine(args.postgres)
    results["smoke"] = args.smoke
    sizes = [int(x) for x in args.figures.split(",") if x.strip()]
    for n in sizes:
        results["runs"][str(n)] = bench.run_n(n)
        if n == args.servers_at and not args.smoke:
            results["servers"] = bench.server_matrix(n)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
        pathlib.Path(args.out).write_text(reporting.render(results), encoding="utf-8")
        log(f"wrote {results_path} and {args.out}")
    results["machine"]["loadavg_at_end"] = pathlib.Path("/proc/loadavg").read_text().split()[:3]
    results["machine"]["damon_pageout_at_end"] = damon_pageout()
    results_path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    pathlib.Path(args.out).write_text(reporting.render(results), encoding="utf-8")


if __name__ == "__main__":
    main()
