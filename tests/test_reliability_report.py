"""The report plugin (tests/reliability.py) writes docs/RELIABILITY.md only after a complete
run, and the committed report is one it wrote."""

from types import SimpleNamespace

import pytest

from tests import reliability
from tests.reliability import REPORT, SECTIONS, ReportPlugin, read_data, render


def plugin_with(cases, passed=None, skipped=(), incomplete=False):
    """A plugin that saw `cases` ({nodeid: (module, function, backend)}) collected."""
    plugin = ReportPlugin()
    plugin.expected = set(cases)
    plugin.items = dict(cases)
    plugin.passed = set(cases if passed is None else passed)
    plugin.skipped = set(skipped)
    plugin.incomplete = incomplete
    return plugin


EVERY_MODULE = {f"tests/{module}.py::test_x[{backend}]": (module, "test_x", backend) for module in SECTIONS for backend in ("sqlite", "postgres")}


def test_a_run_of_every_reliability_test_on_both_backends_is_complete():
    assert plugin_with(EVERY_MODULE).run_kind() == "suite"


@pytest.mark.parametrize(
    "change",
    [
        {"items": {k: v for k, v in EVERY_MODULE.items() if v[0] != "test_reload"}},  # a module not run
        {"passed": [k for k in EVERY_MODULE if "postgres" not in k], "skipped": [k for k in EVERY_MODULE if "postgres" in k]},
        {"passed": list(EVERY_MODULE)[1:]},  # one failed or never ran (-x)
        {"incomplete": True},  # -k, a node id, --lf
        {"items": {}},  # `pytest tests/test_numbers.py`: no reliability test at all
    ],
    ids=["a-module-missing", "postgres-skipped", "one-not-passed", "deselected", "none-collected"],
)
def test_a_partial_run_writes_nothing(change, monkeypatch, tmp_path):
    cases = change.get("items", EVERY_MODULE)
    plugin = plugin_with(cases, change.get("passed"), change.get("skipped", ()), change.get("incomplete", False))
    assert plugin.run_kind() is None
    report = tmp_path / "RELIABILITY.md"
    monkeypatch.setattr(reliability, "REPORT", report)
    plugin.pytest_sessionfinish(SimpleNamespace(exitstatus=0), 0)
    assert not report.exists()


def test_a_long_fuzzing_run_is_its_own_kind(monkeypatch):
    fuzz = {f"tests/test_fuzz.py::test_x[{b}]": ("test_fuzz", "test_x", b) for b in ("sqlite", "postgres")}
    monkeypatch.setattr(reliability, "FUZZ_EXAMPLES", 1000)
    assert plugin_with(fuzz).run_kind() == "fuzz_deep"
    assert plugin_with(fuzz, passed=[next(iter(fuzz))], skipped=list(fuzz)[1:]).run_kind() == "fuzz_deep"  # SQLite alone
    assert plugin_with(EVERY_MODULE).run_kind() is None  # the suite's numbers are those of its default size


def test_a_complete_run_that_disagrees_rewrites_the_report_and_fails(monkeypatch, tmp_path):
    report = tmp_path / "RELIABILITY.md"
    report.write_text("stale\n", encoding="utf-8")
    monkeypatch.setattr(reliability, "REPORT", report)
    monkeypatch.setattr(reliability, "ROOT", tmp_path)
    session = SimpleNamespace(exitstatus=0, config=SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: None)))
    plugin_with(EVERY_MODULE).pytest_sessionfinish(session, 0)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    written = report.read_text(encoding="utf-8")
    assert "| X | 1 | 1 | – |" in written

    again = SimpleNamespace(exitstatus=0)
    plugin_with(EVERY_MODULE).pytest_sessionfinish(again, 0)
    assert again.exitstatus == 0 and report.read_text(encoding="utf-8") == written  # agreeing: left alone


def test_the_committed_report_is_what_its_data_renders():
    """Nobody edited it by hand; the numbers themselves are checked by every full run."""
    data = read_data()
    assert data["suite"]["fuzz_examples"] == reliability.DEFAULT_FUZZ_EXAMPLES
    assert set(data["suite"]["tests"]) == set(SECTIONS)
    assert REPORT.read_text(encoding="utf-8") == render(data)
