"""What the benchmark is made of: server processes, their memory and CPU from /proc, HTTP
fetches, wrk runs (with a pure-Python stand-in where wrk is missing) and the machine's
description. bench/run.py puts them together."""

import http.client
import json
import os
import pathlib
import platform
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATASETTE = ROOT / "bench" / ".venv" / "bin" / "datasette"
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


# -- processes ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rindex(b")") + 2 :].split()
        children.setdefault(int(rest[1]), []).append(int(entry))
    return children


def tree(root):
    """root and every process below it."""
    children = _children_map()
    out, stack = [root], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return int(rest[11]) + int(rest[12])
    except (OSError, IndexError):
        return 0


def busiest_share(before, after):
    """Of the CPU a server's processes spent between two `cpu_by_process` readings, the share
    of the busiest one: about 1/workers when a round's connections are spread over the workers,
    near 1 when they all landed on one worker and the others stood idle."""
    spent = [after[p] - before.get(p, 0) for p in after]
    total = sum(spent)
    return max(spent) / total if total > 0 else None


def machine_busy_ticks():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts[:8]) - idle


def disk_read_kib():
    """KiB the machine has read from its disks since boot (/proc/vmstat's pgpgin), whoever read
    them: a round's difference is what its queries could not find in memory, the server's own
    reads and the database server's alike."""
    with open("/proc/vmstat") as f:
        for line in f:
            if line.startswith("pgpgin "):
                return int(line.split()[1])
    return 0


DAMON = pathlib.Path("/sys/kernel/mm/damon/admin/kdamonds")


def damon_pageout():
    """The kernel's DAMON schemes that page out idle memory, as this machine runs them (None
    if none runs): [{"min_idle_s", "quota_mib_per_s", "paged_out_mib"}], paged_out_mib being the
    scheme's total since it started. The totals are refreshed by writing to the kdamond's
    state file, which needs root; without it they are None."""
    schemes = []
    for kdamond in sorted(DAMON.glob("[0-9]*")):
        try:
            if (kdamond / "state").read_text().strip() != "on":
                continue
            try:
                (kdamond / "state").write_text("update_schemes_stats")
                fresh = True
            except OSError:
                fresh = False
            for context in sorted(kdamond.glob("contexts/[0-9]*")):
                aggr_us = int((context / "monitoring_attrs/intervals/aggr_us").read_text())
                for scheme in sorted(context.glob("schemes/[0-9]*")):
                    if (scheme / "action").read_text().strip() != "pageout":
                        continue
                    min_age = int((scheme / "access_pattern/age/min").read_text())
                    quota = int((scheme / "quotas/bytes").read_text())
                    reset_ms = int((scheme / "quotas/reset_interval_ms").read_text()) or 1000
                    applied = int((scheme / "stats/sz_applied").read_text()) if fresh else None
                    schemes.append(
                        {
                            "min_idle_s": min_age * aggr_us / 1e6,
                            "quota_mib_per_s": quota / 2**20 * 1000 / reset_ms if quota else None,
                            "paged_out_mib": None if applied is None else applied / 2**20,
                        }
                    )
        except (OSError, ValueError):
            continue
    return schemes or None


def pss_kib(pid):
    """Proportional set size: a page shared by n processes counts 1/n in each, so the sum over
    a server's processes is what it costs the machine (forked workers share most pages)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return rss_kib(pid)


class RssSampler(threading.Thread):
    """The peak memory of a process tree, sampled every `interval` seconds: the summed PSS
    (`peak_kib`) and the largest RSS of any one of its processes (`peak_one_rss_kib`)."""

    def __init__(self, root, interval=0.1):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_kib = self.peak_one_rss_kib = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self):
        pids = tree(self.root)
        n = 0
        while not self._halt.is_set():
            if n % 10 == 0:
                pids = tree(self.root)
            self.peak_kib = max(self.peak_kib, sum(pss_kib(p) for p in pids))
            self.peak_one_rss_kib = max(self.peak_one_rss_kib, max((rss_kib(p) for p in pids), default=0))
            self.samples += 1
            n += 1
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()
        return self.peak_kib


class Server:
    """A server process of one side, its log in `log_path`, stopped by its own pid."""

    def __init__(self, name, argv, port, env=None, cwd=ROOT, log_path=None, ready_path="/"):
        self.name, self.argv, self.port = name, argv, port
        self.env = {**os.environ, **(env or {})}
        self.cwd, self.log_path, self.ready_path = cwd, log_path, ready_path
        self.proc = None

    def start(self, timeout=60):
        self.log_file = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _, _ = get(self.port, self.ready_path, timeout=5)
                if status < 500:
                    if status != 200:
                        raise RuntimeError(f"{self.name} answered {status} to {self.ready_path}; see {self.log_path}")
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer on port {self.port} within {timeout}s; see {self.log_path}")

    def cpu_ticks(self):
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self):
        """{pid: CPU ticks so far} of the server's processes."""
        return {p: cpu_ticks(p) for p in tree(self.proc.pid)} if self.proc and self.proc.poll() is None else {}

    def rss_kib(self):
        """The summed PSS of the server's processes (see pss_kib)."""
        return sum(pss_kib(p) for p in tree(self.proc.pid)) if self.proc and self.proc.poll() is None else 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn, uvicorn and nginx each stop their workers
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this server was started in
                self.proc.wait(5)
        if self.log_path and not self.log_file.closed:
            self.log_file.close()


# -- HTTP --------------------------------------------------------------------------------


def get(port, path, timeout=600, sink=None):
    """(status, headers, body) of GET path; with `sink`, the body is streamed into it instead."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        if sink is None:
            return response.status, headers, response.read()
        size = 0
        while chunk := response.read(1 << 20):
            sink.write(chunk)
            size += len(chunk)
        return response.status, headers, size
    finally:
        conn.close()


def path_of(url):
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def get_json(port, path):
    status, _, body = get(port, path)
    if status != 200:
        raise RuntimeError(f"GET {path} on port {port}: {status} {body[:300]!r}")
    return json.loads(body)


# -- wrk ---------------------------------------------------------------------------------

DONE_LUA = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""
MIX_LUA = (
    r"""
local paths = {}
local counter = 0
function init(args)
  for _, a in ipairs(args) do paths[#paths + 1] = a end
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter - 1) % #paths + 1])
end
"""
    + DONE_LUA
)


def wrk(port, paths, connections, duration, timeout, scripts, path_file=None):
    """One wrk run; paths[0] alone, or round-robin over paths, or (with `path_file`, one path
    a line) over the paths of a file in its order. Returns its summary dict."""
    script = scripts["file"] if path_file else scripts["mix"] if len(paths) > 1 else scripts["done"]
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s", "--latency", "-s", script, f"http://{HOST}:{port}{paths[0]}"]
    if path_file:
        argv += ["--", str(path_file)]
    elif len(paths) > 1:
        argv += ["--", *paths]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + timeout + 60)
    match = re.search(r"^BENCHJSON (.*)$", out.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk gave no summary: {out.stdout[-500:]} {out.stderr[-500:]}")
    result = json.loads(match.group(1))
    seconds = result["duration_us"] / 1e6
    result["rps"] = result["requests"] / seconds if seconds else 0.0
    result["errors_total"] = sum(result["errors"].values())
    return result


def python_round(port, paths, seconds):
    """Without wrk: requests one after another for `seconds`; the same summary shape."""
    latencies, errors, size = [], 0, 0
    started = time.perf_counter()
    k = 0
    while time.perf_counter() - started < seconds or not latencies:
        t = time.perf_counter()
        status, _, body = get(port, paths[k % len(paths)])
        latencies.append((time.perf_counter() - t) * 1e6)
        errors += status >= 400
        size += len(body)
        k += 1
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "bytes": size,
        "rps": len(latencies) / elapsed,
        "errors": {"status": errors},
        "errors_total": errors,
        "tool": "python",
        "latency_us": {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": latencies[-1], "mean": statistics.fmean(latencies)},
    }


def once_each(port, paths, connections, cap_s):
    """Each of `paths` requested once, in order, over `connections` kept-alive connections, until
    all are done or `cap_s` seconds have passed. Returns {"requests", "of", "seconds", "errors"}."""
    queue = iter(paths)
    lock = threading.Lock()
    done = {"requests": 0, "errors": 0}
    deadline = time.monotonic() + cap_s

    def worker():
        conn = None
        while time.monotonic() < deadline:
            with lock:
                path = next(queue, None)
            if path is None:
                break
            try:
                conn = conn or http.client.HTTPConnection(HOST, port, timeout=max(1.0, deadline - time.monotonic()))
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                failed = response.status != 200
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                failed = True
                if conn:
                    conn.close()
                conn = None
            with lock:
                done["requests"] += 1
                done["errors"] += failed
        if conn:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**done, "of": len(paths), "seconds": time.monotonic() - started}


def unloaded_ms(port, path, budget=5.0, most=5):
    """Median latency of requests one at a time (no queueing): the service time."""
    times = []
    started = time.perf_counter()
    while len(times) < most and (not times or time.perf_counter() - started < budget):
        t = time.perf_counter()
        status, _, _ = get(port, path, sink=_Null())
        times.append((time.perf_counter() - t) * 1000)
        if status != 200:
            return None
    return statistics.median(times)


class _Null:
    def write(self, chunk):
        pass


class _CountLines:
    def __init__(self, file=None):
        self.lines, self.file = 0, file

    def write(self, chunk):
        self.lines += chunk.count(b"\n")
        if self.file:
            self.file.write(chunk)


# -- machine -----------------------------------------------------------------------------


def command_output(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine(pg_url):
    lscpu = command_output(["lscpu"]) or ""
    model = re.search(r"Model name:\s*(.*)", lscpu)
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    os_release = ""
    if os.path.exists("/etc/os-release"):
        os_release = re.search(r'PRETTY_NAME="(.*)"', pathlib.Path("/etc/os-release").read_text()).group(1)
    import sqlite3

    versions = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "wrk": " ".join((command_output(["wrk", "-v"]) or "missing").split()[:2]),
        "nginx": command_output(["nginx", "-v"]) or "missing",
        "datasette": command_output([str(DATASETTE), "--version"]) if DATASETTE.exists() else "not installed",
    }
    from importlib.metadata import version

    for package in ("flask", "gunicorn", "peewee", "psycopg", "marshmallow", "flask-smorest"):
        versions[package] = version(package)
    if pg_url:
        try:
            import psycopg

            with psycopg.connect(pg_url, connect_timeout=5) as conn:
                versions["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]
        except Exception as exc:  # noqa: BLE001
            versions["postgresql"] = f"unreachable ({exc.__class__.__name__})"
    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": os_release,
        "kernel": platform.release(),
        "versions": versions,
        "loadavg_at_start": pathlib.Path("/proc/loadavg").read_text().split()[:3],
        "damon_pageout_at_start": damon_pageout(),
    }
