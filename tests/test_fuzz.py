"""Schemathesis fuzzes the contract against the app in-process (WSGI), on SQLite and PostgreSQL.

Every operation of the served spec (which test_contract.py proves is the committed
openapi.yaml) gets positive and negative data through every phase that applies to a
read-only API (examples, coverage, fuzzing), and every response goes through every
built-in check: no 5xx, documented status codes, content types, headers and bodies,
schema-valid requests accepted and invalid ones rejected, 405 with `Allow` for methods
the API does not have. A failure is a bug in the API or in its contract.

CIVICFACTS_FUZZ_EXAMPLES raises the examples per operation (`make fuzz`: 1000); the default
keeps both backends to a minute or so. Generation is deterministic (seeded, and no example
database), so a failure repeats and the counts in docs/RELIABILITY.md do too.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES
from schemathesis.core.parameters import ParameterLocation

from tests import reliability
from tests.support import site_spec

# schemathesis: minutes at `make fuzz` size; `make test-fast` leaves it out.
pytestmark = pytest.mark.fuzz

EXAMPLES = reliability.FUZZ_EXAMPLES

CONFIG = {
    "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    "generation": {
        "mode": "all",
        "max-examples": EXAMPLES,
        "deterministic": True,
        "allow-x00": True,
    },
    "phases": {
        "examples": {"enabled": True},
        "coverage": {"enabled": True},
        "fuzzing": {"enabled": True},
        "stateful": {"enabled": False},  # nothing to chain: every operation is a GET
    },
    # Every built-in check, enabled explicitly so a changed default cannot drop one. A query
    # string over 4096 bytes is refused with 414 whatever it holds (documented on every
    # operation, but no parameter's schema can say it): a rejection, and one a valid request
    # can meet too once it is that long.
    "checks": {
        "enabled": True,
        "negative_data_rejection": {"expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "414"]},
        "positive_data_acceptance": {"expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "414"]},
    },
}


# The API's contract and the HTML routes it leaves out (tests/support.py): the explorer is fuzzed too.
schema = schemathesis.openapi.from_dict(site_spec(), config=schemathesis.Config.from_dict(CONFIG))


def with_genuine_cursor(case, app):
    """A cursor is opaque and signed: the schema cannot tell a client's guess from one the API
    issued, so a generated one is schema-valid yet refused (400), rightly. Positive data must be
    accepted, so a positive case gets a cursor the API really issued for the same query (or none
    when that query has no second page). Negative cases keep theirs; test_contract.py sends
    forged, tampered and foreign cursors."""
    if "cursor" not in case.query or not positive_query(case):
        return
    query = {key: value for key, value in case.query.items() if key not in ("cursor", "limit", "format")}
    first = app.test_client().get(case.formatted_path, query_string={**query, "limit": 1})
    next_url = first.get_json()["links"]["next"] if first.status_code == 200 else None
    if next_url:
        case.query["cursor"] = parse_qs(urlsplit(next_url).query)["cursor"][0]
    else:
        del case.query["cursor"]


VERSION_PARAMETERS = ("since", "version", "changed_since")


def with_genuine_versions(case, app):
    """A dataset version named in a parameter is checked against the versions there are: a
    generated one is schema-valid yet unknown, and refused (400), rightly. A positive case gets
    the version the app serves; negative cases keep theirs (tests/test_history.py sends unknown ones)."""
    if not positive_query(case) or not any(name in case.query for name in VERSION_PARAMETERS):
        return
    current = app.test_client().get("/v1").get_json()["data"]["dataset"]["version"]
    for name in VERSION_PARAMETERS:
        if name in case.query:
            case.query[name] = current


def positive_query(case):
    return case.meta is None or not case.meta.is_negative_at(ParameterLocation.QUERY)


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), database=None)
def test_contract_holds_under_fuzzing(case, app):
    with_genuine_versions(case, app)
    with_genuine_cursor(case, app)
    # The in-process transport asks for compression as requests does, yet does not decode it:
    # identity here (tests/test_compression.py checks the encodings; the CLI test runs over HTTP).
    case.call_and_validate(app=app, headers={"Accept-Encoding": "identity"})
    reliability.count(f"fuzz|{case.operation.label}|{reliability.backend_of(app.config['DATABASE_URL'])}")


def test_every_check_is_on():
    """Guard the configuration: no built-in check may be disabled."""
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    config = schemathesis.Config.from_dict(CONFIG).projects.get_default().checks
    names = [check.__name__ for check in CHECKS.get_all() if not isinstance(check, type)]
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",
        "unsupported_method",
    } <= set(names)
    assert all(config.get_by_name(name=name).enabled for name in names)
    assert HealthCheck.too_slow  # the names above exist in this Hypothesis


@pytest.mark.parametrize("path", ["/v1/figures", "/v1/events"])
def test_an_inverted_date_range_matches_nothing(client, path):
    response = client.get(path, query_string={"from": "2023-12-31", "to": "2023-01-01"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["data"] == []
