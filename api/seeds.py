"""Read, validate and load `seeds/`: every problem reported at once, loaded all or nothing.

`read_seeds` turns the folder into a `SeedSet` or raises `SeedError` with every problem
found (file, record, field, message). `load` replaces the database's content with a
`SeedSet` in one transaction, so a load either happens whole or not at all, and loading
the same seeds twice gives the same rows.
"""

import datetime
import hashlib
import pathlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import yaml
from marshmallow import ValidationError

from api import seed_schemas as schemas
from api.checks import check_growth_rate, check_parts, check_value_text


@dataclass(frozen=True)
class Problem:
    file: str
    record: str | None
    field: str | None
    message: str

    def __str__(self):
        where = self.file
        if self.record:
            where += f": {self.record}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class SeedError(Exception):
    def __init__(self, problems):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the seeds:\n" + "\n".join(map(str, problems)))


@dataclass
class Entry:
    """One validated record, with where it came from."""

    section: str  # sources, organisations, ..., figures
    data: dict
    file: str
    index: int

    @property
    def label(self):
        return f"{self.section}[{self.data.get('id', self.index)}]"


@dataclass
class SeedSet:
    version: str
    units: list = field(default_factory=list)
    terms: dict = field(default_factory=dict)  # scheme -> [term]
    entries: dict = field(default_factory=dict)  # id -> Entry
    citations: list = field(default_factory=list)  # (file, extra citation)
    checks: list = field(default_factory=list)  # (figure id, CheckResult) that passed or were declared
    evidence_checked: bool = False  # False when the source page was not found beside the repo
    invalid_ids: set = field(default_factory=set)  # ids of records that failed validation (already reported)

    def records(self, section):
        return [e for e in self.entries.values() if e.section == section]


class _SeedLoader(yaml.SafeLoader):
    """YAML as the seeds need it: dates stay text for the schema to check, and decimals
    are read as Decimal so that 101.3 is 101.3, not 101.299999..."""


_SeedLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def _construct_decimal(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return text  # .inf, .nan, 1:30.5: left as text, for the schema to report rather than crash


_SeedLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def default_pages_dir():
    """The source page lives beside the repository, in ../shared/seeds (as CI lays it out)."""
    return pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"


def squash(text):
    return re.sub(r"\s+", " ", text).strip()


def read_page(pages_dir):
    files = sorted(pathlib.Path(pages_dir).glob("*.txt"))
    if not files:
        return None
    return " \n ".join(squash(p.read_text(encoding="utf-8")) for p in files)


def dataset_version(files):
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def read_seeds(seeds_dir, pages_dir=None):
    """Validate every file in `seeds_dir`; a `SeedSet`, or `SeedError` listing every problem."""
    seeds_dir = pathlib.Path(seeds_dir)
    files = sorted(p for p in seeds_dir.glob("*.y*ml") if p.suffix in {".yaml", ".yml"})
    problems = []
    if not files:
        raise SeedError([Problem(str(seeds_dir), None, None, "no .yaml seed files here")])
    seeds = SeedSet(version=dataset_version(files))
    documents = []
    for path in files:
        document = _parse_file(path, problems)
        if document is not None:
            documents.append((str(path), document))
    for name, document in documents:
        if "units" in document or "terms" in document:
            _read_vocabulary(name, document, seeds, problems)
    for name, document in documents:
        if not ("units" in document or "terms" in document):
            _read_article(name, document, seeds, problems)
    _check_references(seeds, problems)
    _check_figures(seeds, problems)
    page = read_page(pages_dir or default_pages_dir())
    seeds.evidence_checked = page is not None
    if page is not None:
        _check_evidence(seeds, page, problems)
    if problems:
        raise SeedError(problems)
    return seeds


def _parse_file(path, problems):
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, None, f"not UTF-8 text: byte {exc.start} cannot be decoded"))
        return None
    try:
        document = yaml.load(text, Loader=_SeedLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(Problem(name, None, None, f"YAML syntax error{where}: {getattr(exc, 'problem', exc)}"))
        return None
    if document is None:
        problems.append(Problem(name, None, None, "the file is empty"))
        return None
    if not isinstance(document, dict):
        problems.append(Problem(name, None, None, "the file must hold a mapping of sections"))
        return None
    return document


def _validate(schema, data, name, label, problems):
    try:
        return schema().load(data)
    except ValidationError as exc:
        for path, message in schemas.flatten_messages(exc.messages):
            problems.append(Problem(name, label, path, message))
        return None


def _read_vocabulary(name, document, seeds, problems):
    unknown = set(document) - {"units", "terms"}
    for key in sorted(unknown):
        problems.append(Problem(name, None, key, "unknown section in a vocabulary file"))
    for i, unit in enumerate(document.get("units") or []):
        loaded = _validate(schemas.UnitSeedSchema, unit, name, f"units[{i}]", problems)
        if loaded:
            seeds.units.append(loaded)
    for scheme, terms in (document.get("terms") or {}).items():
        if scheme not in schemas.VOCABULARY_SCHEMES:
            problems.append(Problem(name, None, f"terms.{scheme}", "unknown vocabulary scheme"))
            continue
        for i, term in enumerate(terms or []):
            loaded = _validate(schemas.TermSeedSchema, term, name, f"terms.{scheme}[{i}]", problems)
            if loaded:
                seeds.terms.setdefault(scheme, []).append(loaded)


def _read_article(name, document, seeds, problems):
    allowed = {"source", "citations", *schemas.RECORD_SECTIONS}
    for key in sorted(set(document) - allowed):
        problems.append(Problem(name, None, key, f"unknown section; expected one of {sorted(allowed)}"))
    if "source" not in document:
        problems.append(Problem(name, None, "source", "an article file needs its source"))
    sections = [("sources", [document["source"]] if "source" in document else [])]
    sections += [(section, document.get(section)) for section in schemas.RECORD_SECTIONS]
    for section, items in sections:
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(Problem(name, None, section, "must be a list of records"))
            continue
        schema = schemas.SourceSeedSchema if section == "sources" else schemas.RECORD_SECTIONS[section]
        for i, item in enumerate(items):
            label = f"{section}[{item.get('id', i) if isinstance(item, dict) else i}]"
            loaded = _validate(schema, item, name, label, problems)
            if loaded is None:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    seeds.invalid_ids.add(item["id"])  # so references to it are not also "unknown"
                continue
            if loaded["id"] in seeds.entries:
                first = seeds.entries[loaded["id"]]
                problems.append(Problem(name, label, "id", f"duplicate id; first defined in {first.file} {first.label}"))
                continue
            seeds.entries[loaded["id"]] = Entry(section, loaded, name, len(seeds.entries))
    for i, citation in enumerate(document.get("citations") or []):
        loaded = _validate(schemas.ExtraCitationSchema, citation, name, f"citations[{i}]", problems)
        if loaded:
            seeds.citations.append((name, i, loaded))


# (section, field, the section it must name); "*" is any record type
REFERENCES = [
    ("sources", "publication", "organisations"),
    ("sources", "author", "people"),
    ("organisations", "parent", "organisations"),
    ("places", "parent", "places"),
    ("people", "affiliations[].organisation", "organisations"),
    ("events", "place", "places"),
    ("events", "participants[].organisation", "organisations"),
    ("events", "participants[].person", "people"),
    ("events", "programmes[]", "programmes"),
    ("programmes", "parent", "programmes"),
    ("programmes", "operators[].organisation", "organisations"),
    ("programmes", "places[]", "places"),
    ("figures", "subjects[]", "*"),
    ("figures", "parts[]", "figures"),
    ("figures", "comparisons[].base", "figures"),
    ("figures", "comparisons[].current", "figures"),
    ("*", "sources[].source", "sources"),
]
VOCABULARY_FIELDS = [
    ("organisations", "kind", "organisation_kind"),
    ("places", "kind", "place_kind"),
    ("events", "kind", "event_kind"),
    ("programmes", "kind", "programme_kind"),
    ("events", "participants[].role", "participant_role"),
    ("programmes", "operators[].role", "operator_role"),
]


def values_at(data, path):
    """[(field path, value)] for a path like 'participants[].role' or 'parent'."""
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        key = head[:-2]
        found = []
        for i, item in enumerate(data.get(key) or []):
            if rest:
                found += [(f"{key}[{i}].{sub}", v) for sub, v in values_at(item, rest)]
            else:
                found.append((f"{key}[{i}]", item))
        return found
    value = data.get(head)
    if rest:
        return [(f"{head}.{sub}", v) for sub, v in values_at(value or {}, rest)]
    return [(head, value)]


def _check_references(seeds, problems):
    units = {u["code"] for u in seeds.units}
    for entry in seeds.entries.values():
        for section, path, target in REFERENCES:
            if section not in ("*", entry.section):
                continue
            for where, ref in values_at(entry.data, path):
                if ref is None:
                    continue
                found = seeds.entries.get(ref)
                if found is None and ref in seeds.invalid_ids:
                    continue  # the record is there but invalid, and that is reported already
                if found is None:
                    problems.append(Problem(entry.file, entry.label, where, f"unknown reference {ref!r}"))
                elif target != "*" and found.section != target:
                    problems.append(Problem(entry.file, entry.label, where, f"{ref!r} is one of {found.section}, not {target}"))
        for section, path, scheme in VOCABULARY_FIELDS:
            if section != entry.section:
                continue
            codes = {t["code"] for t in seeds.terms.get(scheme, [])}
            for where, code in values_at(entry.data, path):
                if code not in codes:
                    problems.append(Problem(entry.file, entry.label, where, f"{code!r} is not in the {scheme} vocabulary"))
        if entry.section == "figures" and entry.data["unit"] is not None and entry.data["unit"] not in units:
            problems.append(Problem(entry.file, entry.label, "unit", f"{entry.data['unit']!r} is not a unit in the vocabulary"))
        if entry.data.get("parent") in seeds.entries and _has_cycle(seeds, entry.data["id"]):
            problems.append(Problem(entry.file, entry.label, "parent", "the parent chain loops back to this record"))
    for name, i, citation in seeds.citations:
        for key, target in (("record", "*"), ("source", "sources")):
            found = seeds.entries.get(citation[key])
            if found is None and citation[key] in seeds.invalid_ids:
                continue
            if found is None or (target != "*" and found.section != target):
                problems.append(Problem(name, f"citations[{i}]", key, f"unknown {key} {citation[key]!r}"))


def _has_cycle(seeds, start):
    seen, current = set(), start
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = seeds.entries[current].data.get("parent") if current in seeds.entries else None
    return False


def _check_figures(seeds, problems):
    figures = {e.data["id"]: e for e in seeds.records("figures")}
    for figure_id, entry in figures.items():
        figure = entry.data
        results = [check_value_text(figure)]
        # A part or base that is not a figure is reported by _check_references.
        parts = [figures[p].data for p in figure["parts"] if p in figures]
        if parts and len(parts) == len(figure["parts"]):
            results.append(check_parts(figure, parts))
        for comparison in figure["comparisons"]:
            if comparison["base"] in figures and comparison["current"] in figures:
                base, current = figures[comparison["base"]].data, figures[comparison["current"]].data
                results.append(check_growth_rate(figure, base, current))
        declared = figure.get("discrepancy")
        failed = [r for r in results if not r.holds]
        for result in failed:
            # value_text is ours to get right; only the page's own arithmetic may disagree.
            if result.kind == "value_text" or not declared:
                problems.append(Problem(entry.file, entry.label, _field_of(result), result.detail))
        if declared and not any(r.kind != "value_text" for r in failed):
            problems.append(Problem(entry.file, entry.label, "discrepancy", "declared, but every check on the figure holds"))
        seeds.checks += [(figure_id, r) for r in results if r.kind != "value_text"]


def _field_of(result):
    return {"value_text": "value", "parts_sum": "parts", "growth_rate": "comparisons"}[result.kind]


def _check_evidence(seeds, page, problems):
    quotes = [
        (e.file, e.label, f"sources[{i}].evidence", c["evidence"])
        for e in seeds.entries.values()
        for i, c in enumerate(e.data["sources"])
    ]
    quotes += [(name, f"citations[{i}]", "evidence", c["evidence"]) for name, i, c in seeds.citations]
    for name, label, where, quote in quotes:
        if squash(quote) not in page:
            problems.append(Problem(name, label, where, f"evidence is not verbatim on the source page: {quote!r}"))


def now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
