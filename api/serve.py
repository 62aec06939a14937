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

import http

import orjson

from api.web.errors import PROBLEM_JSON, problem_body

SERVERS = ("granian", "gunicorn")
MAX_REQUEST_LINE = 8190  # gunicorn's ceiling for limit_request_line


def serve(server, host, port, workers, threads=1, access_log=False):
    if server == "gunicorn":
        return serve_with_gunicorn(host, port, workers, threads, access_log)
    return serve_with_granian(host, port, workers, threads, access_log)


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


def serve_with_gunicorn(host, port, workers, threads=1, access_log=False):
    from gunicorn import util
    from gunicorn.app.base import BaseApplication

    from api import create_app

    options = {"bind": f"{host}:{port}", "workers": workers, "limit_request_line": MAX_REQUEST_LINE}
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
