"""Tools for curating the next page: add its text and a seed skeleton, and find a quote's place.

`new_source` copies a page's text into `seeds/pages/` and writes an article file whose
`source` record names the file and its SHA-256; what only a reader can say (the English
headline, the publication, the records) is left for the curator, and `civicfacts check`
lists it, with every number on the page that no record accounts for yet. `find_quote`
says where words stand in a source's text (or a page file's), white space folded as the
evidence check folds it, so that what is pasted as `evidence` is found there once.

Both work on a seed folder that does not validate yet: they read only what they need.
"""

import json
import pathlib
import re
import shutil
from dataclasses import dataclass

import yaml
from marshmallow import ValidationError

from api.ingest.pages import PAGE_FILE, PAGES, Page, PageError, pages_dir, sha256, squash, text_of
from api.ingest.schemas import SLUG, LinesSchema


class CurateError(ValueError):
    """What stops a curating command, in words for the curator."""


# --- a new page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSource:
    page: pathlib.Path  # where the page's text now is
    seed: pathlib.Path  # the article file written
    source_id: str
    headline: str
    copied: bool  # False when the same page was there already


def new_source(page_path, seeds_dir, source_id=None, publication=None):
    """Add the page at `page_path` to `seeds_dir/pages/` and write `seeds_dir/NN_<id>.yaml`."""
    page_path, seeds_dir = pathlib.Path(page_path), pathlib.Path(seeds_dir)
    if not seeds_dir.is_dir():
        raise CurateError(f"no seed folder {seeds_dir}")
    if not page_path.is_file():
        raise CurateError(f"no page file {page_path}")
    name = page_path.name
    if not PAGE_FILE.match(name):
        raise CurateError(f"{name!r} cannot be a page file name: letters, digits, '.', '_' and '-', ending in .txt")
    data = page_path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CurateError(f"{page_path} is not UTF-8 text: byte {exc.start} cannot be decoded; convert it first") from exc
    headline = next((line.strip() for line in text.splitlines() if line.strip()), None)
    if headline is None:
        raise CurateError(f"{page_path} holds no text")
    source_id = source_id or _slug(page_path.stem)
    if not SLUG.regex.match(source_id):
        raise CurateError(f"{source_id!r} is not an id: a slug like 'gwangju-city-budget-article' (give one with --id)")
    taken = _ids(seeds_dir)
    if source_id in taken:
        raise CurateError(f"the id {source_id!r} is taken, in {taken[source_id]}: give another with --id")

    target = pages_dir(seeds_dir) / name
    copied = True
    if target.exists():
        if target.read_bytes() != data:
            raise CurateError(f"{PAGES}/{name} exists and holds another text: rename the new page")
        copied = False
    number = 1 + max((int(m[1]) for p in seeds_dir.glob("*.yaml") if (m := re.match(r"^(\d+)_", p.name))), default=0)
    seed = seeds_dir / f"{number:02d}_{source_id.replace('-', '_')}.yaml"
    if seed.exists():
        raise CurateError(f"{seed} exists")
    if copied:
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(page_path, target)
    seed.write_text(skeleton(source_id, headline, name, sha256(data), publication), encoding="utf-8")
    return NewSource(target, seed, source_id, headline, copied)


def _slug(stem):
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return f"{slug}-article" if slug else "new-article"


def _ids(seeds_dir):
    """{id: file} of every record id in the folder's readable files (ids are unique across all)."""
    found = {}
    for path in sorted(seeds_dir.glob("*.yaml")):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError):
            continue  # `civicfacts check` reports it
        if not isinstance(document, dict):
            continue
        records = [document.get("source")] + [r for key, v in document.items() if key != "citations" and isinstance(v, list) for r in v]
        for record in records:
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                found.setdefault(record["id"], path.name)
    return found


def skeleton(source_id, headline, file, digest, publication=None):
    """The text of a new article file: the source filled in, the rest for the curator."""

    def text(value):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one

    return f"""# {headline}
# A new page, {PAGES}/{file}. Fill in what only a reader can say: every `null` below
# that the page answers, and the records. `civicfacts check` lists what is missing, and
# every number on the page that no record accounts for yet; `civicfacts quote
# {source_id} "words"` says where words stand, to paste as evidence. The format is
# seeds/README.md ("From a new page to a checked dataset").

source:
  id: {source_id}
  name:
    ko: {text(headline)}
    en: null               # the headline in English
    en_translated: true
  subheadlines: []
  publication: {publication or "null"}        # an organisation id
  byline: null             # as printed
  author: null             # a person id
  published_on: null       # when the text pins it down, with the reasoning in the note
  page_position: 1
  page:
    file: {file}
    sha256: "{digest}"
    lines: null            # the whole file; {{first: N, last: M}} if it holds several articles
  note: null
  sources:
    - source: {source_id}
      evidence: {text(headline)}

organisations: []
people: []
places: []
programmes: []
events: []
figures: []
citations: []
acknowledged: []
"""


# --- where words stand ---------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    start: int
    end: int
    where: str  # 'line L, column C'
    printed: str  # the words as the page prints them (white space as printed)
    sentence: dict  # {"text", "start", "end"}: the sentence, and the words' place in it


@dataclass(frozen=True)
class Found:
    label: str  # what was searched: a source and its page, or a page file
    places: list
    elsewhere: list  # [(source id, 'line L, column C')] when the words are not in `label`'s text


def find_quote(seeds_dir, name, words):
    """Where `words` stand in the text of source `name` (or in page file `name`)."""
    seeds_dir = pathlib.Path(seeds_dir)
    if not squash(words):
        raise CurateError("no words to look for")
    texts = _source_texts(seeds_dir)
    if name in texts:
        text = texts[name]
        label = f"{name} ({PAGES}/{text.page.file}{_lines(text)})"
    elif PAGE_FILE.match(name):
        text = text_of(_page(seeds_dir, name), None)
        label = f"{PAGES}/{name}"
    else:
        raise CurateError(f"{name!r} is neither a source id in {seeds_dir} nor a page file in {PAGES}/")
    places = [_place(text, start, end) for start, end in text.find(words)]
    elsewhere = []
    if not places:
        elsewhere = [(other, t.page.where(spans[0][0])) for other, t in texts.items() if other != name and (spans := t.find(words))]
    return Found(label, places, elsewhere)


def _place(text, start, end):
    return Place(start, end, text.page.where(start), text.page.text[start:end], text.context(start, end))


def _lines(text):
    if (text.start, text.end) == (0, len(text.page.text)):
        return ""
    return f", lines {text.page.line_of(text.start)}-{text.page.line_of(max(text.end - 1, text.start))}"


def _page(seeds_dir, file):
    try:
        return Page.read(pages_dir(seeds_dir), file)
    except PageError as exc:
        raise CurateError(str(exc)) from exc


def _source_texts(seeds_dir):
    """{source id: Text} of every article file whose source names a readable page; the rest
    is left to `civicfacts check`."""
    texts = {}
    for path in sorted(seeds_dir.glob("*.yaml")):
        try:
            source = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("source")
            page, lines = source["page"], source["page"].get("lines")
            if lines is not None:
                lines = LinesSchema().load(lines)
            texts[source["id"]] = text_of(_page(seeds_dir, page["file"]), lines)
        except (UnicodeDecodeError, yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError, ValidationError):
            continue  # CurateError is a ValueError
    return texts


def report(found, words):
    """(lines to print, whether the words name exactly one place): what `civicfacts quote` says."""
    lines = [f"{words!r} in {found.label}: {len(found.places)} place(s)"]
    for place in found.places:
        sentence = place.sentence
        marked = (
            f"{sentence['text'][: sentence['start']]}«{sentence['text'][sentence['start'] : sentence['end']]}»{sentence['text'][sentence['end'] :]}"
        )
        lines += [f"  {place.where} (offsets {place.start}-{place.end}): {place.printed!r}", f"    {squash(marked)}"]
    if len(found.places) == 1:
        lines.append(f"  evidence: {json.dumps(squash(found.places[0].printed), ensure_ascii=False)}")
    elif found.places:
        lines.append("  more than one place: quote more words so that the quote names one (the loader refuses a quote that stands twice)")
    else:
        where = "; ".join(f"{source_id} ({at})" for source_id, at in found.elsewhere)
        lines.append(f"  not there{f'; it stands in {where}' if where else ''}")
    return lines, len(found.places) == 1
