"""Every route of the app, from its url_map, as concrete paths to request: a test that walks
these covers a route added tomorrow without anyone editing it."""

import re

from werkzeug.routing import AnyConverter

from tests.support import site_spec

RECORD_ID = "{record_id}"
ARGUMENT = re.compile(r"<(?:[^<>]*:)?(\w+)>")  # <slug:record_id>, <any("a", "b"):collection>
SPEC = site_spec()


def _rules():
    from api import create_app

    app = create_app({"DATABASE_URL": "sqlite:///:memory:"})
    return sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)


def _required_query(spec_path):
    """The required query parameters of a spec path, each with a value that is valid for it."""
    operation = SPEC["paths"].get(spec_path, {}).get("get", {})  # a route outside the spec fails its own test
    return "&".join(f"{p['name']}=광주" for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required"))


def spec_path(rule):
    """/v1/figures/<slug:record_id> -> /v1/figures/{record_id}."""
    return ARGUMENT.sub(r"{\1}", rule.rule)


def route_paths():
    """[(rule, path)]: one path per route, one per value of an `any(...)` converter; a record
    route keeps RECORD_ID, which `concrete` fills with an id the API lists."""
    paths = []
    for rule in _rules():
        query = _required_query(spec_path(rule))
        suffix = f"?{query}" if query else ""
        anys = {name: sorted(conv.items) for name, conv in rule._converters.items() if isinstance(conv, AnyConverter)}
        if anys:
            ((name, values),) = anys.items()
            paths += [(rule.rule, spec_path(rule).replace("{" + name + "}", value) + suffix) for value in values]
        else:
            paths.append((rule.rule, spec_path(rule) + suffix))
    return paths


def concrete(client, path):
    """`path` with RECORD_ID replaced by the first id its collection (the segment before it) lists."""
    if RECORD_ID not in path:
        return path
    collection = path.split(RECORD_ID)[0].rstrip("/").rsplit("/", 1)[-1]
    first = client.get(f"/v1/{collection}?limit=1").get_json()["data"][0]["id"]
    return path.replace(RECORD_ID, first)


SERVED_PATHS = sorted(spec_path(rule) for rule in _rules())  # as the spec writes them
ROUTE_PATHS = route_paths()
