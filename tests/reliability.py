"""The reliability report, docs/RELIABILITY.md, written by the tests that it reports on.

A pytest plugin (registered by conftest.py) records which tests of the reliability modules
passed, on which backend, and the counters the tests add with `count()` (generated fuzz
cases per operation, ...). At the end of a run that ran every test of those modules, on
SQLite and PostgreSQL, and saw all of them pass, it renders the report. A run that ran only
part of them (`pytest tests/test_numbers.py`, `-k sqlite`, a node id, a skip, a failure)
leaves the report alone, so it never holds partial counts.

Every number in it is deterministic (test cases, and schemathesis's generation, which is
seeded), so a full run on any machine gives the same report: when it differs from the
committed one, the run rewrites it and fails, and the difference is committed. `make fuzz`
(many more generated cases, tests/test_fuzz.py alone) fills the report's section of its own.
"""

import datetime
import json
import os
import pathlib
import re
import time
from collections import Counter

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "RELIABILITY.md"
DEFAULT_FUZZ_EXAMPLES = 30
FUZZ_EXAMPLES = int(os.environ.get("CIVICFACTS_FUZZ_EXAMPLES", DEFAULT_FUZZ_EXAMPLES))
BACKENDS = ("sqlite", "postgres")
DATA_MARK = re.compile(r"<!-- reliability-data\n(.*?)\n-->", re.S)

COUNTS = Counter()


def count(what, n=1):
    """Add to a counter of the report: `what` is 'section|thing|backend'."""
    COUNTS[what] += n


def backend_of(url):
    return "postgres" if url.startswith("postgres") else "sqlite"


# What each module tries, in the report's order.
SECTIONS = {
    "test_fuzz": (
        "Fuzzing the contract",
        "schemathesis generates requests from openapi.yaml, positive and negative, "
        "through its examples, coverage and fuzzing phases, and runs every built-in check on every response: "
        "no 5xx, every status, header, content type and body as the spec documents it (each 4xx is "
        "problem+json), schema-valid requests accepted and invalid ones refused, 405 for methods the API lacks.",
    ),
    "test_hostile_input": (
        "A corpus of bad input",
        "Each case is sent to the API on SQLite and on PostgreSQL and must get "
        "a clear 4xx problem+json naming the parameter, or its documented answer; the test client checks "
        "every response against openapi.yaml too. The routes come from the app's url_map, so a new "
        "route is covered without editing the tests.",
    ),
    "test_seeds": (
        "Faults in the seeds",
        "Broken copies of the seeds are read and loaded: each fault must be reported "
        "with its file, record and field, `civicfacts load` must exit non-zero, and the database must be "
        "left exactly as it was (byte for byte on SQLite, with its -wal and -shm files; row for row on "
        "PostgreSQL).",
    ),
    "test_reload": (
        "Reloading under load",
        "Reader threads hammer a real HTTP server while `civicfacts load` replaces "
        "the dataset, in processes of its own, again and again; every response must be one whole version.",
    ),
    "test_faults": (
        "Faults in the database",
        "The database is locked, missing, stopped, frozen or too slow: the API "
        "must answer 503 problem+json with Retry-After within seconds, and recover by itself. PostgreSQL is "
        "stopped and frozen only in a server the test starts itself.",
    ),
    "test_abuse": (
        "Abuse",
        "Rate limits per client IP, request and query-string size limits, security headers under "
        "the test client and under `civicfacts serve` (granian and gunicorn), and read-only database connections.",
    ),
}


def _backend(item):
    """The backend a test case ran on: its `backend` parameter, else the one its name says."""
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("backend") if callspec else None
    if backend is None:
        name = getattr(item, "originalname", None) or item.name
        backend = next((b for b in BACKENDS if b in name), "none")
    return backend


def _module_of(nodeid):
    return nodeid.partition("::")[0].rpartition("/")[2].removesuffix(".py")


PROPERTY = "civicfacts_reliability"


class ReportPlugin:
    """Collects what the reliability tests did and, after a complete run, writes the report.

    Under pytest-xdist the tests run in worker processes: each worker attaches what the report
    needs of a test (its function, its backend and the counters it added) to the test's report,
    which xdist sends to the controlling process, where the report is written."""

    def __init__(self):
        self.expected = set()  # node ids of the reliability tests collected
        self.items = {}  # nodeid -> (module, function, backend)
        self.passed = set()
        self.skipped = set()
        self.counts = Counter()
        self.incomplete = False
        self.started = time.monotonic()
        self._before = Counter()

    # -- where the tests run (the only process, or an xdist worker) --------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        module = item.module.__name__.rpartition(".")[2] if getattr(item, "module", None) else ""
        if module not in SECTIONS:
            return
        report = outcome.get_result()
        if call.when == "setup":
            self._before = Counter(COUNTS)
        info = {"module": module, "function": item.name.partition("[")[0], "backend": _backend(item)}
        if call.when == "teardown":
            info["counts"] = {key: n - self._before[key] for key, n in COUNTS.items() if n != self._before[key]}
        report.user_properties.append((PROPERTY, info))

    # -- where the report is written (the only process, or xdist's controller) ---------------

    def pytest_configure(self, config):
        options = config.option
        chosen = any(getattr(options, name, None) for name in ("keyword", "markexpr", "deselect", "lf", "last_failed"))
        if chosen or any("::" in str(arg) for arg in config.args):
            self.incomplete = True  # a selection, not the whole suite

    def pytest_collection_finish(self, session):
        self.expected |= {item.nodeid for item in session.items if _module_of(item.nodeid) in SECTIONS}

    def pytest_xdist_node_collection_finished(self, node, ids):
        self.expected |= {nodeid for nodeid in ids if _module_of(nodeid) in SECTIONS}

    def pytest_deselected(self, items):
        if any(_module_of(item.nodeid) in SECTIONS for item in items):
            self.incomplete = True

    def pytest_runtest_logreport(self, report):
        info = next((value for key, value in report.user_properties if key == PROPERTY), None)
        if info is None:
            return
        self.items[report.nodeid] = (info["module"], info["function"], info["backend"])
        if report.when == "call" and report.passed:
            self.passed.add(report.nodeid)
        elif report.skipped:
            self.skipped.add(report.nodeid)
        elif report.failed:
            self.incomplete = True
        if report.when == "teardown":
            self.counts.update(info.get("counts", {}))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if hasattr(getattr(session, "config", None), "workerinput"):
            return  # an xdist worker: the controller writes the report
        kind = self.run_kind()
        if kind is None:
            return
        data = read_data()
        data[kind] = self.results(kind)
        if kind == "fuzz_deep":
            data[kind]["wall_seconds"] = round(time.monotonic() - self.started)
            data[kind]["date"] = datetime.date.today().isoformat()
            data[kind]["cores"] = os.cpu_count()
        text = render(data)
        if REPORT.exists() and REPORT.read_text(encoding="utf-8") == text:
            return
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(text, encoding="utf-8")
        if kind == "suite":
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"\n{REPORT.relative_to(ROOT)} disagreed with this full run and was rewritten from it: commit it", red=True)
            # A full run on a clean checkout (CI) must find the committed report current.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def run_kind(self):
        """'suite' after every reliability test passed, on both backends, at the default fuzz
        size; 'fuzz_deep' after every fuzz test passed at another size (PostgreSQL's skipped
        without TEST_DATABASE_URL: the report says which backends ran); else None."""
        if self.incomplete or not self.expected or self.expected != self.passed | self.skipped:
            return None
        modules = {module for module, _, _ in self.items.values()}
        if FUZZ_EXAMPLES == DEFAULT_FUZZ_EXAMPLES and modules == set(SECTIONS) and not self.skipped:
            return "suite"
        skipped_backends = {self.items[nodeid][2] for nodeid in self.skipped}
        if FUZZ_EXAMPLES != DEFAULT_FUZZ_EXAMPLES and modules == {"test_fuzz"} and skipped_backends <= {"postgres"} and self.passed:
            return "fuzz_deep"
        return None

    def results(self, kind):
        tests = {}
        for nodeid in sorted(self.passed):
            module, function, backend = self.items[nodeid]
            row = tests.setdefault(module, {}).setdefault(function, {})
            row[backend] = row.get(backend, 0) + 1
        counts = {key: n for key, n in sorted(self.counts.items()) if n}
        if kind == "fuzz_deep":
            return {"examples": FUZZ_EXAMPLES, "counts": counts}
        return {"fuzz_examples": FUZZ_EXAMPLES, "tests": tests, "counts": counts}


def read_data():
    if not REPORT.exists():
        return {}
    match = DATA_MARK.search(REPORT.read_text(encoding="utf-8"))
    return json.loads(match.group(1)) if match else {}


# --- rendering -----------------------------------------------------------------------------


def _cases(by_backend):
    return " | ".join(str(by_backend.get(b, 0) or "–") for b in (*BACKENDS, "none"))


# Test names are lower case with underscores; these read better as written elsewhere.
WORDS = {
    "sql": "SQL",
    "utf8": "UTF-8",
    "nul": "NUL",
    "etag": "ETag",
    "ip": "IP",
    "json": "JSON",
    "10kb": "10 kB",
    "api": "API",
    "postgres": "PostgreSQL",
    "sqlite": "SQLite",
    "cli": "CLI",
    "like": "LIKE",
    "accept": "Accept",
    "retry after": "Retry-After",
    "problem json": "problem+json",
    "civicfacts load": "`civicfacts load`",
    "x forwarded for": "X-Forwarded-For",
    "requests": "request's",
    "value text": "value_text",
}


def _title(function):
    title = f" {function.removeprefix('test_').replace('_', ' ')} "
    for word, written in sorted(WORDS.items(), key=lambda pair: -len(pair[0])):  # phrases before their words
        title = title.replace(f" {word} ", f" {written} ")
    title = title.strip()
    return title[0].upper() + title[1:]


def _counter_rows(counts, section):
    """{thing: {backend: n}} of the counters named 'section|thing|backend'."""
    rows = {}
    for key, n in counts.items():
        part, thing, backend = key.split("|")
        if part == section:
            rows.setdefault(thing, {})[backend] = n
    return rows


def render(data):
    suite = data.get("suite", {"tests": {}, "counts": {}, "fuzz_examples": DEFAULT_FUZZ_EXAMPLES})
    tests, counts = suite["tests"], suite["counts"]
    total = sum(n for module in tests.values() for row in module.values() for n in row.values())
    fuzzed = sum(n for key, n in counts.items() if key.startswith("fuzz|"))
    lines = [
        "# Reliability report",
        "",
        "Written by the test suite (`tests/reliability.py`), not by hand: a full run of `make test-pg` "
        "(every reliability test, on SQLite and PostgreSQL) rewrites it, and fails if the committed "
        "report disagreed, so its numbers are those of the code beside it. `make fuzz` rewrites the "
        "section on the long fuzzing run.",
        "",
        f"**{total} test cases passed** in the reliability modules, and schemathesis sent **{fuzzed} generated "
        f"requests** (up to {suite['fuzz_examples']} per operation in the fuzzing phase, on both backends): no server error, "
        "no response outside the contract, no write, no mixed version, no lost data.",
        "",
        "Counts are test cases (one per parameter set) by backend; `none` is a test that needs no database or starts its own.",
    ]
    for module, (title, prose) in SECTIONS.items():
        lines += ["", f"## {title} (`tests/{module}.py`)", "", prose, "", "| what held | SQLite | PostgreSQL | none |", "|---|---|---|---|"]
        for function, by_backend in tests.get(module, {}).items():
            lines.append(f"| {_title(function)} | {_cases(by_backend)} |")
        if module == "test_fuzz":
            lines += _fuzz_lines(counts, suite["fuzz_examples"], "The suite's run (CI)")
            deep = data.get("fuzz_deep")
            if deep:
                minutes, seconds = divmod(deep["wall_seconds"], 60)
                heading = f"The long run (`make fuzz-pg`) of {deep['date']}, {minutes} min {seconds} s on {deep['cores']} cores"
                lines += _fuzz_lines(deep["counts"], deep["examples"], heading)
            else:
                lines += ["", "`make fuzz` has not been run on this code yet."]
        else:
            extra = _counter_rows(counts, module.removeprefix("test_"))
            if extra:
                lines += ["", "| also counted | SQLite | PostgreSQL | none |", "|---|---|---|---|"]
                lines += [f"| {thing} | {_cases(by_backend)} |" for thing, by_backend in extra.items()]
    lines += ["", "## What this does not show", ""] + [f"- {limit}" for limit in LIMITS]
    lines += ["", "<!-- reliability-data", json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False), "-->", ""]
    return "\n".join(lines)


LIMITS = [
    "Fuzzing calls the app in-process (WSGI); what the server itself refuses is tested apart, under a real "
    "`civicfacts serve`, in tests/test_abuse.py. gunicorn's own refusals (a request line over 8190 bytes, "
    "oversized headers) are problem+json; granian, the default server, answers what its HTTP parser refuses "
    "(a URI over 64 KiB, headers over 408 KiB, bytes that are not HTTP) with the bare 4xx status and an empty "
    "body, as it has no hook for its error pages. Everything within those limits reaches the app.",
    "With the default `memory://` store each worker process keeps its own rate-limit counts, so N workers allow "
    "a client N budgets; a shared store makes it one. A path no route has (a 404) is not counted: it costs no "
    "database work.",
    "No request can write through the connection it is given (tested on both backends); a PostgreSQL role that may "
    "only SELECT, for serving, would also hold against code that ended the transaction itself.",
    "The reload test counts its reloads and readers, not the requests the readers made: those vary from run to "
    "run, and every one of them was checked.",
]


def _fuzz_lines(counts, examples, heading):
    rows = _counter_rows(counts, "fuzz")
    total = {b: sum(r.get(b, 0) for r in rows.values()) for b in (*BACKENDS, "none")}
    lines = [
        "",
        f"{heading}: up to {examples} cases per operation in the fuzzing phase, besides the coverage and "
        "examples phases (an operation without parameters has few to generate); requests sent per operation:",
        "",
        "| operation | SQLite | PostgreSQL | none |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{operation}` | {_cases(by_backend)} |" for operation, by_backend in rows.items()]
    lines.append(f"| **all** | {_cases(total)} |")
    return lines
