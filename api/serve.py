"""`civicfacts serve`: the API under a production WSGI server.

granian is the default: it answered 2 to 2.6 times as many requests per second as gunicorn
in the benchmark (bench/RESULTS.md, "Which server"). gunicorn stays available
(`--server gunicorn`, `pip install '.[gunicorn]'`) for comparison and for hosts that
standardise on it.

gunicorn answers some requests itself, before the app sees them: a request line or headers
beyond its limits, a malformed request. It writes those as an HTML page, and the contract
says every error is problem+json, so in the server process its error writer is replaced by
one that writes problem details (gunicorn has no setting for its error pages). Its request
line limit is raised to its maximum, so that the app's own, more precise 414 (at
guard.MAX_QUERY_STRING) is what a long query string meets first.
"""

import errno
import http
import importlib
import importlib.metadata
import socket

import orjson

from api.mistakes import Refusal
from api.store.db import open_database
from api.store.readiness import NO_DATASET, loaded_dataset
from api.store.urls import check_url, described
from api.web.errors import PROBLEM_JSON, problem_body

SERVERS = ("granian", "gunicorn")
MAX_REQUEST_LINE = 8190  # gunicorn's ceiling for limit_request_line
EVERY_ADDRESS = ("0.0.0.0", "::", "")


def serve(server, host, port, workers, threads=1, access_log=False, reuse_port=False, database_url=None, say=print, pending=None):
    """Check what would stop the server (its extra not installed, a database URL that names
    nothing, a port in use), say what it serves, then serve until stopped. `pending(database)`
    names the migrations a database lacks (the command line's, which owns them)."""
    importlib.import_module(server)  # a missing extra is explained (api/mistakes.py) before anything is printed
    if database_url:
        check_url(database_url)
    if not reuse_port:
        check_port_is_free(host, port)
    if database_url:
        for line in first_screen(server, host, port, workers, threads, database_url, pending):
            say(line)
    if server == "gunicorn":
        return serve_with_gunicorn(host, port, workers, threads, access_log, reuse_port)
    return serve_with_granian(host, port, workers, threads, access_log)


def check_port_is_free(host, port):
    """Refuse a port that something listens on already. granian binds with SO_REUSEPORT, so a
    second `civicfacts serve` on the port would not fail but share it with the first, each
    answering some of the requests (`--reuse-port` asks for that on purpose). The probe does
    not set SO_REUSEPORT, so any listener makes it fail; SO_REUSEADDR lets it through a port
    that a server just stopped left in TIME_WAIT, as the server's own bind would."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Refusal(f"port {port} on {host} is in use (another civicfacts serve?): stop that, or choose another with --port") from exc
            raise Refusal(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def first_screen(server, host, port, workers, threads, database_url, pending=None):
    """What a person starting the server needs to know first: which database and dataset it
    serves (or what to run before it can), and where to open it."""
    database = open_database(database_url, readonly=True)
    dataset, problem = loaded_dataset(database, database_url)
    lacking = []
    if problem is None and pending is not None:
        with database.connection_context():
            lacking = pending(database)
    database.close()
    if dataset is not None:
        records = sum((dataset.counts or {}).values())
        state = f"{dataset.version}, loaded {dataset.loaded_at:%Y-%m-%d %H:%M} UTC: {records} records"
    else:
        state = problem or NO_DATASET
    if lacking:
        # A migration pulled but not applied: requests that need it answer 503 until it is.
        state += f"; the database lacks migrations {', '.join(lacking)}: run `civicfacts migrate`"
    shown = "127.0.0.1" if host in EVERY_ADDRESS else (f"[{host}]" if ":" in host else host)
    base = f"http://{shown}:{port}"
    listening = " on every address of this machine" if host in EVERY_ADDRESS else ""
    version = importlib.metadata.version("civicfacts")
    return [
        f"civicfacts {version}, served by {server}{listening}: {counted(workers, 'worker')} × {counted(threads, 'thread')}",
        f"  database  {described(database_url)}",
        f"  dataset   {state}",
        f"  explorer  {base}/",
        f"  API       {base}/v1",
        f"  docs      {base}/docs",
    ]


def counted(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def serve_with_granian(host, port, workers, threads=1, access_log=False):
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "api:create_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=host,
        port=port,
        workers=workers,
        # granian's default for WSGI is hundreds of threads per process, which only fight
        # over the GIL: bench/RESULTS.md has the measurements behind one per process.
        blocking_threads=threads,
        respawn_failed_workers=True,
        log_access=access_log,
        websockets=False,  # WSGI has none; left on, granian says so at every start
    ).serve()


def write_problem(sock, status_int, reason, mesg):
    """gunicorn.util.write_error's signature; the body is problem details, not HTML."""
    from gunicorn import util

    phrase = http.HTTPStatus(status_int).phrase
    body = orjson.dumps(problem_body(status_int, mesg or phrase, ""))
    head = (
        f"HTTP/1.1 {status_int} {phrase}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def serve_with_gunicorn(host, port, workers, threads=1, access_log=False, reuse_port=False):
    from gunicorn import util
    from gunicorn.app.base import BaseApplication

    from api import create_app

    options = {"bind": f"{host}:{port}", "workers": workers, "limit_request_line": MAX_REQUEST_LINE, "reuse_port": reuse_port}
    if threads > 1:
        options.update(worker_class="gthread", threads=threads)
    if access_log:
        options["accesslog"] = "-"

    class Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)
            util.write_error = write_problem

        def load(self):
            return create_app()

    Server().run()
