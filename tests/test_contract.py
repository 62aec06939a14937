"""The contract: openapi.yaml is what the code generates, valid OpenAPI 3.1, served as is,
covers every route (and nothing else), documents every operation, and every example in it
is taken from the data the API really serves. Cursors the API did not issue for that very
list are refused with a 400 naming `cursor`.

test_fuzz.py has schemathesis fuzz the same document; the `client` fixture validates every
response the tests here receive against it.
"""

import base64
import json
import pathlib
import re
from urllib.parse import urlsplit

import orjson
import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator

from api import create_app
from api.query.pagination import encode_cursor
from api.web.openapi import site_spec_dict, spec_yaml

SPEC_PATH = pathlib.Path(__file__).resolve().parent.parent / "openapi.yaml"
COLLECTIONS = ["sources", "organisations", "people", "places", "events", "programmes", "figures"]


@pytest.fixture(scope="module")
def generated_app():
    """The app as `civicfacts spec` builds it: no database is needed to describe the API."""
    return create_app({"DATABASE_URL": "sqlite:///:memory:"})


@pytest.fixture(scope="module")
def committed():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def cursor_of(body):
    return body["links"]["next"].split("cursor=")[1]


def assert_cursor_refused(response):
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert [e["parameter"] for e in body["errors"]] == ["cursor"], body
    assert body["detail"].startswith("cursor: ")


# --- the document -----------------------------------------------------------------------------


def test_committed_spec_is_what_the_code_generates(generated_app):
    assert SPEC_PATH.read_text(encoding="utf-8") == spec_yaml(generated_app), "run `civicfacts spec` and commit openapi.yaml"


def test_spec_check_command_agrees(tmp_path):
    from click.testing import CliRunner

    from api.cli import main

    assert CliRunner().invoke(main, ["spec", "--check", str(SPEC_PATH)]).exit_code == 0
    stale = tmp_path / "openapi.yaml"
    text = SPEC_PATH.read_text(encoding="utf-8").replace("summary: List figures", "summary: List numbers")
    stale.write_text(text, encoding="utf-8")
    assert CliRunner().invoke(main, ["spec", "--check", str(stale)]).exit_code == 1
    assert stale.read_text(encoding="utf-8") == text  # --check writes nothing


def test_spec_is_valid_openapi_3_1(committed):
    assert committed["openapi"] == "3.1.0"
    errors = list(OpenAPIV31SpecValidator(committed).iter_errors())
    assert errors == [], [str(e)[:300] for e in errors[:5]]


def test_served_contract_is_the_committed_file(client):
    as_yaml = client.get("/v1/openapi.yaml")
    assert as_yaml.status_code == 200 and as_yaml.mimetype == "application/yaml"
    assert as_yaml.data == SPEC_PATH.read_bytes()
    as_json = client.get("/v1/openapi.json")
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    assert orjson.loads(as_json.data) == yaml.safe_load(SPEC_PATH.read_bytes())
    assert "김장" in as_json.get_data(as_text=True)  # Korean as UTF-8, not \\u escapes


def test_every_route_is_in_the_spec_and_every_path_is_a_route(generated_app, committed):
    """The API's routes (/v1) are the contract's paths; the HTML pages (explorer, docs) are left
    out of it, so generated clients grow no module for them, yet described in the site's
    document that the tests check every response against."""
    routes = {}
    for rule in generated_app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        # <slug:record_id> and <any("a", "b"):asset> become {record_id} and {asset}
        path = re.sub(r"<(?:[^<>]*:)?(\w+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    site = site_spec_dict(generated_app)
    assert routes == {path: {m for m in item if m != "parameters"} for path, item in site["paths"].items()}
    api_routes = {path: methods for path, methods in routes.items() if path == "/v1" or path.startswith("/v1/")}
    assert api_routes == {path: {m for m in item if m != "parameters"} for path, item in committed["paths"].items()}
    assert {"/v1", "/v1/figures", "/v1/figures/{record_id}", "/v1/search", "/v1/openapi.json"} <= set(api_routes)
    assert {"/", "/docs", "/docs/{asset}", "/explore/figures"} <= set(routes) - set(committed["paths"])
    assert "explorer" not in {tag["name"] for tag in committed["tags"]}


def test_every_operation_has_a_readable_operation_id(committed):
    """Generated clients name their functions after operationIds: stable, camelCase, unique."""
    ids = [operation.get("operationId", "") for _, _, operation in operations(committed)]
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    by_path = {path: operation["operationId"] for path, _, operation in operations(committed)}
    assert by_path["/v1/figures"] == "listFigures"
    assert by_path["/v1/figures/{record_id}"] == "getFigure"
    assert by_path["/v1/people/{record_id}/history"] == "getPersonHistory"


def test_spec_says_what_linters_ask_for(committed):
    """No credentials anywhere (security: []), who to ask and under which licence, and no component
    that nothing uses (flask-smorest registers PaginationMetadata whether or not it is used)."""
    assert committed["security"] == []
    assert committed["info"]["contact"]["name"] and committed["info"]["license"]["identifier"] == "CC-BY-4.0"
    refs = set(re.findall(r"\$ref: '(#/components/[^']+)'", SPEC_PATH.read_text(encoding="utf-8")))
    defined = {f"#/components/{kind}/{name}" for kind, items in committed["components"].items() for name in items}
    assert defined == refs
    assert "PaginationMetadata" not in committed["components"]["schemas"]


def test_every_operation_has_a_summary_and_a_description(committed):
    for path, method, operation in operations(committed):
        assert operation.get("summary", "").strip(), (method, path)
        assert operation.get("description", "").strip(), (method, path)
        assert operation["summary"] != operation["description"], (method, path)


def test_every_get_documents_304_and_a_strong_etag(committed):
    assert committed["components"]["headers"]["ETAG"]["required"] is True
    for path, _, operation in operations(committed):
        responses = operation["responses"]
        assert "304" in responses, path
        assert responses["200"]["headers"]["ETag"] == {"$ref": "#/components/headers/ETAG"}, path


# --- examples from the real data ------------------------------------------------------------


def examples(node, where=()):
    """Every `example` in the document, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("example", "examples"):
                yield where, key, value
            else:
                yield from examples(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from examples(value, (*where, index))


def served_objects(client):
    """Every JSON object inside what the API serves for the seeds: every record (with all its
    relations embedded), the index, the units, a search and a 400."""
    bodies = [client.get("/v1").get_json(), client.get("/v1/units").get_json(), client.get("/v1/search?q=김장&limit=500").get_json()]
    bodies.append(client.get("/v1/figures?limit=0").get_json())
    for name in COLLECTIONS:
        bodies.append(client.get(f"/v1/{name}?limit=500").get_json())
    out = []

    def walk(value):
        if isinstance(value, dict):
            out.append(value)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(bodies)
    return out


def instances(objects, schema):
    """The served objects shaped as this component schema: its required keys, no others."""
    required, known = set(schema.get("required", [])), set(schema.get("properties", {}))
    return [o for o in objects if required <= set(o) and set(o) <= known]


# The request that meets each documented error's example.
ERROR_REQUESTS = {
    "BAD_REQUEST": ("/v1/figures?limit=0", {}),
    "NOT_FOUND": ("/v1/figures/no-such-figure", {}),
    "NOT_ACCEPTABLE": ("/v1/figures", {"Accept": "application/xml"}),
}


def path_with_examples(spec, path):
    for parameter in spec["paths"][path].get("parameters", []):
        path = path.replace("{" + parameter["name"] + "}", parameter["example"])
    return path


def test_every_example_in_the_spec_is_served(client, committed, openapi):
    """Each example is checked against the live API: a record id is a record, a filter's
    example finds something, a field's example is the value of that field in a served
    object of that schema, a CSV example is the header the CSV really has, an error's
    example is the very body of that error."""
    objects = served_objects(client)
    checked = {"path parameter": 0, "query parameter": 0, "schema property": 0, "csv": 0, "jsonld": 0, "error": 0, "response": 0}
    for where, key, value in examples(committed):
        assert key == "example", f"{'/'.join(map(str, where))}: use `example`, which this test checks"
        if where[0] == "paths" and where[2] == "parameters":  # a path parameter: record_id
            path = path_with_examples(committed, where[1])
            response = client.get(path)
            if path.endswith((".csv", ".jsonld")):  # the record as CSV or JSON-LD
                assert response.status_code == 200 and value in response.get_data(as_text=True), path
                checked["path parameter"] += 1
                continue
            body = response.get_json()
            if path.endswith("/history"):  # the record's changes
                assert body["data"] and all(change["id"] == value for change in body["data"]), path
            else:
                assert body["data"]["id"] == value, path
            checked["path parameter"] += 1
        elif where[0] == "paths" and where[3] == "parameters":  # a query parameter of one operation
            operation = committed["paths"][where[1]][where[2]]
            parameter = operation["parameters"][where[4]]
            query = {p["name"]: p["example"] for p in operation["parameters"] if p.get("required")}
            query[parameter["name"]] = value
            path = path_with_examples(committed, where[1])
            response = client.get(path, query_string=query)
            assert response.status_code == 200, (path, query, response.get_json())
            if response.mimetype == "text/html":  # an explorer list page: the example finds some record
                collection = where[1].removeprefix("/explore/")
                assert f'href="/explore/{collection}/' in response.get_data(as_text=True), (path, query)
                checked["query parameter"] += 1
                continue
            if response.mimetype == "text/csv":  # a list's CSV: the example finds some row
                assert len(response.get_data(as_text=True).strip().splitlines()) >= 2, (path, query)
                checked["query parameter"] += 1
                continue
            body = response.get_json()
            if parameter["name"] == "include":
                assert body["included"], (path, query)
            elif isinstance(body["data"], list):
                assert body["meta"]["total"] >= 1, f"{path}?{parameter['name']}={value} finds nothing"
            checked["query parameter"] += 1
        elif where[0] == "paths" and where[-2:] == ("content", "application/json"):
            # A whole response's example (versions, the change feed, a record's history: what a
            # load with changes would serve, which the shared database has none of) must be one
            # the contract accepts.
            from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
            from werkzeug.test import EnvironBuilder
            from werkzeug.wrappers import Response

            request = EnvironBuilder(path=path_with_examples(committed, where[1]), base_url="http://localhost").get_request()
            response = Response(json.dumps(value), mimetype="application/json", headers={"ETag": '"x"', "Cache-Control": "public"})
            openapi.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
            checked["response"] += 1
        elif where[0] == "paths" and where[-2:] == ("content", "text/csv"):
            response = client.get(path_with_examples(committed, where[1]), headers={"Accept": "text/csv"})
            assert response.get_data(as_text=True).removeprefix("\ufeff").startswith(value), where
            checked["csv"] += 1
        elif where[0] == "paths" and where[-2:] == ("content", "application/ld+json"):
            document = client.get(path_with_examples(committed, where[1]), headers={"Accept": "application/ld+json"}).get_json(force=True)
            if where[1] == "/v1/context.jsonld":  # the context, whole
                assert document == value
                checked["jsonld"] += 1
                continue
            for name, expected in value.items():
                if name in ("@id", "@context"):  # the example's host is a placeholder; the path must be the record's
                    assert urlsplit(document[name]).path == urlsplit(expected).path, where
                else:
                    assert document[name] == expected, (where, name)
            checked["jsonld"] += 1
        elif where[:2] == ("components", "schemas") and where[3] == "properties":
            schema_name, field = where[2], where[4]
            shaped = instances(objects, committed["components"]["schemas"][schema_name])
            assert shaped, f"nothing served is shaped as {schema_name}"
            assert any(o.get(field) == value for o in shaped), f"{schema_name}.{field}: {value!r} is in no served {schema_name}"
            checked["schema property"] += 1
        elif where[:2] == ("components", "responses") and where[2] in ERROR_REQUESTS:
            path, headers = ERROR_REQUESTS[where[2]]
            assert client.get(path, headers=headers).get_json() == value, where[2]
            checked["error"] += 1
        else:
            raise AssertionError(f"an example this test cannot check: {'/'.join(map(str, where))}")
    assert checked["path parameter"] == 4 * len(COLLECTIONS)  # every /v1/<collection>/{record_id}, .csv, .jsonld and its history
    # a list and a record, each at its own path and at the .csv one; and the change feed, at both
    assert checked["csv"] == 4 * len(COLLECTIONS) + 2 and checked["error"] == len(ERROR_REQUESTS)
    assert checked["jsonld"] == 2 * len(COLLECTIONS) + 1  # a record's, at its path and at .jsonld; and the context
    assert checked["response"] == len(COLLECTIONS) + 3  # every record's history, /v1/changes, /v1/versions, the context
    assert checked["query parameter"] >= 40 and checked["schema property"] >= 30, checked


def test_the_examples_cover_every_record_type_and_every_list_search(committed):
    schemas = committed["components"]["schemas"]
    for name in ("Figure", "Event", "Programme", "Organisation", "Person", "Place", "Source"):
        assert "example" in schemas[name]["properties"]["id"] and "example" in schemas[name]["properties"]["name"], name
    for name in COLLECTIONS:
        parameters = {p["name"]: p for p in committed["paths"][f"/v1/{name}"]["get"]["parameters"]}
        assert "example" in parameters["q"], name
    figure = schemas["Figure"]["properties"]
    assert figure["value"]["type"] == ["number", "null"] and isinstance(figure["value"]["example"], int)
    assert figure["unit"]["example"] == "KRW" and figure["value_text"]["example"] == "14억 7000만원"


def test_figure_values_are_json_numbers_as_documented(client):
    for figure in client.get("/v1/figures?limit=500").get_json()["data"]:
        assert figure["value"] is None or type(figure["value"]) in (int, float), figure["id"]


# --- cursors the API did not issue for this list --------------------------------------------


def test_a_cursor_signed_with_another_secret_is_refused(client, client_for):
    foreign = cursor_of(client_for(CURSOR_SECRET="another-deployment").get("/v1/figures?limit=2").get_json())
    assert_cursor_refused(client.get(f"/v1/figures?limit=2&cursor={foreign}"))


def test_servers_sharing_a_secret_accept_each_others_cursors(client, client_for):
    """README: app servers with the same CURSOR_SECRET behind one load balancer."""
    first, second = (client_for(CURSOR_SECRET="one-secret-for-every-server") for _ in range(2))
    cursor = cursor_of(first.get("/v1/figures?limit=2").get_json())
    following = second.get(f"/v1/figures?limit=2&cursor={cursor}")
    assert following.status_code == 200
    assert [f["id"] for f in following.get_json()["data"]] == [f["id"] for f in client.get("/v1/figures?limit=4").get_json()["data"][2:]]
    assert_cursor_refused(client.get(f"/v1/figures?limit=2&cursor={cursor}"))  # and this server's secret is another


@pytest.mark.parametrize(("made_on", "used_on"), [("/v1/figures", "/v1/events"), ("/v1/events?sort=start_date", "/v1/programmes?sort=start_date")])
def test_a_cursor_of_another_collection_is_refused(client, made_on, used_on):
    """Same sort, good signature: still the position in another table's order."""
    cursor = cursor_of(client.get(made_on + ("&" if "?" in made_on else "?") + "limit=2").get_json())
    assert_cursor_refused(client.get(used_on + ("&" if "?" in used_on else "?") + f"limit=2&cursor={cursor}"))


def test_a_search_cursor_and_a_list_cursor_do_not_mix(client):
    search_cursor = cursor_of(client.get("/v1/search?q=김장&limit=2").get_json())
    list_cursor = cursor_of(client.get("/v1/figures?limit=2").get_json())
    assert_cursor_refused(client.get(f"/v1/search?q=김장&limit=2&cursor={list_cursor}"))
    assert client.get(f"/v1/search?q=김장&limit=2&cursor={search_cursor}").status_code == 200
    assert_cursor_refused(client.get(f"/v1/figures?limit=2&cursor={search_cursor}"))


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        ("", ["page one", "kimjang-festival-2023-participants"]),  # a text where the position (a number) goes
        ("-value", ["x", "kimjang-festival-2023-sales-amount"]),
        ("as_of", [5, "kimjang-festival-2023-sales-amount"]),  # a number where a date goes
        ("unit", [3, "kimjang-festival-2023-sales-amount"]),
        ("", [3, "a\x00b"]),
        ("-value", [{"n": "NaN"}, "x"]),
        ("-value", [{"n": "1e99999"}, "x"]),
        ("", [3]),
        ("", [3, "x", "y"]),
        ("", [True, "x"]),
    ],
)
def test_a_forged_cursor_with_a_good_signature_is_refused(client, app, sort, values):
    """Forged with the secret itself (the default one is public): values of the wrong type or
    number must be a 400, never a database error."""
    forged = encode_cursor(app.config["CURSOR_SECRET"], "figures", sort, values)
    query = f"/v1/figures?limit=2&cursor={forged}" + (f"&sort={sort}" if sort else "")
    assert_cursor_refused(client.get(query))


def test_a_forged_cursor_with_a_good_position_is_served(client, app):
    """The check refuses bad types, not positions: a forged cursor naming a real position reads as a real one."""
    forged = encode_cursor(app.config["CURSOR_SECRET"], "figures", "-value", [{"n": "1470000000"}, "kimjang-festival-2023-sales-amount"])
    page = client.get(f"/v1/figures?limit=1&sort=-value&cursor={forged}").get_json()
    assert [f["id"] for f in page["data"]] == ["kimjang-festival-2022-sales-amount"]


def test_a_cursor_re_signed_without_the_secret_is_refused(client):
    cursor = cursor_of(client.get("/v1/figures?limit=2").get_json())
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    payload = orjson.loads(raw[12:])
    payload["k"][0] += 10
    forged = base64.urlsafe_b64encode(b"\x00" * 12 + orjson.dumps(payload)).decode().rstrip("=")
    assert_cursor_refused(client.get(f"/v1/figures?limit=2&cursor={forged}"))
