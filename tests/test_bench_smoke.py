"""The benchmark harness still works: `make bench-smoke` (small N, one short round) runs end to
end, our server answers every query of the mix, and the report is written. No speed is
asserted here: the targets live in bench/ (bench/RESULTS.md), never in timed tests."""

import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.slow]

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_the_benchmark_smoke_run_measures_every_query_and_writes_its_report(tmp_path):
    out = tmp_path / "RESULTS.md"
    # The harness stops its own servers; the timeout only keeps a broken one from hanging CI.
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--fresh", "--data-dir", str(tmp_path), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    (run_500,) = results["runs"].values()
    checks = run_500["checks"]
    fixed = {"first_page", "filtered", "keyset_deep", "record", "search_ko", "search_en", "csv"}
    assert set(checks) == fixed | {"diverse_mix"}
    assert all(checks[name]["ours_sqlite"]["rows_selected"] > 0 for name in fixed), checks
    for name in ("mix", "diverse_mix"):
        mix = run_500["queries"][name]["ours_sqlite"]
        assert mix["requests"] > 0 and mix["errors_total"] == 0, mix
        assert 0 < mix["busiest_share"] <= 1, mix  # how the round's work split over the server's processes
    # the diverse mix is drawn from thousands of distinct URLs (fewer at N = 500: as many as the data has)
    assert run_500["diverse_distinct"]["mix"] > 1500, run_500["diverse_distinct"]
    # what an answer of each kind holds, for reading the latency target against N
    answers = run_500["diverse_answers"]
    assert set(answers) == {"record", "subject", "unit_month", "search"}, answers
    assert answers["record"]["records"] == 1 and all(a["bytes"] > 0 and a["urls"] > 0 for a in answers.values()), answers
    assert "## N = 500 figures" in out.read_text(encoding="utf-8")
