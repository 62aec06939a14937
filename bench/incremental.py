"""How long a load takes when one figure changes, next to a full load of the same dataset.

    python -m bench.incremental --figures 100000,1000000 [--postgres URL] [--out bench/incremental.json]

The dataset is bench/synthetic.py's (N figures and, in proportion, everything they hang on),
made as the seeds a curator would write (a SeedSet: what `civicfacts check` hands to
`civicfacts load`), so that both loads go through api/ingest/load.py as an operator's would.
Reading the YAML is left out of both timings: it is the same for either load, and the
synthetic seeds never were YAML; the report says so. For each N and database:

1. a full load into an empty, migrated database;
2. the same seeds with one figure's value changed (and its value_text with it), loaded
   again: the load that writes only what changed;
3. the same seeds loaded once more: a load that changes nothing.

Each load's transaction is timed apart from the building of the downloads that follows it
(built after the load commits, in a transaction of their own).
"""

import argparse
import json
import pathlib
import sys
import time
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.ingest import load as loader  # noqa: E402
from api.ingest.arithmetic import CheckResult  # noqa: E402
from api.ingest.compile import downloads_current, publish_downloads  # noqa: E402
from api.ingest.evidence import Span  # noqa: E402
from api.ingest.seedset import Entry, SeedSet  # noqa: E402
from api.registry import RECORD_TYPES  # noqa: E402
from api.store import models as m  # noqa: E402
from api.store.db import open_database  # noqa: E402
from bench.generate import ORDER, read_vocabulary  # noqa: E402
from bench.synthetic import Generator  # noqa: E402


def _name(ko, en, translated):
    return {"ko": ko, "en": en, "en_translated": translated}


def _alone(evidence):
    """The span the evidence check would give a quote that stood alone on its page (the synthetic
    sources have no pages: the load writes a span and a context per citation all the same)."""
    return Span(0, len(evidence), {"text": evidence, "start": 0, "end": len(evidence)})


def _iso(value):
    return value.isoformat() if value is not None else None


def synthetic_seeds(figures, seed=1):
    """The synthetic dataset as a SeedSet: the entries the seed files would hold."""
    gen = Generator(figures, seed, read_vocabulary())
    vocabulary = gen.vocabulary
    seeds = SeedSet(version=f"synthetic-{figures}-{seed}")
    seeds.units = [{"code": u["code"], "ko": u["ko"], "en": u["en"], "note": u.get("note")} for u in vocabulary["units"]]
    seeds.terms = {scheme: [{"code": t["code"], "ko": t["ko"], "en": t["en"]} for t in terms] for scheme, terms in vocabulary["terms"].items()}
    for collection in ORDER:
        for i in range(gen.counts[collection]):
            record, links, cites, _ = gen.record_rows(collection, i)
            record_id, name_ko, name_en, translated, other, note, _position, *extra = record
            data = {
                "id": record_id,
                "name": _name(name_ko, name_en, translated),
                "other_names": other,
                "note": note,
                "sources": [{"source": source, "evidence": evidence, "span": _alone(evidence)} for _, _, source, evidence, _ in cites],
            }
            if collection in ("organisations", "places"):
                data.update(kind=extra[0], parent=extra[1])
            elif collection == "people":
                data["affiliations"] = [
                    {"organisation": org, "title": {"ko": ko, "en": en, "en_translated": True}} for _, org, ko, en, _ in links.get(m.Affiliation, [])
                ]
            elif collection == "sources":
                publication, subheadlines, byline, author, published_on, page_position = extra
                data.update(
                    publication=publication,
                    subheadlines=subheadlines,
                    byline=byline,
                    author=author,
                    published_on=published_on,
                    page_position=page_position,
                )
            elif collection == "programmes":
                kind, parent, eligibility, benefits, start, end = extra
                data.update(
                    kind=kind,
                    parent=parent,
                    eligibility=eligibility,
                    benefits=benefits,
                    start_date=start,
                    end_date=end,
                    operators=[{"organisation": o, "role": r} for _, o, r, _ in links.get(m.ProgrammeOperator, [])],
                    places=[p for _, p, _ in links.get(m.ProgrammePlace, [])],
                )
            elif collection == "events":
                kind, start, end, place = extra
                data.update(
                    kind=kind,
                    start_date=start,
                    end_date=end,
                    place=place,
                    dated_from=None,
                    participants=[{"organisation": o, "person": p, "role": r} for _, o, p, r, _ in links.get(m.EventParticipant, [])],
                    programmes=[p for _, p, _ in links.get(m.EventProgramme, [])],
                )
            else:
                value, unit, value_text, qualifier, start, end, as_of, discrepancy = extra
                data.update(
                    value=Decimal(value) if value is not None else None,
                    unit=unit,
                    value_text=value_text,
                    qualifier=qualifier,
                    dated_from=None,
                    period={"start": start, "end": end} if start or end else None,
                    as_of=as_of,
                    discrepancy=discrepancy,
                    subjects=[s for _, _, s, _ in links.get(m.FigureSubject, [])],
                    parts=[p for _, p, _ in links.get(m.FigurePart, [])],
                    comparisons=[{"kind": k, "base": b, "current": c} for _, k, b, c in links.get(m.FigureComparison, [])],
                )
                seeds.checks += [(record_id, CheckResult(kind, holds, detail)) for _, kind, holds, detail in links.get(m.FigureCheck, [])]
            seeds.entries[record_id] = Entry(collection, data, f"synthetic/{collection}.yaml", len(seeds.entries))
    return seeds


def one_figure_changed(seeds):
    """The same seeds with the value of one figure (a plain one, in the middle) changed."""
    figures = [record_id for record_id, entry in seeds.entries.items() if entry.section == "figures"]
    for record_id in figures[len(figures) // 2 :]:
        data = seeds.entries[record_id].data
        if data["unit"] == "person" and not data["parts"] and data["value"] is not None:
            break
    changed = dict(data, value=data["value"] + 1, value_text=f"{data['value'] + 1}명")
    entries = dict(seeds.entries)
    entries[record_id] = Entry("figures", changed, seeds.entries[record_id].file, seeds.entries[record_id].index)
    return SeedSet(
        version=seeds.version + "-changed", units=seeds.units, terms=seeds.terms, entries=entries, citations=seeds.citations, checks=seeds.checks
    ), record_id


def timed_load(url, seeds):
    """(seconds of the load's transaction, seconds of the downloads after it, the Dataset)."""
    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        started = time.perf_counter()
        dataset = loader.load(seeds, database, publish=False)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        if not downloads_current(dataset):  # a load that changed nothing has them already
            publish_downloads(database, dataset, RECORD_TYPES)
        published = time.perf_counter() - started
    database.close()
    return loaded, published, dataset


def fresh_database(url):
    from api.cli import migration_runner

    if url.startswith("postgres"):
        from bench.generate import ensure_postgres_database

        ensure_postgres_database(url)
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        path = pathlib.Path(url.removeprefix("sqlite:///"))
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
    database = open_database(url)
    with database:
        migration_runner(database).up()
    database.close()


def run(figures, url, log=print):
    seeds = synthetic_seeds(figures)
    changed, figure_id = one_figure_changed(seeds)
    fresh_database(url)
    full = timed_load(url, seeds)
    log(f"{url} N={figures}: full load {full[0]:.1f} s (+ downloads {full[1]:.1f} s), version {full[2].version}")
    one = timed_load(url, changed)
    log(f"{url} N={figures}: one figure changed {one[0]:.2f} s (+ downloads {one[1]:.1f} s): {one[2].changed} changed")
    same = timed_load(url, changed)
    log(f"{url} N={figures}: nothing changed {same[0]:.2f} s")
    return {
        "figures": figures,
        "records": len(seeds.entries),
        "database": "postgres" if url.startswith("postgres") else "sqlite",
        "full_load_s": round(full[0], 2),
        "full_downloads_s": round(full[1], 2),
        "one_figure_load_s": round(one[0], 2),
        "one_figure_downloads_s": round(one[1], 2),
        "one_figure_changes": {"added": one[2].added, "changed": one[2].changed, "removed": one[2].removed},
        "unchanged_load_s": round(same[0], 2),
        "ratio": round(one[0] / full[0], 4),
        "changed_figure": figure_id,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", default="100000", help="comma list of N")
    parser.add_argument("--sqlite-dir", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--postgres", default=None, help="a server URL; the bench uses a database civicfacts_bench_incremental_<N> there")
    parser.add_argument("--out", default=str(ROOT / "bench" / "incremental.json"))
    args = parser.parse_args(argv)
    results = []
    for n in (int(x) for x in args.figures.split(",")):
        results.append(run(n, f"sqlite:///{args.sqlite_dir}/incremental-n{n}.db"))
        if args.postgres:
            base = args.postgres.rpartition("/")[0]
            results.append(run(n, f"{base}/civicfacts_bench_incremental_{n}"))
    pathlib.Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
