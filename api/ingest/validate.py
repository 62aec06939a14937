"""What needs the whole seed set to check: references between records, vocabulary codes,
figure arithmetic and announcements. Each check adds a Problem per fault it finds; none
stops at the first. Evidence is api/ingest/evidence.py; what the pages print,
api/ingest/coverage.py."""

from api.ingest.arithmetic import check_growth_rate, check_parts, check_value_text
from api.ingest.pages import squash  # noqa: F401 - the one folding of white space, as tests import it
from api.ingest.seedset import Problem

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
    ("events", "dated_from", "events"),
    ("programmes", "parent", "programmes"),
    ("programmes", "benefits[].programmes[]", "programmes"),
    ("programmes", "operators[].organisation", "organisations"),
    ("programmes", "places[]", "places"),
    ("figures", "subjects[]", "*"),
    ("figures", "parts[]", "figures"),
    ("figures", "comparisons[].base", "figures"),
    ("figures", "comparisons[].current", "figures"),
    ("figures", "dated_from", "events"),
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


def check_references(seeds, problems):
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


def check_figures(seeds, problems):
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


ANNOUNCEMENT = "announcement"


def check_statements(seeds, problems):
    """An announcement is one day, no later than the articles that report it; a record dated
    from one names an announcement that a source it cites reports."""
    cited = {}
    for entry in seeds.entries.values():
        cited.setdefault(entry.data["id"], set()).update(c["source"] for c in entry.data["sources"])
    for _, _, citation in seeds.citations:
        cited.setdefault(citation["record"], set()).add(citation["source"])
    for entry in seeds.records("events"):
        data = entry.data
        if data["kind"] != ANNOUNCEMENT:
            continue
        if data["start_date"] is None or data["start_date"] != data["end_date"]:
            problems.append(Problem(entry.file, entry.label, "end_date", "an announcement is made on one day: start_date and end_date are that day"))
            continue
        for source_id in sorted(cited[data["id"]]):
            published = seeds.entries[source_id].data.get("published_on") if source_id in seeds.entries else None
            if published is not None and published < data["start_date"]:
                problems.append(
                    Problem(
                        entry.file, entry.label, "start_date", f"{data['start_date']} is after {source_id} reporting it was published ({published})"
                    )
                )
    for entry in seeds.entries.values():
        target = entry.data.get("dated_from")
        found = seeds.entries.get(target)
        if target is None or found is None or found.section != "events":
            continue  # none, or reported by check_references
        if found.data["kind"] != ANNOUNCEMENT:
            problems.append(Problem(entry.file, entry.label, "dated_from", f"{target!r} is a {found.data['kind']}, not an {ANNOUNCEMENT}"))
        elif not cited[target] & cited[entry.data["id"]]:
            problems.append(Problem(entry.file, entry.label, "dated_from", f"{target!r} is reported by no source this record cites"))
