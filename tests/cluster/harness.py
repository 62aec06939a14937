"""What the cluster tests share: the cluster deploy/cluster started, clients that page through
it, loads on its primary, and what nginx's access log says answered each request."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

from api.ingest.read import read_seeds
from tests.support import ROOT, SEEDS

SCRIPT = ROOT / "deploy" / "cluster"
CIVICFACTS = pathlib.Path(sys.executable).parent / "civicfacts"
PAGE = 4  # rows a page: the 29 figures take 8 pages, so every reader crosses versions often
# urllib follows http_proxy from the environment; the tests talk only to 127.0.0.1.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url, timeout=10):
    """(status, body, seconds); status None when no HTTP answer came (refused, reset, timed out)."""
    started = time.perf_counter()
    try:
        with OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read(), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), time.perf_counter() - started
    except (OSError, urllib.error.URLError) as exc:
        return None, str(exc).encode(), time.perf_counter() - started


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def wait_until(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


def wait_for(what, get, seconds):
    """(the first value of `get()` that is not None, the seconds it took), polled for `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        value = get()
        if value is not None:
            return value, time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


class Cluster:
    """The cluster under `folder`, as deploy/cluster left it (folder/cluster.json)."""

    def __init__(self, folder):
        self.dir = pathlib.Path(folder)
        self.info = json.loads((self.dir / "cluster.json").read_text())
        self.base = self.info["base_url"]
        self.apps = {name: app["url"] for name, app in self.info["apps"].items()}
        self.access_log = self.dir / "log" / "nginx-access.log"

    def script(self, command, *names):
        args = [SCRIPT, command, self.dir] + (["--only", ",".join(names)] if names else [])
        result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"deploy/cluster {command} {names}: {result.stdout}{result.stderr}"
        return result.stdout

    def start(self, *names):
        return self.script("start", *names)

    def stop(self, *names):
        return self.script("stop", *names)

    def kill(self, *names):
        return self.script("kill", *names)

    def load(self, seeds_dir):
        """`civicfacts load` on the primary, as an operator runs it: (CompletedProcess, seconds)."""
        started = time.perf_counter()
        result = subprocess.run(
            [str(CIVICFACTS), "load", "--database", self.info["loader_url"], str(seeds_dir)], capture_output=True, text=True, timeout=180
        )
        return result, time.perf_counter() - started

    def psql(self, node, sql):
        """Run `sql` on a node as PostgreSQL's superuser (the operating-system user it runs as)."""
        command = [f"{self.info['pg_bin']}/psql", "-h", str(self.dir / "pg" / "socket"), "-p", str(self.info["ports"][node])]
        command += ["-d", "postgres", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]
        if self.info["pg_user"]:
            command = ["runuser", "-u", self.info["pg_user"], "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout.strip()

    def health(self, app):
        """(status, the body as JSON or None) of an app server's /v1/health, asked directly."""
        status, body, _ = fetch(f"{self.apps[app]}/v1/health", timeout=5)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, None

    def version(self, app):
        """The dataset version an app server reads now, or None if it cannot answer."""
        status, body = self.health(app)
        return body["data"]["dataset"]["version"] if status == 200 else None

    def log_position(self):
        """Where the access log will go on from: nginx writes it at most a second late
        (`flush=1s`), so first let it write what it answered until now."""
        time.sleep(1.2)
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def served_by(self, since):
        """How many requests each app server answered (its port) since the access log's
        position `since`; nginx writes its log at most a second late."""
        time.sleep(1.2)
        ports = {str(port): name for name, port in self.info["ports"].items()}
        answered = Counter()
        with open(self.access_log, encoding="utf-8", errors="replace") as log:
            log.seek(since)
            for line in log:
                match = re.search(r"upstream=(\S+(?:, \S+)*) ustatus=(\S+(?:, \S+)*)", line)
                if not match:
                    continue
                # The last server tried is the one whose answer the client got.
                last = match.group(1).split(", ")[-1].rsplit(":", 1)[-1]
                answered[ports.get(last, last)] += 1
        return answered


class Versions:
    """The two datasets the tests load in turn: A, the seeds, and B, the seeds without article
    7, with the figures each holds. A load back to seeds an earlier version had is a new version
    named after them (A, B, A-2, ...), so a version's name says which it holds."""

    def __init__(self, tmp):
        b = pathlib.Path(tmp) / "seeds-b"
        if not b.exists():
            shutil.copytree(SEEDS, b)
            for path in b.glob("07_*.yaml"):
                path.unlink()
        self.dirs = {}
        self.figures = {}
        for folder in (SEEDS, b):
            seeds = read_seeds(folder)
            self.dirs[seeds.version] = folder
            self.figures[seeds.version] = sorted(e.data["id"] for e in seeds.entries.values() if e.section == "figures")

    def of(self, version):
        return self.figures.get(version.split("-")[0])

    def other_than(self, version):
        """The seed folder of the dataset that `version` is not."""
        return next(folder for name, folder in self.dirs.items() if name != version.split("-")[0])


class Readers:
    """Clients paging through /v1/figures with cursors through nginx, from the first page to the
    last and again, each page checked against the dataset version it names: its rows must be
    exactly that version's rows after the previous page's last one (a cursor names a position in
    the sort order), whichever server answered the previous page."""

    def __init__(self, base, versions, count=16):
        self.base, self.versions, self.count = base, versions, count
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.latencies, self.failures, self.inconsistent = [], [], []
        self.seen = Counter()
        self.threads = [threading.Thread(target=self._read, daemon=True) for _ in range(count)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(30)

    @property
    def requests(self):
        return len(self.latencies)

    def _read(self):
        while not self.stop_event.is_set():
            url, last = f"{self.base}/v1/figures?limit={PAGE}&sort=id", None
            while url and not self.stop_event.is_set():
                try:
                    url, last = self._page(url, last)
                except Exception as exc:  # noqa: BLE001 - a thread must not die silently
                    with self.lock:
                        self.failures.append((url, None, repr(exc)))
                    url = None

    def _page(self, url, last):
        status, body, seconds = fetch(url)
        with self.lock:
            self.latencies.append(seconds)
        if status != 200:
            with self.lock:
                self.failures.append((url, status, body[:300]))
            return None, None
        page = json.loads(body)
        version = page["meta"]["dataset_version"]
        ids = [row["id"] for row in page["data"]]
        truth = self.versions.of(version)
        expected = None if truth is None else [i for i in truth if last is None or i > last][:PAGE]
        with self.lock:
            self.seen[version] += 1
            if ids != expected or page["meta"]["total"] != len(truth or ()):
                self.inconsistent.append((url, version, ids, expected))
        return page["links"]["next"], ids[-1] if ids else last

    def summary(self):
        return {
            "requests": self.requests,
            "failed": len(self.failures),
            "inconsistent": len(self.inconsistent),
            "p50_ms": round(1000 * (percentile(self.latencies, 50) or 0), 1),
            "p99_ms": round(1000 * (percentile(self.latencies, 99) or 0), 1),
            "versions": dict(self.seen),
        }


def cpu_count():
    return os.cpu_count() or 1
