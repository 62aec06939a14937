"""Read and validate `seeds/`: every problem reported at once.

`read_seeds` turns the folder into a `SeedSet` or raises `SeedError` with every problem found
(file, record, field, message): each file is parsed, each record checked against its schema
(api/ingest/schemas.py), then the whole set (api/ingest/validate.py). Loading a SeedSet into
the database is api/ingest/load.py.
"""

import hashlib
import pathlib

import yaml
from marshmallow import ValidationError

from api import config
from api.ingest import schemas
from api.ingest.coverage import check_acknowledgements, check_names, check_tokens
from api.ingest.evidence import check_evidence, read_texts
from api.ingest.seedfile import NotReadable, SeedFileRefused, SeedLoader, read_bytes
from api.ingest.seedset import Entry, Problem, SeedError, SeedSet
from api.ingest.validate import check_figures, check_references, check_statements


def dataset_version(contents):
    """A hash of the seed files' names and bytes: [(path, bytes)]."""
    digest = hashlib.sha256()
    for path, data in contents:
        digest.update(path.name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()[:16]


def read_seeds(seeds_dir, max_bytes=None):
    """Validate every file in `seeds_dir` against the pages in `seeds_dir/pages/`; a `SeedSet`,
    or `SeedError` listing every problem. A file over `max_bytes` (SEED_MAX_BYTES) is refused."""
    seeds_dir = pathlib.Path(seeds_dir)
    if max_bytes is None:
        max_bytes = config.from_environment()["SEED_MAX_BYTES"]
    files = sorted(p for p in seeds_dir.glob("*.y*ml") if p.suffix in {".yaml", ".yml"})
    problems = []
    if not files:
        raise SeedError([Problem(str(seeds_dir), None, None, "no .yaml seed files here")])
    contents = []
    for path in files:
        try:
            contents.append((path, read_bytes(path, max_bytes)))
        except NotReadable as exc:
            problems.append(Problem(str(path), None, None, f"not read: it {exc}"))
    seeds = SeedSet(version=dataset_version(contents))
    documents = []
    for path, data in contents:
        document = _parse_file(str(path), data, problems)
        if document is not None:
            documents.append((str(path), document))
    for name, document in documents:
        if "units" in document or "terms" in document:
            _read_vocabulary(name, document, seeds, problems)
    for name, document in documents:
        if not ("units" in document or "terms" in document):
            _read_article(name, document, seeds, problems)
    check_references(seeds, problems)
    check_figures(seeds, problems)
    check_statements(seeds, problems)
    waiting = _check_pages(seeds, seeds_dir, problems)
    if problems:
        raise SeedError(problems, waiting.values())
    return seeds


def _check_pages(seeds, seeds_dir, problems):
    """Each source's page, every quote in the text of its own source, then every name and
    number on the pages (api/ingest/evidence.py, coverage.py). Returns {source id: why} for
    the sources whose numbers cannot be checked yet."""
    texts = read_texts(seeds, seeds_dir, problems)
    found_before = len(problems)
    check_evidence(seeds, texts, problems)
    texts = {source_id: text for source_id, text in texts.items() if source_id in seeds.entries}  # an invalid source's: for its quotes only
    acknowledged = check_acknowledgements(seeds, texts, problems)
    check_names(seeds, texts, problems)
    waiting = _waiting(seeds, texts, problems[found_before:])
    check_tokens(seeds, texts, acknowledged, problems, waiting)
    return waiting


def _waiting(seeds, texts, problems):
    """{source id: why}: sources whose numbers cannot be accounted for yet, because a record of
    their file did not validate, one of their quotes was not found, or the source itself is
    invalid (each reported already): checking them now would report numbers that only look
    unaccounted for."""
    quotes = {p.file for p in problems if p.field and p.field.endswith("evidence")}
    out = {}
    for source_id in texts:
        file = seeds.entries[source_id].file
        if file in seeds.incomplete_files or file in quotes:
            out[source_id] = (
                f"every number on the page of {source_id} ({pathlib.Path(file).name}) is accounted for, once the problems in that file are fixed"
            )
    for source_id, (file, _) in seeds.pages_of_invalid_sources.items():
        out[source_id] = f"every number on the page of {source_id} ({pathlib.Path(file).name}) is accounted for, once the source is valid"
    return out


def _parse_file(name, data, problems):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, None, f"not UTF-8 text: byte {exc.start} cannot be decoded"))
        return None
    try:
        document = yaml.load(text, Loader=SeedLoader)  # noqa: S506 - a SafeLoader subclass
    except SeedFileRefused as exc:
        mark = exc.problem_mark
        problems.append(Problem(name, None, None, f"refused at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(Problem(name, None, None, f"YAML syntax error{where}: {getattr(exc, 'problem', exc)}"))
        return None
    except ValueError as exc:  # an integer of more digits than Python converts (4300)
        problems.append(Problem(name, None, None, f"cannot be read: {exc}"))
        return None
    if document is None:
        problems.append(Problem(name, None, None, "the file is empty"))
        return None
    if not isinstance(document, dict):
        problems.append(Problem(name, None, None, "the file must hold a mapping of sections"))
        return None
    return document


def _keep_page(name, source, seeds):
    """The page of a source that failed validation for another reason, so that the quotes
    citing it are still checked (and every problem reported at once)."""
    try:
        seeds.pages_of_invalid_sources[source["id"]] = (name, schemas.PageSchema().load(source.get("page")))
    except ValidationError:
        pass  # the page itself is what is wrong, and that is reported


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
    allowed = {"source", "citations", "acknowledged", *schemas.RECORD_SECTIONS}
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
                seeds.incomplete_files.add(name)
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    seeds.invalid_ids.add(item["id"])  # so references to it are not also "unknown"
                    if section == "sources":
                        _keep_page(name, item, seeds)
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
        else:
            seeds.incomplete_files.add(name)
    for i, acknowledgement in enumerate(document.get("acknowledged") or []):
        loaded = _validate(schemas.AcknowledgementSchema, acknowledgement, name, f"acknowledged[{i}]", problems)
        if loaded:
            seeds.acknowledged.append((name, i, loaded))
        else:
            seeds.incomplete_files.add(name)
