"""Every record cites the page, verbatim: the shared checker passes and no record goes uncited.

The product needs nothing outside the repository: the page is seeds/pages/, and the loader
checks every quote against it (tests/test_sources.py). The shared checker and the page as it
was handed over live beside the repository, in ../shared, as CI lays them out; the tests that
run them fail in CI without them, and elsewhere (a fresh clone) skip, saying why.
"""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from api.ingest.pages import squash
from tests.support import in_ci

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CHECKER = SHARED / "tools" / "check_evidence.py"
PAGE = SHARED / "seeds" / "000_f27f502ecff37551.txt"
SEEDS = ROOT / "seeds"
MINIMAL = ROOT / "tests" / "seed_faults" / "minimal"
needs_real_seeds = pytest.mark.skipif(not any(SEEDS.glob("01_*.yaml")), reason="seeds/01_*.yaml is not curated yet")
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir() and not in_ci(), reason="../shared (the shared checker and the page as handed over) is not beside this clone"
)


def check_evidence(seeds_dir):
    # the documented command, `python3 ../shared/tools/check_evidence.py seeds`, run from the
    # repository root with this interpreter (which has PyYAML)
    relative = pathlib.Path("..") / CHECKER.relative_to(ROOT.parent)
    return subprocess.run([sys.executable, str(relative), str(seeds_dir)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def counts(output):
    found = re.search(r"(\d+) of (\d+) evidence quotes found verbatim", output)
    assert found, output
    return int(found[1]), int(found[2])


@needs_shared
def test_the_shared_page_and_checker_are_beside_the_repository():
    assert CHECKER.is_file(), f"{CHECKER} is missing: CI checks evidence with it"
    assert PAGE.is_file(), f"{PAGE} is missing: every quote is checked against it"


@needs_shared
def test_the_checker_passes_on_the_seeds():
    result = check_evidence("seeds")
    assert result.returncode == 0, result.stdout + result.stderr
    found, checked = counts(result.stdout)
    assert found == checked > 0


@needs_shared
def test_the_checker_fails_on_a_quote_that_is_not_on_the_page(tmp_path):
    seeds = shutil.copytree(MINIMAL, tmp_path / "seeds")
    article = seeds / "01_kimjang_festival.yaml"
    article.write_text(article.read_text(encoding="utf-8").replace("1만2000여명이 참여해", "1만3000여명이 참여해"), encoding="utf-8")
    result = check_evidence(seeds)
    assert result.returncode == 1
    assert "NOT IN SOURCE" in result.stdout and "1만3000여명이 참여해" in result.stdout
    found, checked = counts(result.stdout)
    assert found == checked - 1


@needs_real_seeds
def test_every_record_in_the_seeds_cites_the_page(seed_set):
    seeds = seed_set  # read_seeds(SEEDS), once a session
    quoted = [c for e in seeds.entries.values() for c in e.data["sources"]] + [c for _, _, c in seeds.citations]
    assert all("span" in c for c in quoted), "every quote is placed in the text of its own source"
    uncited = [e.data["id"] for e in seeds.entries.values() if not any(c["evidence"].strip() for c in e.data["sources"])]
    assert uncited == []
    quotes = [c["evidence"] for e in seeds.entries.values() for c in e.data["sources"]]
    assert all(q.strip() for q in quotes + [c["evidence"] for _, _, c in seeds.citations])


@needs_real_seeds
def test_no_quote_runs_across_a_break_in_the_page(seed_set):
    # seeds/README.md: a quote comes from one unbroken run of text. The checkers squash white
    # space, so a quote spanning two paragraphs (or the photo caption) would still pass them.
    page = SEEDS / "pages" / PAGE.name  # the repository's copy: this needs nothing beside it
    paragraphs = [squash(line) for line in page.read_text(encoding="utf-8").split("\n") if line.strip()]
    seeds = seed_set
    quotes = [(e.data["id"], c["evidence"]) for e in seeds.entries.values() for c in e.data["sources"]]
    quotes += [(f"citation of {c['record']}", c["evidence"]) for _, _, c in seeds.citations]
    across = [(where, quote) for where, quote in quotes if not any(squash(quote) in p for p in paragraphs)]
    assert across == []


@needs_shared
def test_the_repository_holds_the_page_as_it_was_handed_over():
    # the product reads seeds/pages/; the copy must be the page the shared checker reads
    assert (SEEDS / "pages" / PAGE.name).read_bytes() == PAGE.read_bytes()
