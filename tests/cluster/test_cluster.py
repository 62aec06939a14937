"""The cluster under faults (issue 14): clients read through nginx while the dataset is
reloaded, an app server is killed, the replica and then the primary are stopped and brought
back, and slow clients try to hold the servers. Each test leaves every part running again, and
adds what it measured to docs/DEPLOY.md (tests/cluster/report.py).

Traffic goes only to 127.0.0.1. A "failed" request is one a client saw fail: no answer, or an
answer other than 200; nginx retrying an idempotent GET on another server is not a failure.
"""

import json
import resource
import socket
import threading
import time

from tests.cluster.harness import Readers, fetch, percentile, wait_for, wait_until
from tests.cluster.report import measure

RELOADS = 3
WARM_UP = 2.0  # seconds of reading before the first fault
CATCH_UP = 30  # seconds the replica may take to show what the primary committed


def assert_clean(readers):
    assert readers.failures == [], f"{len(readers.failures)} failed, e.g. {readers.failures[:3]}"
    assert readers.inconsistent == [], f"{len(readers.inconsistent)} inconsistent pages, e.g. {readers.inconsistent[:3]}"
    assert readers.requests > 0


def wait_for_version(cluster, apps, version):
    """Seconds until every app in `apps` reads `version`."""
    started = time.monotonic()
    wait_until(f"{', '.join(apps)} reading {version}", lambda: all(cluster.version(a) == version for a in apps), CATCH_UP)
    return time.monotonic() - started


def load_ok(cluster, seeds_dir):
    result, seconds = cluster.load(seeds_dir)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[2], seconds  # "loaded dataset <version> (N records)"


def test_readers_page_through_three_reloads_with_no_failure_and_every_page_one_version(whole, versions):
    cluster = whole
    since = cluster.log_position()
    current = cluster.version("app3")
    loads, catch_ups = [], []
    with Readers(cluster.base, versions) as readers:
        time.sleep(WARM_UP)
        for _ in range(RELOADS):
            version, seconds = load_ok(cluster, versions.other_than(current))
            loads.append(seconds)
            catch_ups.append(wait_for_version(cluster, ("app1", "app2"), version))
            current = version
            time.sleep(1.0)
    assert_clean(readers)
    assert len(readers.seen) >= 2, f"the readers saw one version only: {readers.seen}"
    served = cluster.served_by(since)
    assert served["app1"] and served["app2"], f"both replica servers answer: {served}"
    summary = readers.summary()
    section = "16 readers paging through three reloads"
    measure(section, "requests (pages of 4 figures, with cursors)", f"{summary['requests']:,}")
    measure(section, "failed / pages not exactly one version's rows", f"{summary['failed']} / {summary['inconsistent']}")
    measure(section, "dataset versions the readers saw", len(readers.seen))
    measure(section, "latency p50 / p99 through nginx", f"{summary['p50_ms']} ms / {summary['p99_ms']} ms")
    measure(section, "answered by app1 / app2 / app3 (the primary's, backup)", f"{served['app1']} / {served['app2']} / {served['app3']}")
    measure(section, "a load on the primary (`civicfacts load`, 138 records)", ", ".join(f"{s:.1f} s" for s in loads))
    measure(section, "until both replica servers read the new version", ", ".join(f"{s:.2f} s" for s in catch_ups))


def test_an_app_server_killed_and_restarted_under_load_costs_no_request(whole, versions):
    cluster = whole
    with Readers(cluster.base, versions) as readers:
        time.sleep(WARM_UP)
        cluster.kill("app1")  # SIGKILL to the server and its workers, mid-request
        killed = readers.requests
        time.sleep(3.0)
        assert cluster.health("app1")[0] is None, "app1 is gone"
        started = time.monotonic()
        cluster.start("app1")
        up = wait_until("app1 answering", lambda: cluster.health("app1")[0] == 200, 30) - started
        while_down = readers.requests - killed
        since = cluster.log_position()
        time.sleep(4.0)  # nginx tries it again after fail_timeout (3 s)
    assert_clean(readers)
    served = cluster.served_by(since)
    assert served["app1"] > 0, f"app1 takes traffic again after its restart: {served}"
    summary = readers.summary()
    section = "An app server killed (SIGKILL) and restarted under the same load"
    measure(section, "requests / failed", f"{summary['requests']:,} / {summary['failed']}")
    measure(section, "requests from the kill until app1 answered again", f"{while_down:,} (nginx retried them or routed around it)")
    measure(section, "app1 answering again after `deploy/cluster start`", f"{up:.1f} s")
    measure(section, "latency p99", f"{summary['p99_ms']} ms")


def test_replica_stopped_its_servers_answer_503_nginx_serves_from_the_primary_and_it_catches_up(whole, versions):
    cluster = whole
    current = cluster.version("app3")
    with Readers(cluster.base, versions) as readers:
        time.sleep(WARM_UP)
        since = cluster.log_position()
        cluster.stop("replica")
        status, body = cluster.health("app1")
        assert status == 503 and body["status"] == 503 and body["title"] == "Service Unavailable", (status, body)
        # The primary goes on: a load while the replica is away, which it must replay on return.
        version, _ = load_ok(cluster, versions.other_than(current))
        time.sleep(2.0)
        while_down = cluster.served_by(since)
        started = time.monotonic()
        cluster.start("replica")
        caught_up = wait_for_version(cluster, ("app1", "app2"), version)
        back_after = time.monotonic() - started
        back = cluster.log_position()
        time.sleep(4.0)
    assert_clean(readers)
    assert while_down["app3"] > 0, f"the primary's server answered while the replica was down: {while_down}"
    after = cluster.served_by(back)
    assert after["app1"] + after["app2"] > 0, f"the replica's servers take traffic again: {after}"
    assert version in readers.seen, "the readers saw the load made while the replica was down"
    summary = readers.summary()
    section = "The replica stopped, a load on the primary meanwhile, the replica started"
    measure(section, "requests / failed (any 5xx included)", f"{summary['requests']:,} / {summary['failed']}")
    measure(section, "answered by app3 (backup, on the primary) while the replica was down", while_down["app3"])
    measure(section, "the replica's servers meanwhile (/v1/health)", f"{status} problem+json")
    measure(section, "from `deploy/cluster start replica` to both its servers reading the new version", f"{back_after:.1f} s")
    measure(section, "of which catching up after it was up", f"{caught_up:.1f} s")


def lag_problem(cluster, app):
    """What an app server's health check says of its lag, if it answers 503."""
    status, body = cluster.health(app)
    return body["detail"] if status == 503 else None


def refuses_a_page_for_lag(cluster, app):
    """Whether an app server, asked directly for a page, refuses it because its replica lags."""
    status, body, _ = fetch(f"{cluster.apps[app]}/v1/figures?limit=1")
    return status == 503 and "behind its primary" in json.loads(body)["detail"]


def test_a_replica_lagging_past_the_bound_is_taken_out_until_it_catches_up(whole, versions):
    cluster = whole
    bound = cluster.info["max_replica_lag"]
    current = cluster.version("app3")
    with Readers(cluster.base, versions, count=4) as readers:
        time.sleep(WARM_UP)
        cluster.psql("replica", "SELECT pg_wal_replay_pause()")  # it receives the WAL, and replays none
        try:
            version, seconds = load_ok(cluster, versions.other_than(current))
            # The health check says why (each worker process of a server sees the lag from its
            # own last look, so they may disagree for a second).
            said, refused = wait_for("app1 lagging", lambda: lag_problem(cluster, "app1"), bound + 30)
            # Each worker process looks for itself, at most a second after its last look, and
            # answers from that look meanwhile; the lag only grows while replay is paused.
            for app in ("app1", "app2"):
                wait_until(f"{app} refusing", lambda app=app: all(refuses_a_page_for_lag(cluster, app) for _ in range(6)), 15)
            since = cluster.log_position()
            time.sleep(2.0)
            while_lagging = cluster.served_by(since)
            assert cluster.version("app2") is None and cluster.version("app3") == version
        finally:
            cluster.psql("replica", "SELECT pg_wal_replay_resume()")
        caught_up = wait_for_version(cluster, ("app1", "app2"), version)
        back = cluster.log_position()
        time.sleep(4.0)
    assert_clean(readers)
    # Each worker process answers from its last look until its next one (at most a second later).
    assert while_lagging["app3"] > 0 and while_lagging["app1"] + while_lagging["app2"] <= 4, while_lagging
    after = cluster.served_by(back)
    assert after["app1"] + after["app2"] > 0, f"the replica's servers take traffic again: {after}"
    section = f"The replica's replay paused during a load (CIVICFACTS_MAX_REPLICA_LAG={bound:g})"
    measure(section, "requests / failed", f"{readers.requests:,} / {len(readers.failures)}")
    measure(
        section, "the replica's servers answering 503", f"{refused:.1f} s after the load committed (it ran {seconds:.1f} s); /v1/health: “{said}”"
    )
    measure(section, "meanwhile answered by app1 / app2 / app3", f"{while_lagging['app1']} / {while_lagging['app2']} / {while_lagging['app3']}")
    measure(section, "replay resumed: until both read the new version", f"{caught_up:.2f} s")


def test_primary_stopped_reads_go_on_a_load_fails_clearly_and_changes_nothing(whole, versions):
    cluster = whole
    before = cluster.version("app1")
    with Readers(cluster.base, versions) as readers:
        time.sleep(WARM_UP)
        cluster.stop("primary")
        failed, seconds = cluster.load(versions.other_than(before))
        time.sleep(2.0)
        during = readers.requests
        assert cluster.health("app3")[0] == 503
        assert cluster.version("app1") == before == cluster.version("app2")
    assert_clean(readers)
    assert failed.returncode == 1 and failed.stdout == ""
    message = failed.stderr.strip()
    assert "\n" not in message and "nothing was loaded" in message and "Traceback" not in message, message
    cluster.start("primary")
    assert wait_until("the primary's server", lambda: cluster.version("app3") == before, 30), "the failed load changed nothing"
    version, load_seconds = load_ok(cluster, versions.other_than(before))
    caught_up = wait_for_version(cluster, ("app1", "app2", "app3"), version)
    section = "The primary stopped, then started"
    measure(section, "requests while it was down / failed", f"{during:,} / {len(readers.failures)}")
    measure(section, "a load meanwhile", f"exit 1 after {seconds:.1f} s (checking the seeds first): `{message}`")
    measure(section, "after its restart, a load / until the replica's servers read it", f"{load_seconds:.1f} s / {caught_up:.2f} s")


# --- slow clients ----------------------------------------------------------------------------

SLOWLORIS = 1000
STALLED = 50
PROBE_SECONDS = 15.0


class Slowloris:
    """Connections that send a request's headers a line a second and never finish them, opened
    again as soon as nginx drops one (as the red team's did)."""

    def __init__(self, port, count):
        self.port, self.count = port, count
        self.sockets, self.reopened = [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.setblocking(False)
        sock.send(b"GET /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return sock

    def _run(self):
        try:
            self.sockets = [self._open() for _ in range(self.count)]
            while not self.stop.wait(1.0):
                for i, sock in enumerate(self.sockets):
                    try:
                        sock.send(b"X-Slow: 1\r\n")
                        continue
                    except OSError:
                        sock.close()
                    self.reopened += 1
                    try:
                        self.sockets[i] = self._open()
                    except OSError:
                        pass
        finally:
            for sock in self.sockets:
                sock.close()

    def __enter__(self):
        self.thread.start()
        wait_until("slowloris connections open", lambda: len(self.sockets) == self.count, 30)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


def stalled_csv_readers(port, count):
    """Clients that ask for a CSV export (each a different one, so no cache answers it), read
    its first bytes, and then stop reading, with a receive buffer as small as the kernel allows."""
    sockets = []
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET /v1/figures?format=csv&min={i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert sock.recv(512).startswith(b"HTTP/1.1 200"), "a stalled reader's export began"
        sockets.append(sock)
    return sockets


def test_slowloris_and_stalled_csv_readers_do_not_slow_another_client(whole):
    cluster = whole
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    port = cluster.info["ports"]["nginx"]
    latencies, failures = [], []
    with Slowloris(port, SLOWLORIS) as slowloris:
        stalled = stalled_csv_readers(port, STALLED)
        try:
            deadline = time.monotonic() + PROBE_SECONDS
            n = 0
            while time.monotonic() < deadline:
                n += 1
                # A cached index, an uncached page (a new filter each time), and one record.
                for path in ("/v1", f"/v1/figures?limit=5&min={1000 + n}", "/v1/figures?limit=1&sort=id"):
                    status, body, seconds = fetch(cluster.base + path, timeout=10)
                    latencies.append(seconds)
                    if status != 200:
                        failures.append((path, status, body[:200]))
                time.sleep(0.05)
            # Every app server is free: asked directly, each answers at once.
            direct = {app: fetch(f"{url}/v1/figures?limit=2&min=7", timeout=5) for app, url in cluster.apps.items()}
        finally:
            for sock in stalled:
                sock.close()
        reopened = slowloris.reopened
    assert failures == [], failures[:5]
    p99 = percentile(latencies, 99)
    assert p99 < 1.0, f"p99 {p99:.3f} s"
    assert all(status == 200 and seconds < 1.0 for status, _, seconds in direct.values()), direct
    section = f"{SLOWLORIS:,} slowloris connections and {STALLED} stalled CSV readers at once"
    measure(section, "another client's requests / failed", f"{len(latencies):,} / {len(failures)}")
    measure(section, "its latency p50 / p99 / max", " / ".join(f"{1000 * v:.0f} ms" for v in (percentile(latencies, 50), p99, max(latencies))))
    measure(section, "slowloris connections nginx dropped (client_header_timeout 5 s), opened again", f"{reopened:,}")
    measure(section, "each app server asked directly meanwhile", ", ".join(f"{a} {1000 * d[2]:.0f} ms" for a, d in direct.items()))


def test_what_nginx_refuses_itself_is_problem_json_in_the_apps_shape(whole):
    from api.web.errors import problem_body

    cluster = whole
    shape = set(problem_body(400, "", ""))
    port = cluster.info["ports"]["nginx"]
    cases = {
        413: b"POST /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 4096\r\n\r\n" + b"x" * 4096,
        414: b"GET /v1?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        400: b"GET /v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
    }
    for status, request in cases.items():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(f"HTTP/1.1 {status}".encode()), head[:100]
        assert b"Content-Type: application/problem+json" in head, head
        problem = json.loads(body)
        assert set(problem) == shape and problem["status"] == status, problem
    measure("What nginx refuses itself", "413, 414, 400 (header over 8 KiB)", "problem+json, the app's fields")
