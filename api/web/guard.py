"""Protection against abuse: strict query strings, size limits, rate limits per client IP,
security headers. Every check here runs before routing and before any database work.

Werkzeug decodes a query string leniently (a broken `%zz` stays as text, invalid UTF-8
becomes U+FFFD, a repeated parameter silently loses all but one value), which would let a
malformed request be answered as if it were another; `check_query_string` refuses such
input outright, naming the parameter. The rate limit (off unless RATE_LIMIT is set, e.g.
"120/minute") is counted in front of the app (api/web/rate_limit.py) and refused here.
"""

import re
from collections import Counter
from urllib.parse import unquote_to_bytes

from flask import current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestURITooLarge, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from api.config import limit_default
from api.web.rate_limit import OVER

MAX_QUERY_STRING = limit_default("MAX_QUERY_STRING")  # the default of the setting (api/config.py)
BROKEN_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
DOCS_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The explorer runs no script at all and loads only its own stylesheet and inline SVG.
EXPLORER_POLICY = "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
SERVER_NAME = "civicfacts"


def _bad_parameter(name, message):
    error = BadRequest(f"{name}: {message}")
    error.data = {"message": f"{name}: {message}", "errors": [{"parameter": name, "message": message}]}
    return error


def check_body_size():
    """The API reads no request body; one declared larger than MAX_CONTENT_LENGTH is refused
    before anything else happens (werkzeug itself would only refuse it once read)."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge(f"The request body is {request.content_length} bytes; at most {limit} are accepted (the API reads none).")


def _decoded(name, part):
    """One side of a name=value pair as text, or a 400 naming the parameter."""
    if BROKEN_ESCAPE.search(part):
        raise _bad_parameter(name, "broken percent-encoding: '%' must be followed by two hex digits")
    try:
        text = unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_parameter(name, "not valid UTF-8 once percent-decoded") from None
    if "\x00" in text:
        raise _bad_parameter(name, "contains a NUL character")
    return text


def check_query_string():
    raw = request.query_string
    limit = current_app.config.get("MAX_QUERY_STRING", MAX_QUERY_STRING)
    if len(raw) > limit:
        raise RequestURITooLarge(f"The query string is {len(raw)} bytes; at most {limit} are accepted.")
    names = Counter()
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = raw_name.decode("ascii", "replace")
        names[_decoded(name, raw_name)] += 1
        _decoded(name, raw_value)
    for name, times in names.items():
        if times > 1:
            raise _bad_parameter(name, "given more than once; give it once (lists are comma-separated)")


def security_headers(response):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.mimetype != "text/html":
        policy = API_POLICY
    else:
        policy = DOCS_POLICY if request.path.startswith("/docs") else EXPLORER_POLICY
    response.headers["Content-Security-Policy"] = policy
    # Werkzeug's server announces its version and Python's unless the app names itself;
    # gunicorn always sends a bare `Server: gunicorn` of its own, which a second header would
    # only contradict, so there the app leaves it.
    if not request.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        response.headers["Server"] = SERVER_NAME
    return response


def refuse_over_the_rate_limit():
    """A request api/web/rate_limit.py found over its client's budget: 429, with Retry-After."""
    retry_after = request.environ.get(OVER)
    if retry_after is not None:
        budget = current_app.config["RATE_LIMIT"]
        raise TooManyRequests(f"This client has used its budget of requests ({budget}); try again later.", retry_after=retry_after)


def init_app(app):
    """Install the checks and the headers on `app` (the limit itself counts in front of the
    app: api/web/rate_limit.py; ProxyFix is outermost: see create_app)."""
    app.before_request(refuse_over_the_rate_limit)
    app.before_request(check_body_size)
    app.before_request(check_query_string)
    app.after_request(security_headers)


def trust_proxies(app):
    """Behind `TRUSTED_PROXIES` load balancers, the client's address, scheme and host are in
    their X-Forwarded-* headers: ProxyFix, outermost, puts them where everything else reads
    them. With none trusted (the default) those headers are ignored, so a client cannot pick
    its own address."""
    hops = int(app.config.get("TRUSTED_PROXIES", 0))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
