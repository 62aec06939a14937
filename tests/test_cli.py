"""The `civicfacts` command: check prints what it read, load twice is the same as once, and a
broken folder fails with every problem on stderr."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from peewee import AutoField

from api.cli import main
from api.store import models as m
from api.store.db import open_database

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MINIMAL = ROOT / "tests" / "seed_faults" / "minimal"
REAL_SEEDS_PRESENT = any(SEEDS.glob("01_*.yaml"))


def civicfacts(*args):
    """The command in a process of its own, from the repository root, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env, check=False
    )


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def summary_counts(seeds):
    counts = {}
    for entry in seeds.entries.values():
        counts[entry.section] = counts.get(entry.section, 0) + 1
    return counts


@pytest.mark.skipif(not REAL_SEEDS_PRESENT, reason="seeds/01_*.yaml is not curated yet")
def test_check_seeds_exits_0_and_prints_counts(seed_set):
    result = civicfacts("check", "seeds")
    assert result.returncode == 0, result.stderr
    seeds = seed_set  # read_seeds(SEEDS), once a session
    assert f"seeds are valid (version {seeds.version})" in result.stdout
    for section, n in summary_counts(seeds).items():
        assert re.search(rf"\b{n} {section}\b", result.stdout), (section, n, result.stdout)
    assert "warning" not in result.stderr


def test_check_prints_the_counts_of_what_it_read():
    result = cli("check", MINIMAL)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("2 sources, 3 organisations, 1 people, 1 places, 3 events, 12 figures, 2 programmes")


def test_check_and_load_refuse_seeds_whose_page_is_missing_naming_the_file(tmp_path, migrated):
    # no silent skip: without the page there is no evidence check, so nothing is valid
    seeds = pathlib.Path(shutil.copytree(MINIMAL, tmp_path / "seeds"))
    shutil.rmtree(seeds / "pages")
    for command in (["check", seeds], ["load", "--database", migrated, seeds]):
        result = civicfacts(*command)
        assert result.returncode == 1, result.stdout
        assert "pages/000_f27f502ecff37551.txt is missing" in result.stderr
        assert "sources[kimjang-festival-article]: page.file" in result.stderr
        assert "loaded dataset" not in result.stdout


@pytest.fixture
def broken(tmp_path):
    seeds = pathlib.Path(shutil.copytree(MINIMAL, tmp_path / "seeds"))
    first = seeds / "01_kimjang_festival.yaml"
    first.write_text(first.read_text(encoding="utf-8").replace("value: 12000\n", "value: 13000\n"), encoding="utf-8")
    second = seeds / "02_small_business_online_market.yaml"
    second.write_text(second.read_text(encoding="utf-8").replace("kind: public_agency", "kind: civic_centre"), encoding="utf-8")
    (seeds / "03_euc_kr.yaml").write_bytes("source:\n  id: 광주\n".encode("cp949"))
    return seeds


def test_check_on_a_broken_folder_exits_1_with_every_problem_on_stderr(broken):
    result = civicfacts("check", broken)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert (
        f"{broken}/01_kimjang_festival.yaml: figures[kimjang-festival-2023-participants]: value: "
        "value 13000 disagrees with value_text '1만2000여명', which reads 12000" in lines
    )
    assert (
        f"{broken}/02_small_business_online_market.yaml: organisations[sodam-square-gwangju]: kind: "
        "'civic_centre' is not in the organisation_kind vocabulary" in lines
    )
    assert f"{broken}/03_euc_kr.yaml: not UTF-8 text: byte 14 cannot be decoded" in lines
    assert lines[-1].startswith("3 problem(s)")


def table_rows(url):
    """Every table's rows in insertion order, without what a reload may renumber or restamp (the
    downloads carry the load time: tests/test_downloads.py checks what they hold)."""
    database = open_database(url)
    rows = {}
    with database, database.bind_ctx(m.ALL_MODELS):
        for model in m.ALL_MODELS:
            if model in (m.Download, m.DownloadChunk):
                continue
            query = model.select().order_by(*model._meta.get_primary_keys()).dicts()
            drop = {"id"} if isinstance(model._meta.primary_key, AutoField) else set()
            if model is m.Dataset:
                drop.add("loaded_at")
            rows[model.__name__] = [{k: v for k, v in row.items() if k not in drop} for row in query]
    database.close()
    return rows


def test_load_twice_is_the_same_as_once(migrated):
    seeds_dir = SEEDS if REAL_SEEDS_PRESENT else MINIMAL
    first = cli("load", "--database", migrated, seeds_dir)
    assert first.exit_code == 0, first.output
    once = table_rows(migrated)
    second = cli("load", "--database", migrated, seeds_dir)
    assert second.exit_code == 0, second.output
    assert first.stdout == second.stdout
    assert re.fullmatch(r"loaded dataset [0-9a-f]+ \(\d+ records\)\n", first.stdout)
    assert table_rows(migrated) == once
    assert len(once["Dataset"]) == 1 and once["Figure"] and once["Citation"]
