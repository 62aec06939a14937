"""Curating the next page: `civicfacts new-source PAGE.txt` adds the page and a seed skeleton,
`civicfacts check` lists what the curator still owes, and `civicfacts quote` says where words
stand. The walkthrough of seeds/README.md, run: from a new page to a checked dataset."""

import hashlib
import pathlib
import shutil

import pytest
import yaml
from click.testing import CliRunner

from api.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SECOND = ROOT / "tests" / "second_page"
NEW_PAGE = SECOND / "pages" / "900_synthetic_briefing.txt"


def civicfacts(*args):
    """The command, in this process (tests/test_cli.py runs it in a process of its own)."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    result.returncode = result.exit_code
    return result


@pytest.fixture
def seeds(tmp_path):
    return pathlib.Path(shutil.copytree(SEEDS, tmp_path / "seeds", ignore=shutil.ignore_patterns("*.md")))


def test_from_a_new_page_to_a_checked_dataset(seeds, tmp_path):
    page = shutil.copy(NEW_PAGE, tmp_path / NEW_PAGE.name)
    added = civicfacts("new-source", page, "--seeds", seeds, "--id", "synthetic-briefing-article")
    assert added.returncode == 0, added.stderr
    seed = seeds / "08_synthetic_briefing_article.yaml"
    assert f"wrote {seed}" in added.stdout
    assert (seeds / "pages" / NEW_PAGE.name).read_bytes() == NEW_PAGE.read_bytes()

    # The skeleton: the source filled in, file and hash and all.
    source = yaml.safe_load(seed.read_text(encoding="utf-8"))["source"]
    assert source["page"] == {"file": NEW_PAGE.name, "sha256": hashlib.sha256(NEW_PAGE.read_bytes()).hexdigest(), "lines": None}
    assert source["name"]["ko"] == "가상 시민 설명회에 120여명 참여" == source["sources"][0]["evidence"]

    # check lists what only the curator can say, and waits to count the numbers till then.
    owed = civicfacts("check", seeds)
    assert owed.returncode == 1
    assert owed.stderr.splitlines() == [
        f"{seed}: sources[synthetic-briefing-article]: name.en: Field may not be null.",
        f"{seed}: sources[synthetic-briefing-article]: publication: Field may not be null.",
        "not checked yet: every number on the page of synthetic-briefing-article (08_synthetic_briefing_article.yaml) "
        "is accounted for, once the source is valid",
        "2 problem(s); nothing was loaded",
    ]

    # With those, check lists the page's numbers that no record accounts for yet.
    text = seed.read_text(encoding="utf-8")
    text = text.replace("en: null ", 'en: "Some 120 people attend an imaginary citizens\' briefing" ').replace(
        "publication: null", "publication: kwangju-ilbo"
    )
    seed.write_text(text, encoding="utf-8")
    numbers = civicfacts("check", seeds)
    assert numbers.returncode == 1
    assert [line.split(": page: ")[1][:40] for line in numbers.stderr.splitlines()[:-1]] == [
        "the number '120여명' at line 1, column 12 ",
        "the number '120여명' at line 5, column 22 ",
    ]

    # quote finds the words to paste as evidence...
    found = civicfacts("quote", "synthetic-briefing-article", "시민 120여명이 참여했다고", "--seeds", seeds)
    assert found.returncode == 0, found.stdout
    assert found.stdout.splitlines()[-1] == '  evidence: "시민 120여명이 참여했다고"'

    # ...and the filled-in article (as tests/second_page holds it) checks and loads.
    shutil.copy(SECOND / "08_synthetic_briefing.yaml", seed)
    valid = civicfacts("check", seeds)
    assert valid.returncode == 0, valid.stderr
    assert "8 sources" in valid.stdout and "30 figures" in valid.stdout


@pytest.mark.parametrize(
    ("words", "exit_code", "says"),
    [
        ("11억원보다도", 0, ["  line 55, column 157 (offsets 2660-2667): '11억원보다도'", '  evidence: "11억원보다도"']),
        ("11억원보다도  33.6%나", 0, ['  evidence: "11억원보다도 33.6%나"']),  # white space folded, as the loader folds it
        ("김장대전", 1, ["more than one place: quote more words"]),
        ("2700kg", 1, ["  not there; it stands in urban-corporation-kimchi-sharing-article (line 69, column 18)"]),
    ],
    ids=["once", "spaces", "twice", "in-another-article"],
)
def test_quote_says_where_words_stand_in_the_source(words, exit_code, says):
    result = civicfacts("quote", "kimjang-festival-article", words, "--seeds", SEEDS)
    assert result.returncode == exit_code, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{words!r} in kimjang-festival-article (pages/000_f27f502ecff37551.txt, lines 49-65): ")
    for line in says:
        assert any(line in got for got in lines), (line, lines)


def test_quote_takes_a_page_file_too_and_refuses_what_is_neither():
    whole = civicfacts("quote", "000_f27f502ecff37551.txt", "2700kg", "--seeds", SEEDS)
    assert whole.returncode == 1 and "2 place(s)" in whole.stdout.splitlines()[0]
    unknown = civicfacts("quote", "no-such-source", "광주", "--seeds", SEEDS)
    assert unknown.returncode == 1 and "is neither a source id" in unknown.stderr


@pytest.mark.parametrize(
    ("setup", "args", "says"),
    [
        (lambda tmp, seeds: (tmp / "page.txt").write_bytes("광주 소식\n".encode("cp949")), ["page.txt"], "is not UTF-8 text"),
        (lambda tmp, seeds: (tmp / "page.txt").write_text("\n \n", encoding="utf-8"), ["page.txt"], "holds no text"),
        (lambda tmp, seeds: (tmp / "my page!.txt").write_text("광주\n", encoding="utf-8"), ["my page!.txt"], "cannot be a page file name"),
        (
            lambda tmp, seeds: (tmp / "000_f27f502ecff37551.txt").write_text("다른 글\n", encoding="utf-8"),
            ["000_f27f502ecff37551.txt", "--id", "another-article"],
            "exists and holds another text",
        ),
        (lambda tmp, seeds: (tmp / "page.txt").write_text("광주\n", encoding="utf-8"), ["page.txt", "--id", "kimjang-festival-article"], "is taken"),
        (lambda tmp, seeds: (tmp / "page.txt").write_text("광주\n", encoding="utf-8"), ["page.txt", "--id", "Not A Slug"], "is not an id"),
    ],
    ids=["not-utf8", "empty", "bad-name", "same-name-other-text", "id-taken", "not-a-slug"],
)
def test_new_source_refuses_what_it_cannot_add_and_writes_nothing(seeds, tmp_path, setup, args, says):
    setup(tmp_path, seeds)
    before = sorted(p.name for p in seeds.rglob("*"))
    result = civicfacts("new-source", tmp_path / args[0], *args[1:], "--seeds", seeds)
    assert result.returncode == 1 and says in result.stderr, result.stderr
    assert sorted(p.name for p in seeds.rglob("*")) == before
