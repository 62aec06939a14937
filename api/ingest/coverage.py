"""Coverage: every number a page prints is accounted for, and every name a record claims is
on the page.

A number-like token (api/ingest/tokens.py) in a source's text is accounted for when

- **a figure** quotes it: the token stands inside a quote of the figure and reads as the
  same number as the figure's `value_text` (`14억7000만원` in a subheadline is the figure
  printed `14억 7000만원` in the body), in a unit that does not contradict the figure's;
- **a date** does: it stands inside a quote of a record with a date it can be (`17일` of an
  announcement on 2023-12-17, `11월` of an as_of 2023-11-30, `2021년말` of 2021-12-31);
- **a name** does: it stands inside an occurrence of a name (`name.ko` or `other_names`) of a
  record citing that source (`평동1·2차`, `2023 빛고을사랑나눔김장대전`);
- or the seeds **acknowledge** it: an `acknowledged` entry of the article's file names the
  token, a quote that holds it, and the reason no record needs it.

Anything else is a problem. So is an acknowledgement of a token that a record accounts for
(it would hide a token the day the record goes), and one that names no token.

Names: a record's `name.ko` must stand on the page of a source it cites, unless `ko_form`
says why not (corrected, official, composed, unprinted), and then it must not stand there;
every `other_names` entry must stand there; a source's subheadlines and byline, and a
figure's `value_text` (in one of its own quotes), must be printed as they are given. A name
"stands" where the character before it is not Hangul: 국세청 inside 광주지방국세청 does not
count, 광주시 in 광주시는 does.
"""

import re
from collections import defaultdict

from api.ingest.evidence import citations, locate
from api.ingest.numbers import NumberFormatError, parse
from api.ingest.pages import squash
from api.ingest.seedset import Problem
from api.ingest.tokens import tokens

_HANGUL = re.compile("[가-힣]")
NOT_PRINTED = {
    "corrected": "a misprint's correction (the misprint kept in other_names)",
    "official": "an official name the page shortens or gives in an older form (kept in other_names)",
}


def cited_sources(seeds):
    """{record id: [source ids it is cited from]}, in order, without repeats."""
    out = defaultdict(list)
    for entry in seeds.entries.values():
        for citation in entry.data["sources"]:
            out[entry.data["id"]].append(citation["source"])
    for _, _, citation in seeds.citations:
        out[citation["record"]].append(citation["source"])
    return {record: list(dict.fromkeys(sources)) for record, sources in out.items()}


def occurrences(text, name):
    """Spans of `name` in a source's text where it stands as a name (no Hangul just before)."""
    return [(start, end) for start, end in text.find(name) if start == 0 or not _HANGUL.match(text.page.text[start - 1])]


# --- names ---------------------------------------------------------------------------------


def check_names(seeds, texts, problems):
    """Every name a record claims is printed on the page of a source it cites, or says why
    not; a figure's print stands in one of its quotes; a source's subheadlines and byline
    stand in its text."""
    sources = cited_sources(seeds)
    for entry in seeds.entries.values():
        mine = [texts[s] for s in sources.get(entry.data["id"], []) if s in texts]
        if not mine:
            continue  # no readable page: reported already
        if entry.section == "figures":
            _check_value_text(entry, problems)
            continue

        def printed(words, mine=mine):
            return any(occurrences(text, words) for text in mine)

        _check_name(entry, printed, problems)
        for i, other in enumerate(entry.data["other_names"]):
            if not printed(other):
                problems.append(
                    Problem(entry.file, entry.label, f"other_names[{i}]", f"{other!r} is not printed on the page of a source the record cites")
                )
        if entry.section == "sources" and entry.data["id"] in texts:
            _check_source_print(entry, texts[entry.data["id"]], problems)


def _check_value_text(entry, problems):
    data = entry.data
    found = [c for c in data["sources"] if "span" in c]  # a quote not found is reported already
    if found and not any(squash(data["value_text"]) in squash(c["evidence"]) for c in found):
        problems.append(
            Problem(entry.file, entry.label, "value_text", f"{data['value_text']!r} is not in any quote of the figure: keep it as printed")
        )


def _check_source_print(entry, own, problems):
    data = entry.data
    for where, words in [*((f"subheadlines[{i}]", s) for i, s in enumerate(data["subheadlines"])), ("byline", data["byline"])]:
        if words and not own.find(words):
            problems.append(Problem(entry.file, entry.label, where, f"{words!r} is not printed in the text of the source"))


def _check_name(entry, printed, problems):
    name, data = entry.data["name"], entry.data
    form = name["ko_form"]
    if form == "printed" and not printed(name["ko"]):
        problems.append(
            Problem(
                entry.file,
                entry.label,
                "name.ko",
                f"{name['ko']!r} is not printed on the page of a source the record cites; if that is right, say why "
                "with name.ko_form (corrected, official, composed or unprinted) and in the note",
            )
        )
    elif form != "printed" and printed(name["ko"]):
        problems.append(Problem(entry.file, entry.label, "name.ko_form", f"{form!r}, but {name['ko']!r} is printed on the page: drop ko_form"))
    elif form in NOT_PRINTED and not data["other_names"]:
        problems.append(Problem(entry.file, entry.label, "other_names", f"name.ko is {NOT_PRINTED[form]}: other_names must keep the printed form"))
    elif form != "printed" and not data.get("note"):
        problems.append(Problem(entry.file, entry.label, "note", f"name.ko_form is {form!r}: the note must say where the name comes from"))


# --- number-like tokens --------------------------------------------------------------------


def _dates(entry):
    data = entry.data
    days = [data.get(key) for key in ("start_date", "end_date", "as_of", "published_on")]
    days += [(data.get("period") or {}).get(key) for key in ("start", "end")]
    return [day for day in days if day is not None]


def _printed_value(figure):
    try:
        return parse(figure["value_text"])
    except NumberFormatError:
        return None  # value_in_words, or reported by the arithmetic check


# Counters that make a number a date or a denominator, never a quantity: '17일' is not 17 of
# anything even inside the quote of a figure of 17, nor '1인당' one of anything.
NOT_QUANTITIES = ("일", "월", "년말", "명당", "인당")


def _as_figure(read, figure):
    printed = _printed_value(figure)
    return read is not None and printed is not None and read.suffix not in NOT_QUANTITIES and read.value == printed.value


def account(token, quoted, named):
    """What accounts for `token`: ["figure <id>", "date of <id>", "name of <id>", ...]."""
    found, read = [], None
    for entry, span in quoted:
        if not token.covered_by(span.start, span.end):
            continue
        if entry.section == "figures":
            read = read or token.value
            if _as_figure(read, entry.data):
                found.append(f"figure {entry.data['id']}")
        if any(token.is_date_of(day) for day in _dates(entry)):
            found.append(f"a date of {entry.data['id']}")
    found += [f"the name of {record_id}" for record_id, start, end in named if token.covered_by(start, end)]
    return list(dict.fromkeys(found))


def check_tokens(seeds, texts, acknowledged, problems, waiting):
    """Every token of every source's text accounted for; `acknowledged` is
    {source id: {(start, end): (file, label)}} from `check_acknowledgements`."""
    sources = cited_sources(seeds)
    quoted, named = defaultdict(list), defaultdict(list)
    for _, _, _, record_id, citation in citations(seeds):
        if "span" in citation and record_id in seeds.entries:
            quoted[citation["source"]].append((seeds.entries[record_id], citation["span"]))
    for entry in seeds.entries.values():
        if entry.section in ("figures", "sources"):
            continue  # a figure's name is a label; a headline is not a name that accounts for its numbers
        for source_id in sources.get(entry.data["id"], []):
            if source_id in texts:
                for words in (entry.data["name"]["ko"], *entry.data["other_names"]):
                    named[source_id] += [(entry.data["id"], start, end) for start, end in occurrences(texts[source_id], words)]
    for source_id, text in texts.items():
        if source_id in waiting:
            continue
        source = seeds.entries[source_id]
        marked = acknowledged.get(source_id, {})
        for token in tokens(text):
            reasons = account(token, quoted[source_id], named[source_id])
            ack = marked.get((token.start, token.end))
            if ack and reasons:
                problems.append(
                    Problem(ack[0], ack[1], "token", f"{token.text!r} is accounted for by {', '.join(reasons)}: the acknowledgement is not needed")
                )
            elif not reasons and not ack:
                sentence = text.context(token.start, token.end, limit=80)["text"]
                problems.append(
                    Problem(
                        source.file,
                        source.label,
                        "page",
                        f"the number {token.text!r} at {text.page.where(token.start)} of pages/{text.page.file} is accounted for by "
                        f"no figure, date or name, nor acknowledged ({sentence!r})",
                    )
                )


def check_acknowledgements(seeds, texts, problems):
    """{source id: {(start, end): (file, label)}}: the tokens the seeds acknowledge, each
    found in the quote given for it."""
    source_of_file = {e.file: e.data["id"] for e in seeds.records("sources")}
    out = defaultdict(dict)
    for file, i, ack in seeds.acknowledged:
        label = f"acknowledged[{i}]"
        text = texts.get(source_of_file.get(file))
        if text is None:
            continue  # the file's source is invalid or its page unreadable: reported already
        span, wrong = locate(text, ack["evidence"], texts)
        if wrong:
            problems.append(Problem(file, label, "evidence", f"{ack['evidence']!r} {wrong}"))
            continue
        inside = [t for t in tokens(text) if t.covered_by(span.start, span.end)]
        hits = [t for t in inside if squash(t.text) == squash(ack["token"])]
        if len(hits) != 1:
            held = ", ".join(repr(t.text) for t in inside) or "none"
            how = "no" if not hits else "more than one"
            problems.append(Problem(file, label, "token", f"{how} number-like token {ack['token']!r} in that quote (it holds: {held})"))
            continue
        out[source_of_file[file]][(hits[0].start, hits[0].end)] = (file, label)
    return out
