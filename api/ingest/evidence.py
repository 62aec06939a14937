"""Evidence per source: every quote is looked for in the text of the source it cites, and
only there, and its place in the page is kept.

Each source's text is read from the page file it names (`seeds/pages/<file>`), after checking
the file's SHA-256 against the one the source records; a missing or changed file is a problem,
never a reason to skip the check. A quote must stand exactly once in its source's text (white
space folded): a quote that stands twice names no one place, and one that stands only in
another source's text is refused, with where it does stand.
"""

from dataclasses import dataclass

from api.ingest.pages import PAGES, Page, PageError, pages_dir, text_of
from api.ingest.seedset import Entry, Problem


@dataclass(frozen=True)
class Span:
    """Where a quote stands: [start, end) in its page file, and the sentence around it."""

    start: int
    end: int
    context: dict  # {"text", "start", "end"}: the sentence, and the quote's place in it


def describe(text):
    """'pages/000_x.txt, lines 49-65' (or the whole file)."""
    where = f"{PAGES}/{text.page.file}"
    if (text.start, text.end) == (0, len(text.page.text)):
        return where
    return f"{where}, lines {text.page.line_of(text.start)}-{text.page.line_of(max(text.end - 1, text.start))}"


def read_texts(seeds, seeds_dir, problems):
    """{source id: Text}: each valid source's part of its page, the page's hash checked."""
    directory = pages_dir(seeds_dir)
    pages, texts, claimed = {}, {}, {}
    for entry in _with_invalid(seeds):
        spec = entry.data["page"]
        if spec["file"] not in pages:
            try:
                pages[spec["file"]] = Page.read(directory, spec["file"])
            except PageError as exc:
                pages[spec["file"]] = exc
        page = pages[spec["file"]]
        if isinstance(page, PageError):
            problems.append(Problem(entry.file, entry.label, "page.file", str(page)))
            continue
        if page.sha256 != spec["sha256"]:
            problems.append(
                Problem(
                    entry.file,
                    entry.label,
                    "page.sha256",
                    f"the page file {PAGES}/{page.file} has SHA-256 {page.sha256}, not {spec['sha256']}: "
                    "the page is not the one the source was curated from",
                )
            )
            continue
        try:
            text = text_of(page, spec["lines"])
        except PageError as exc:
            problems.append(Problem(entry.file, entry.label, "page.lines", str(exc)))
            continue
        for other, (start, end) in claimed.get(page.file, {}).items():
            if text.start < end and start < text.end:
                problems.append(Problem(entry.file, entry.label, "page.lines", f"overlaps the text of source {other!r} in {PAGES}/{page.file}"))
        claimed.setdefault(page.file, {})[entry.data["id"]] = (text.start, text.end)
        texts[entry.data["id"]] = text
    return texts


def _with_invalid(seeds):
    """The sources, and the pages of those that failed validation (their quotes are checked too)."""
    yield from seeds.records("sources")
    for source_id, (file, page) in seeds.pages_of_invalid_sources.items():
        yield Entry("sources", {"id": source_id, "page": page}, file, -1)


def citations(seeds):
    """(file, record label, field, record id, citation) of every quote in the seeds."""
    for entry in seeds.entries.values():
        for i, citation in enumerate(entry.data["sources"]):
            yield entry.file, entry.label, f"sources[{i}].evidence", entry.data["id"], citation
    for name, i, citation in seeds.citations:
        yield name, f"citations[{i}]", "evidence", citation["record"], citation


def locate(text, quote, texts):
    """(span, None), or (None, what is wrong) for a quote looked for in `text`."""
    spans = text.find(quote)
    if len(spans) == 1:
        start, end = spans[0]
        return Span(start, end, text.context(start, end)), None
    if spans:
        places = ", ".join(text.page.where(start) for start, _ in spans)
        return None, f"stands {len(spans)} times in the text of the source ({describe(text)}: {places}): quote more words so that it names one place"
    elsewhere = [f"{source_id} ({other.page.where(spans[0][0])})" for source_id, other in texts.items() if (spans := other.find(quote))]
    found = f"; it stands in the text of {', '.join(elsewhere)}" if elsewhere else ""
    return None, f"is not verbatim in the text of the source ({describe(text)}){found}"


def check_evidence(seeds, texts, problems):
    """Find every quote in its source's text; keep its place (citation["span"]), or report it."""
    for file, label, where, _record_id, citation in citations(seeds):
        text = texts.get(citation["source"])
        if text is None:
            continue  # the source is unknown or its page unreadable: reported already
        span, wrong = locate(text, citation["evidence"], texts)
        if wrong:
            problems.append(Problem(file, label, where, f"evidence {citation['evidence']!r} of source {citation['source']!r} {wrong}"))
        else:
            citation["span"] = span
