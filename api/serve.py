"""`civicfacts serve`: the API under gunicorn, the production server.

gunicorn answers some requests itself, before the app sees them: a request line or headers
beyond its limits, a malformed request. It writes those as an HTML page, and the contract
says every error is problem+json, so in the server process its error writer is replaced by
one that writes problem details (gunicorn has no setting for its error pages). Its request
line limit is raised to its maximum, so that the app's own, more precise 414 (at
guard.MAX_QUERY_STRING) is what a long query string meets first.
"""

import http

import orjson
from gunicorn import util
from gunicorn.app.base import BaseApplication

from api.errors import PROBLEM_JSON, problem_body

MAX_REQUEST_LINE = 8190  # gunicorn's ceiling for limit_request_line


def write_problem(sock, status_int, reason, mesg):
    """gunicorn.util.write_error's signature; the body is problem details, not HTML."""
    phrase = http.HTTPStatus(status_int).phrase
    body = orjson.dumps(problem_body(status_int, mesg or phrase, ""))
    head = (
        f"HTTP/1.1 {status_int} {phrase}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
        f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class Server(BaseApplication):
    def __init__(self, app_factory, host, port, workers):
        self.app_factory = app_factory
        self.options = {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-", "limit_request_line": MAX_REQUEST_LINE}
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        util.write_error = write_problem

    def load(self):
        return self.app_factory()


def serve(host, port, workers):
    from api import create_app

    Server(create_app, host, port, workers).run()
