"""Reading, validating and loading seeds/: every problem named, loads all or nothing.

Broken seed sets are made by copying a good one into tmp_path and breaking the copy. The
good one is the real seeds/ (once its article files exist) and, always, the small valid
set in tests/seed_faults/minimal, so these tests do not wait on the curation.
"""

import contextlib
import copy
import datetime
import functools
import os
import pathlib
import shutil
import signal
import sqlite3
from dataclasses import dataclass, field

import pytest
import yaml
from click.testing import CliRunner
from peewee import AutoField, ForeignKeyField

from api.cli import main
from api.ingest import load as api_load
from api.ingest.read import SeedError, read_seeds
from api.store import models as m
from api.store.db import open_database
from tests import reliability

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MINIMAL = ROOT / "tests" / "seed_faults" / "minimal"
REAL_SEEDS_PRESENT = any(SEEDS.glob("01_*.yaml"))
needs_real_seeds = pytest.mark.skipif(not REAL_SEEDS_PRESENT, reason="seeds/01_*.yaml is not curated yet")


# A seed folder to break ------------------------------------------------------------------


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Corpus:
    """A copy of a seed folder, with helpers to change its records as YAML data.

    Each record is changed at most once (`touched`), so that several faults put in one
    copy break different records and each is reported on its own.
    """

    path: pathlib.Path
    touched: set = field(default_factory=set)
    parsed: dict = field(default_factory=dict)  # file -> (text, document): parsing is the slow part

    @classmethod
    def copy_of(cls, source, dest):
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns("*.md"))
        return cls(pathlib.Path(dest))

    def files(self):
        return sorted(self.path.glob("*.yaml"))

    def read(self, file):
        """The file's YAML, or None when it is empty or cannot be read."""
        try:
            text = file.read_text(encoding="utf-8")
            if self.parsed.get(file, (None,))[0] != text:
                self.parsed[file] = (text, yaml.load(text, Loader=LOADER))  # noqa: S506 - a safe loader
            return self.parsed[file][1]
        except (UnicodeDecodeError, yaml.YAMLError):
            return None

    def write(self, file, document):
        text = yaml.dump(document, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=1000)
        file.write_text(text, encoding="utf-8")
        self.parsed[file] = (text, document)

    def articles(self):
        """The article files that still read as YAML, in order."""
        return [f for f in self.files() if f.name[:1].isdigit() and "source" in (self.read(f) or {})]

    def vocabulary(self):
        return self.path / "vocabulary.yaml"

    def records(self, section):
        """[(file, record)] of a section, in file order."""
        found = []
        for file in self.articles():
            document = self.read(file)
            records = [document["source"]] if section == "sources" else document.get(section) or []
            found += [(file, r) for r in records]
        return found

    def pick(self, section, where=lambda record: True):
        """The first record of `section` that no fault touched yet and `where` accepts; now touched."""
        for file, record in self.records(section):
            if record["id"] not in self.touched and where(record):
                self.touched.add(record["id"])
                return file, record
        raise LookupError(f"no untouched record in {section} fits")

    def change(self, section, change, where=lambda record: True):
        """Apply `change` to a picked record and save; returns (file name as read_seeds
        reports it, record label), e.g. ('/tmp/.../01_x.yaml', 'figures[some-id]')."""
        file, picked = self.pick(section, where)
        document = self.read(file)
        records = [document["source"]] if section == "sources" else document[section]
        record = next(r for r in records if r["id"] == picked["id"])
        change(record)
        self.write(file, document)
        return str(file), f"{section}[{picked['id']}]"

    def add(self, file, section, record):
        document = self.read(file)
        document.setdefault(section, []).append(copy.deepcopy(record))
        self.write(file, document)

    def remove_record(self, record_id):
        """Delete a record and the `citations` entries that cite it in other files."""
        for file in self.articles():
            document = self.read(file)
            for section, records in document.items():
                if isinstance(records, list):
                    document[section] = [r for r in records if r.get("id", r.get("record")) != record_id]
            self.write(file, document)

    def involved_figures(self):
        """Figures with parts or comparisons, or named as one: changing them upsets other checks."""
        ids = set()
        for _, figure in self.records("figures"):
            related = list(figure.get("parts") or [])
            related += [c[k] for c in figure.get("comparisons") or [] for k in ("base", "current")]
            if related:
                ids |= {figure["id"], *related}
        return ids


def good_source():
    return SEEDS if REAL_SEEDS_PRESENT else MINIMAL


@pytest.fixture(params=["minimal", "real"])
def corpus(request, tmp_path):
    """A copy of each good seed set in turn (the real one once it exists)."""
    if request.param == "real" and not REAL_SEEDS_PRESENT:
        pytest.skip("seeds/01_*.yaml is not curated yet")
    return Corpus.copy_of(SEEDS if request.param == "real" else MINIMAL, tmp_path / "seeds")


@pytest.fixture
def minimal(tmp_path):
    return Corpus.copy_of(MINIMAL, tmp_path / "seeds")


@pytest.fixture
def good(tmp_path):
    """A copy of the real seeds when they exist, else of the minimal set."""
    return Corpus.copy_of(good_source(), tmp_path / "good")


@pytest.fixture
def good_seeds(request):
    """The SeedSet of `good`, read once a session (reading the real seeds takes a while)."""
    return request.getfixturevalue("seed_set") if REAL_SEEDS_PRESENT else read_minimal()


@functools.cache
def read_minimal():
    return read_seeds(MINIMAL)


def problems_of(path):
    with pytest.raises(SeedError) as caught:
        read_seeds(path)
    return caught.value.problems


# Faults: each breaks a good corpus and says which problems read_seeds must report --------


@dataclass(frozen=True)
class Expected:
    file: str
    record: str | None
    field: str | None
    says: str  # a piece of the message


def has_value(figure):
    return figure.get("value") is not None


def value_disagrees_with_value_text(corpus):
    involved = corpus.involved_figures()

    def bump(figure):
        figure["value"] = figure["value"] * 10

    file, label = corpus.change("figures", bump, lambda r: isinstance(r.get("value"), int) and r["value"] > 0 and r["id"] not in involved)
    return [Expected(file, label, "value", "disagrees with value_text")]


def unknown_unit(corpus):
    involved = corpus.involved_figures()
    file, label = corpus.change("figures", lambda r: r.update(unit="won"), lambda r: r["id"] not in involved)
    return [Expected(file, label, "unit", "'won' is not a unit")]


def parts_not_summing(corpus):
    """Make one figure the breakdown of another in the same unit that it does not add up to."""
    figures = [r for _, r in corpus.records("figures") if r["id"] not in corpus.touched]
    for whole in figures:
        part = next(
            (
                r
                for r in figures
                if r is not whole and r.get("unit") == whole.get("unit") and has_value(r) and r["value"] != whole.get("value") and not r.get("parts")
            ),
            None,
        )
        if part and has_value(whole) and not whole.get("parts"):
            corpus.touched.add(part["id"])
            file, label = corpus.change(
                "figures",
                lambda r: r.update(parts=[part["id"]]),  # noqa: B023
                lambda r: r["id"] == whole["id"],  # noqa: B023
            )
            return [Expected(file, label, "parts", "≠")]
    raise LookupError("no two figures in one unit")


def wrong_type_value(corpus):
    file, label = corpus.change("figures", lambda r: r.update(value="abc"), has_value)
    return [Expected(file, label, "value", "Not a valid number")]


def infinite_value(corpus):
    # YAML reads .inf as a number; it must be reported, not crash the reader
    file, label = corpus.change("figures", lambda r: r.update(value=float("inf")), has_value)
    return [Expected(file, label, "value", "")]


def missing_required_field(corpus):
    file, label = corpus.change("figures", lambda r: r.pop("value_text"))
    return [Expected(file, label, "value_text", "Missing data")]


def unknown_reference(corpus):
    def add_subject(figure):
        figure["subjects"] = [*(figure.get("subjects") or []), "no-such-record"]
        add_subject.index = len(figure["subjects"]) - 1

    file, label = corpus.change("figures", add_subject)
    return [Expected(file, label, f"subjects[{add_subject.index}]", "unknown reference 'no-such-record'")]


def unknown_nested_field(corpus):
    file, label = corpus.change("figures", lambda r: r.update(period={"start": "2023-11-22", "stop": "2023-12-10"}))
    return [Expected(file, label, "period.stop", "Unknown field")]


def wrong_type_page_position(corpus):
    file, label = corpus.change("sources", lambda r: r.update(page_position="one"))
    return [Expected(file, label, "page_position", "Not a valid integer")]


def unknown_publication(corpus):
    file, label = corpus.change("sources", lambda r: r.update(publication="daily-planet"))
    return [Expected(file, label, "publication", "unknown reference 'daily-planet'")]


def duplicate_id_across_files(corpus):
    first, organisation = corpus.pick("organisations")
    last = corpus.articles()[-1]
    if last == first:
        raise LookupError("one article file")
    corpus.add(last, "organisations", organisation)
    return [Expected(str(last), f"organisations[{organisation['id']}]", "id", f"first defined in {first}")]


def duplicate_id_across_record_types(corpus):
    _, organisation = corpus.pick("organisations")
    last = corpus.articles()[-1]
    person = {"id": organisation["id"], "name": organisation["name"], "sources": organisation["sources"]}
    corpus.add(last, "people", person)
    return [Expected(str(last), f"people[{organisation['id']}]", "id", "duplicate id")]


def unknown_kind(corpus):
    file, label = corpus.change("organisations", lambda r: r.update(kind="city_hall"))
    return [Expected(file, label, "kind", "not in the organisation_kind vocabulary")]


INVENTED = "광주시가 달에 기지를 세운다"


def evidence_not_on_page(corpus):
    file, label = corpus.change("places", lambda r: r["sources"][0].update(evidence=INVENTED))
    return [Expected(file, label, "sources[0].evidence", "not verbatim in the text of the source")]


def citation_evidence_not_on_page(corpus):
    for file in corpus.articles():
        document = corpus.read(file)
        if document.get("citations"):
            document["citations"][-1]["evidence"] = INVENTED
            corpus.write(file, document)
            index = len(document["citations"]) - 1
            return [Expected(str(file), f"citations[{index}]", "evidence", "not verbatim")]
    raise LookupError("no citations")


def page_missing(corpus):
    """The page the sources name is gone: each source is refused, naming the file."""
    for page in (corpus.path / "pages").glob("*.txt"):
        page.unlink()
    return [
        Expected(str(file), f"sources[{s['id']}]", "page.file", "pages/000_f27f502ecff37551.txt is missing") for file, s in corpus.records("sources")
    ]


def number_not_accounted_for(corpus):
    """A figure deleted: the number it accounted for on the page is nobody's."""
    file, _ = next((f, r) for f, r in corpus.records("figures") if r["id"] == "kimjang-festival-2023-participants")
    corpus.remove_record("kimjang-festival-2023-participants")
    source = corpus.read(file)["source"]["id"]
    return [Expected(str(file), f"sources[{source}]", "page", "the number '1만2000여명' at line 55, column 51")]


def unknown_field(corpus):
    file, label = corpus.change("programmes", lambda r: r.update(colour="red"))
    return [Expected(file, label, "colour", "Unknown field")]


def unknown_role(corpus):
    file, label = corpus.change("events", lambda r: r["participants"][0].update(role="cheerleader"), lambda r: r.get("participants"))
    return [Expected(file, label, "participants[0].role", "not in the participant_role vocabulary")]


def wrong_type_date(corpus):
    file, label = corpus.change("events", lambda r: r.update(start_date="22 November"))
    return [Expected(file, label, "start_date", "Not a valid date")]


def unknown_section(corpus):
    first = corpus.articles()[0]
    document = corpus.read(first)
    document["figurez"] = []
    corpus.write(first, document)
    return [Expected(str(first), None, "figurez", "unknown section")]


def unknown_vocabulary_section(corpus):
    vocabulary = corpus.vocabulary()
    document = corpus.read(vocabulary)
    document["colours"] = [{"code": "red"}]
    document["terms"]["colour_kind"] = [{"code": "red", "ko": "빨강", "en": "red"}]
    corpus.write(vocabulary, document)
    return [
        Expected(str(vocabulary), None, "colours", "unknown section"),
        Expected(str(vocabulary), None, "terms.colour_kind", "unknown vocabulary scheme"),
    ]


def empty_file(corpus):
    empty = corpus.path / "08_not_curated_yet.yaml"
    empty.write_text("# article 8: to do\n", encoding="utf-8")
    return [Expected(str(empty), None, None, "empty")]


def not_utf8(corpus):
    last = corpus.articles()[-1]
    last.write_bytes(last.read_text(encoding="utf-8").encode("cp949", errors="replace"))
    return [Expected(str(last), None, None, "not UTF-8")]


def yaml_syntax_error(corpus):
    last = corpus.articles()[-1]
    lines = last.read_text(encoding="utf-8").splitlines()
    lines.insert(3, "weather: sunny: warm")  # a mapping inside a plain scalar
    last.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [Expected(str(last), None, None, "YAML syntax error at line 4,")]


# Faults that leave the other records whole: only these problems may be reported. In this
# order they can all go into one copy (the ones that need a figure no check involves first).
EXACT_FAULTS = [
    value_disagrees_with_value_text,
    unknown_unit,
    parts_not_summing,
    wrong_type_value,
    infinite_value,
    missing_required_field,
    unknown_reference,
    unknown_nested_field,
    wrong_type_page_position,
    unknown_publication,
    duplicate_id_across_files,
    duplicate_id_across_record_types,
    unknown_kind,
    evidence_not_on_page,
    citation_evidence_not_on_page,
    unknown_field,
    unknown_role,
    wrong_type_date,
    unknown_section,
    unknown_vocabulary_section,
    empty_file,
]
# Faults that make a whole file unreadable: its records are missing too, so what other files
# say about them is reported as well.
FILE_FAULTS = [not_utf8, yaml_syntax_error]


def break_all(corpus):
    return [e for fault in EXACT_FAULTS for e in fault(corpus)]


def assert_reported(problems, expected, exact=True):
    found = {(p.file, p.record, p.field): p for p in problems}
    report = "\n".join(map(str, problems))
    for e in expected:
        problem = found.get((e.file, e.record, e.field))
        assert problem is not None, f"expected a problem at {e}, got:\n{report}"
        assert e.says in problem.message, report
    if exact:
        assert sorted((p.file, p.record or "", p.field or "") for p in problems) == sorted(
            (e.file, e.record or "", e.field or "") for e in expected
        ), report
    else:
        broken = {e.file for e in expected}
        for p in problems:
            if (p.file, p.record, p.field) not in {(e.file, e.record, e.field) for e in expected}:
                # only records of the unreadable file can be missing
                assert p.file not in broken and "unknown" in p.message, report


def test_the_minimal_seed_set_is_valid():
    seeds = read_seeds(MINIMAL)
    assert all("span" in c for e in seeds.entries.values() for c in e.data["sources"])  # every quote found, in its source
    assert {e.section for e in seeds.entries.values()} == set(m.RECORD_MODELS)


@needs_real_seeds
def test_the_real_seeds_validate(seed_set):
    seeds = seed_set  # read_seeds(SEEDS), read once for the session
    assert all("span" in c for e in seeds.entries.values() for c in e.data["sources"]), "a quote was not placed in its source"
    articles = sorted(SEEDS.glob("0*_*.yaml"))
    sources = seeds.records("sources")
    assert len(sources) == len(articles)
    assert sorted(s.data["page_position"] for s in sources) == list(range(1, len(articles) + 1))
    for section in ("organisations", "people", "figures"):
        assert seeds.records(section), section


@pytest.mark.parametrize("fault", EXACT_FAULTS, ids=lambda f: f.__name__)
def test_a_broken_copy_is_rejected_naming_file_record_and_field(minimal, fault):
    expected = fault(minimal)
    assert_reported(problems_of(minimal.path), expected)


def test_every_problem_in_every_file_is_reported_at_once(corpus):
    expected = break_all(corpus)
    assert len({e.file for e in expected}) >= 3
    assert_reported(problems_of(corpus.path), expected)


@pytest.mark.parametrize("fault", FILE_FAULTS, ids=lambda f: f.__name__)
def test_an_unreadable_file_is_rejected_by_name(corpus, fault):
    expected = fault(corpus)
    assert_reported(problems_of(corpus.path), expected, exact=False)


def test_a_folder_without_seeds_is_rejected(tmp_path):
    assert_reported(problems_of(tmp_path), [Expected(str(tmp_path), None, None, "no .yaml seed files")])


def test_an_invalid_record_is_not_also_reported_as_an_unknown_reference(minimal):
    # the source is there, only its page_position is wrong: the records citing it are fine
    file, label = minimal.change("sources", lambda r: r.update(page_position=0))
    problems = problems_of(minimal.path)
    assert [(p.file, p.record, p.field) for p in problems] == [(file, label, "page_position")]


def test_untouched_copies_read_back_the_same(corpus, request):
    # the faults rewrite files through yaml.dump; that alone must change nothing
    before = request.getfixturevalue("seed_set") if "real" in request.node.name else read_minimal()
    for file in corpus.files():
        corpus.write(file, corpus.read(file))
    after = read_seeds(corpus.path)
    assert {k: e.data for k, e in after.entries.items()} == {k: e.data for k, e in before.entries.items()}
    assert [(pathlib.Path(f).name, i, c) for f, i, c in after.citations] == [(pathlib.Path(f).name, i, c) for f, i, c in before.citations]
    assert (after.units, after.terms) == (before.units, before.terms)


# The database: snapshots ------------------------------------------------------------------


def sqlite_path(url):
    return pathlib.Path(url.removeprefix("sqlite:///"))


def snapshot(url):
    """Everything a reader could see: each table's rows (and, for SQLite, the file's bytes)."""
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        files = {p.name: p.read_bytes() for p in sorted(path.parent.glob(path.name + "*"))}
        connection = sqlite3.connect(path)
        try:
            names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            tables = {}
            for name in names:
                cursor = connection.execute(f'SELECT * FROM "{name}"')
                tables[name] = ([d[0] for d in cursor.description], sorted(cursor.fetchall(), key=repr))
        finally:
            connection.close()
        return {"files": files, "tables": tables}
    import psycopg

    with psycopg.connect(url) as connection:
        names = [r[0] for r in connection.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")]
        tables = {}
        for name in names:
            cursor = connection.execute(f'SELECT * FROM "{name}"')
            tables[name] = ([d.name for d in cursor.description], sorted(cursor.fetchall(), key=repr))
    return {"tables": tables}


AUTO_ID_TABLES = {model._meta.table_name for model in m.ALL_MODELS if isinstance(model._meta.primary_key, AutoField)}


# The downloads carry the load time (the dataset row, datapackage.json's `created`): their
# content is checked by tests/test_downloads.py, not compared across loads here.
RESTAMPED_TABLES = {"download", "download_chunk"}


def content(url):
    """The rows, with what a reload may renumber or restamp taken out: surrogate ids (kept
    as the rows' order), Dataset.loaded_at and the downloads."""
    tables = {}
    for name, (columns, rows) in snapshot(url)["tables"].items():
        if name in RESTAMPED_TABLES:
            continue
        drop = {"id"} if name in AUTO_ID_TABLES else set()
        if name == "dataset":
            drop.add("loaded_at")
        if "id" in drop:
            rows = sorted(rows, key=lambda row: row[columns.index("id")])  # noqa: B023
        keep = [i for i, c in enumerate(columns) if c not in drop]
        tables[name] = [tuple(row[i] for i in keep) for row in rows]
    return tables


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def load_ok(url, path):
    result = cli("load", "--database", url, path)
    assert result.exit_code == 0, result.output
    return result


def load_direct(seeds):
    """Load a SeedSet into the database the `migrated` fixture bound."""
    from api.ingest.load import load
    from api.store.db import db

    with db.obj.connection_context():
        return load(seeds, db.obj)


@needs_real_seeds
def test_the_real_seeds_load_whole(loaded, seed_set):
    from api.store.db import db

    with db.obj.connection_context():
        for section, model in m.RECORD_MODELS.items():
            assert model.select().count() == len(seed_set.records(section)), section
        assert m.Citation.select().count() == (sum(len(e.data["sources"]) for e in seed_set.entries.values()) + len(seed_set.citations))
        assert m.Dataset.get().version == seed_set.version


# All or nothing ---------------------------------------------------------------------------


def test_a_broken_load_changes_nothing(migrated, good, good_seeds, tmp_path):
    load_direct(good_seeds)
    before = snapshot(migrated)
    assert before["tables"]["figure"][1], "the good seeds loaded no figures"

    broken = Corpus.copy_of(good.path, tmp_path / "broken")
    expected = break_all(broken)
    result = cli("load", "--database", migrated, broken.path)

    assert result.exit_code == 1
    for e in expected:
        where = ": ".join(x for x in (e.file, e.record, e.field) if x)
        assert where in result.stderr
    assert f"{len(expected)} problem(s); nothing was loaded" in result.stderr
    assert "loaded dataset" not in result.stdout
    assert snapshot(migrated) == before


# The corpus of broken seed sets: one case per kind of fault, each through the CLI.
CORPUS = {
    "yaml-syntax-error": yaml_syntax_error,
    "wrong-type": wrong_type_value,
    "unknown-reference": unknown_reference,
    "duplicate-id": duplicate_id_across_files,
    "evidence-not-in-the-source": evidence_not_on_page,
    "value-disagrees-with-value_text": value_disagrees_with_value_text,
    "parts-not-summing-to-their-total": parts_not_summing,
    "encoding-error": not_utf8,
    "empty-file": empty_file,
    "page-missing": page_missing,
    "number-not-accounted-for": number_not_accounted_for,
}


@pytest.mark.parametrize("fault", CORPUS.values(), ids=CORPUS.keys())
def test_civicfacts_load_refuses_a_broken_seed_set_naming_it_and_leaves_the_database_as_it_was(migrated, good, good_seeds, fault):
    load_direct(good_seeds)
    expected = fault(good)
    with a_reader(migrated):
        before = snapshot(migrated)
        if migrated.startswith("sqlite"):
            database_files = [name for name in before["files"] if not name.endswith(".load-lock")]  # the load lock's file beside
            assert len(database_files) == 3, "the -wal and -shm files should be there to compare too"

        result = cli("load", "--database", migrated, good.path)

        assert result.exit_code == 1, result.output
        for e in expected:
            assert e.file and ": ".join(x for x in (e.file, e.record, e.field) if x) in result.stderr, result.stderr
            assert e.says in result.stderr
        assert "nothing was loaded" in result.stderr and "loaded dataset" not in result.stdout
        assert snapshot(migrated) == before
    kind = next(name for name, f in CORPUS.items() if f is fault)
    reliability.count(f"seeds|`civicfacts load` refused: {kind}, database unchanged|{reliability.backend_of(migrated)}")


@contextlib.contextmanager
def a_reader(url):
    """A connection that has read and stays open, as a serving API's does: on SQLite it keeps
    the -wal and -shm files in being, so that their bytes are compared as well."""
    database = open_database(url, readonly=True)
    database.connect()
    try:
        database.execute_sql("SELECT count(*) FROM figure").fetchone()
        yield
    finally:
        database.close()


def test_a_failure_in_the_middle_of_the_write_changes_nothing(migrated, good, good_seeds, monkeypatch):
    load_direct(good_seeds)
    before = snapshot(migrated)
    _, label = good.change("organisations", lambda r: r.update(note="changed, so the new load differs"))
    changed_id = label[len("organisations[") : -1]
    new_seeds = read_seeds(good.path)
    seen = {}

    real_insert = api_load.insert_rows

    def fail_halfway(database, model, rows):
        if model is not m.Figure:
            return real_insert(database, model, rows)
        # by now the changed organisation is written anew, and the new version not yet made
        seen["sources"] = m.Source.select().count()
        seen["datasets"] = m.Dataset.select().count()
        seen["note"] = m.Organisation.get_by_id(changed_id).note
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(api_load, "insert_rows", fail_halfway)
    with pytest.raises(RuntimeError, match="disk is full"):
        load_direct(new_seeds)

    assert seen == {"sources": len(new_seeds.records("sources")), "datasets": 1, "note": "changed, so the new load differs"}
    assert snapshot(migrated) == before


def test_a_failure_in_the_middle_of_a_cli_load_changes_nothing(migrated, good, good_seeds, monkeypatch):
    load_direct(good_seeds)
    before = snapshot(migrated)
    good.change("figures", lambda r: r.update(note="changed"))

    real_insert = api_load.insert_rows

    def fail(database, model, rows):
        if model is m.FigureSubject:
            raise RuntimeError("connection lost")
        return real_insert(database, model, rows)

    monkeypatch.setattr(api_load, "insert_rows", fail)
    result = cli("load", "--database", migrated, good.path)
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    assert snapshot(migrated) == before


# Idempotent, and a reload replaces --------------------------------------------------------


def test_loading_twice_gives_the_same_rows(migrated, good_seeds, monkeypatch):
    from api.ingest import index

    monkeypatch.setattr(index, "KEEP_FROM", 0)  # every search piece's ranking kept: the seeds are too few for any to pass the bar
    load_direct(good_seeds)
    first = content(migrated)
    load_direct(good_seeds)
    assert content(migrated) == first
    assert len(first["dataset"]) == 1
    compared = [model for model in m.ALL_MODELS if model._meta.table_name not in RESTAMPED_TABLES]
    assert all(first[model._meta.table_name] for model in compared if model is not m.FigureCheck or good_seeds.checks), (
        "a table stayed empty, so this proves little"
    )


def referenced_ids(seeds):
    """Every id some record names (citations of other files aside)."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node in seeds.entries:
            found.add(node)

    for entry in seeds.entries.values():
        walk({k: v for k, v in entry.data.items() if k != "id"})
    return found


def removable_record(seeds):
    """A record no other record names, with links of its own and no date (a date may be what
    accounts for a number on the page, and the coverage check would miss it); events first."""
    referenced = referenced_ids(seeds)
    link_fields = {"events": "participants", "programmes": "operators", "people": "affiliations"}
    dates = ("start_date", "end_date", "as_of", "period")
    for section, links in link_fields.items():
        for entry in seeds.records(section):
            if entry.data["id"] not in referenced and entry.data[links] and not any(entry.data.get(k) for k in dates):
                return entry
    raise LookupError("every record with links is named by another")


def rows_about(record_id):
    """How many rows of each table are this record or point at it."""
    counts = {}
    for model in m.ALL_MODELS:
        if model in m.HISTORY_MODELS:
            continue  # a removed record keeps its history (tests/test_history.py)
        conditions = []
        if model in m.RECORD_MODELS.values():
            conditions.append(model.id == record_id)
        for column in model._meta.sorted_fields:
            if isinstance(column, ForeignKeyField) and column.rel_model in m.RECORD_MODELS.values():
                conditions.append(column == record_id)
        for name in ("record_id", "subject_id"):
            if name in model._meta.fields:
                conditions.append(model._meta.fields[name] == record_id)
        for condition in conditions:
            counts[model.__name__] = counts.get(model.__name__, 0) + model.select().where(condition).count()
    return {name: n for name, n in counts.items() if n}


def test_a_record_removed_from_the_seeds_is_removed_by_a_reload(migrated, good, good_seeds):
    from api.store.db import db

    entry = removable_record(good_seeds)
    record_id, model = entry.data["id"], m.RECORD_MODELS[entry.section]
    load_direct(good_seeds)
    with db.obj.connection_context():
        before = rows_about(record_id)
        records_before = model.select().count()
        citations_before = m.Citation.select().count()
    assert before[model.__name__] == 1
    assert before["Citation"] >= 1 and before["SearchEntry"] >= 1
    assert set(before) - {model.__name__, "Citation", "SearchEntry"}, f"{record_id} has no links: {before}"

    good.remove_record(record_id)
    load_direct(read_seeds(good.path))
    with db.obj.connection_context():
        assert rows_about(record_id) == {}
        assert model.select().count() == records_before - 1
        assert m.Citation.select().count() == citations_before - before["Citation"]


# The Dataset row --------------------------------------------------------------------------


def utc_now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


def dataset_rows(url):
    columns, rows = snapshot(url)["tables"]["dataset"]
    return [(row[columns.index("version")], row[columns.index("loaded_at")]) for row in rows]


def test_the_version_is_a_stable_hash_of_the_seed_content(minimal, tmp_path):
    version = read_seeds(minimal.path).version
    assert version and version == read_seeds(minimal.path).version
    elsewhere = Corpus.copy_of(minimal.path, tmp_path / "elsewhere")
    assert read_seeds(elsewhere.path).version == version  # where the folder is does not count

    original = minimal.articles()[0].read_bytes()
    minimal.change("organisations", lambda r: r.update(note="one more word"))
    assert read_seeds(minimal.path).version != version
    minimal.articles()[0].write_bytes(original)
    assert read_seeds(minimal.path).version == version


def test_the_dataset_row_holds_the_version_and_when_it_was_loaded(migrated, good, good_seeds):
    started = utc_now()
    load_direct(good_seeds)
    finished = utc_now()
    [(stored_version, loaded_at)] = dataset_rows(migrated)
    assert stored_version == good_seeds.version
    if isinstance(loaded_at, str):  # SQLite keeps it as text
        loaded_at = datetime.datetime.fromisoformat(loaded_at)
    assert started <= loaded_at <= finished

    good.change("figures", lambda r: r.update(note="revised"))
    revised = read_seeds(good.path)
    load_direct(revised)
    [(old_version, _), (new_version, _)] = sorted(dataset_rows(migrated), key=lambda row: str(row[1]))
    assert new_version == revised.version != good_seeds.version == old_version  # the earlier version is kept


# Hostile seed files: refused at once, by name, with no traceback and no hang -----------------


@contextlib.contextmanager
def within(seconds):
    """Fail, rather than hang, if the block takes longer (SIGALRM interrupts a blocking open too)."""

    def expire(signum, frame):
        raise TimeoutError(f"still reading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def hostile_file(corpus, name, text):
    path = corpus.path / name
    path.write_text(text, encoding="utf-8")
    return path


def alias_bomb(corpus):
    # 9^9 strings once expanded, in a few hundred bytes; the id is the bomb.
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1}]" for i in range(1, 9)]
    path = hostile_file(corpus, "08_alias_bomb.yaml", "\n".join([*lines, "source:", "  id: *a8", ""]))
    return [Expected(str(path), None, None, "refused at line 2, column 10: an alias (*a0) is not accepted")]


def aliases_of_a_large_string(corpus):
    text = "big: &big " + "x" * 200_000 + "\nsource:\n  notes: [" + ", ".join(["*big"] * 4000) + "]\n"
    path = hostile_file(corpus, "08_aliases.yaml", text)
    return [Expected(str(path), None, None, "refused at line 3, column 11: an alias (*big)")]


def oversized_file(corpus):
    path = hostile_file(corpus, "08_huge.yaml", "# padding\n" * 120_000)  # 1.2 MB of comments
    return [Expected(str(path), None, None, "not read: it is 1200000 bytes; a file of the seeds may be at most 1048576")]


def deep_list_nesting(corpus):
    path = hostile_file(corpus, "08_deep.yaml", "source: " + "[" * 200_000 + "]" * 200_000 + "\n")
    return [Expected(str(path), None, None, "refused at line 1, column 40: nested more than 32 levels deep")]


def deep_mapping_nesting(corpus):
    path = hostile_file(corpus, "08_deep.yaml", "{a: " * 50_000 + "1" + "}" * 50_000 + "\n")
    return [Expected(str(path), None, None, "refused at line 1, column 126: nested more than 32 levels deep")]


def a_directory_named_yaml(corpus):
    path = corpus.path / "08_folder.yaml"
    path.mkdir()
    return [Expected(str(path), None, None, "not read: it is not a regular file (a directory)")]


def a_link_to_dev_zero(corpus):
    path = corpus.path / "08_zero.yaml"
    path.symlink_to("/dev/zero")
    return [Expected(str(path), None, None, "not read: it is not a regular file (a character device)")]


def a_fifo_named_yaml(corpus):
    path = corpus.path / "08_fifo.yaml"
    os.mkfifo(path)
    return [Expected(str(path), None, None, "not read: it is not a regular file (a FIFO)")]


def a_section_given_twice(corpus):
    # A second `figures:` at the end: YAML would silently keep it instead of the first.
    file = next(f for f in corpus.articles() if corpus.read(f).get("figures"))
    text = file.read_text(encoding="utf-8")
    first = text.splitlines().index("figures:") + 1
    file.write_text(text + "\nfigures: []\n", encoding="utf-8")
    line = len(text.splitlines()) + 2
    says = f"refused at line {line}, column 1: the key 'figures' is given twice in one mapping (first at line {first})"
    return [Expected(str(file), None, None, says)]


def a_field_given_twice(corpus):
    file = corpus.articles()[0]
    lines = file.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  note:")) + 1
    lines.insert(first, "  note: a second note, which would have replaced the first")
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    says = f"refused at line {first + 1}, column 3: the key 'note' is given twice in one mapping (first at line {first})"
    return [Expected(str(file), None, None, says)]


def an_integer_of_a_million_digits(corpus):
    path = hostile_file(corpus, "08_digits.yaml", "source:\n  page_position: 1" + "0" * 1_000_000 + "\n")
    return [Expected(str(path), None, None, "cannot be read: Exceeds the limit")]


HOSTILE = {
    "alias-bomb": alias_bomb,
    "aliases-of-a-large-string": aliases_of_a_large_string,
    "over-1-MiB": oversized_file,
    "deep-list-nesting": deep_list_nesting,
    "deep-mapping-nesting": deep_mapping_nesting,
    "a-directory-named-x.yaml": a_directory_named_yaml,
    "a-link-to-dev-zero": a_link_to_dev_zero,
    "a-FIFO-named-x.yaml": a_fifo_named_yaml,
    "a-section-given-twice": a_section_given_twice,
    "a-field-given-twice": a_field_given_twice,
    "an-integer-of-a-million-digits": an_integer_of_a_million_digits,
}


@pytest.mark.parametrize("fault", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_seed_file_is_refused_at_once_naming_file_and_line(minimal, fault):
    expected = fault(minimal)
    with within(20):
        problems = problems_of(minimal.path)
    assert_reported(problems, expected, exact=False)


def test_the_seed_file_size_limit_is_a_setting(minimal, monkeypatch):
    largest = max(f.stat().st_size for f in minimal.files())
    assert read_seeds(minimal.path, max_bytes=largest)  # at the limit: read
    monkeypatch.setenv("CIVICFACTS_SEED_MAX_BYTES", str(largest - 1))
    assert any("a file of the seeds may be at most" in p.message for p in problems_of(minimal.path))  # one byte over: refused


@pytest.mark.parametrize("fault", HOSTILE.values(), ids=HOSTILE.keys())
def test_civicfacts_load_refuses_a_hostile_seed_file_and_leaves_the_database_as_it_was(migrated, minimal, fault):
    load_direct(read_minimal())
    expected = fault(minimal)
    before = snapshot(migrated)
    with within(30):
        result = cli("load", "--database", migrated, minimal.path)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    for e in expected:
        assert f"{e.file}: {e.says}" in result.stderr, result.stderr
    assert "nothing was loaded" in result.stderr
    assert snapshot(migrated) == before
    kind = next(name for name, f in HOSTILE.items() if f is fault)
    reliability.count(f"seeds|`civicfacts load` refused a hostile file: {kind}, database unchanged|{reliability.backend_of(migrated)}")


def test_a_page_file_over_the_size_limit_is_refused_unread(minimal, monkeypatch):
    page = next((minimal.path / "pages").glob("*.txt"))
    monkeypatch.setenv("CIVICFACTS_SEED_MAX_BYTES", str(page.stat().st_size - 1))
    with within(20):
        problems = problems_of(minimal.path)
    assert any(f"pages/{page.name} is not read: it is {page.stat().st_size} bytes" in p.message for p in problems), problems
