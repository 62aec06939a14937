"""Fill a database with N synthetic figures and, in proportion, everything they hang on.

    python -m bench.generate --database sqlite:///bench/data/n100000.db --figures 100000
    python -m bench.generate --database postgresql://postgres@127.0.0.1:5432/civicfacts_bench_n100000 --figures 100000

The database is migrated with the app's own migrations and filled through its models'
tables, columns and field conversions (bench/synthetic.py says what the records are), so the
benchmark measures the schema the app really has. Search entries and the search index are
built with api.query.search and api.query.search_index, as the loader builds them, so /v1/search and
`?q=` work on the synthetic data as on the seeds. The rows go in through the driver's bulk
path (executemany on SQLite, COPY on PostgreSQL) in one transaction, secondary indexes
built once at the end.
"""

import argparse
import os
import pathlib
import sys
import time

import yaml
from peewee import DateField

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api.ingest.compile import compile_all, count_lists, downloads_current, publish_exports  # noqa: E402
from api.ingest.index import common_queries, keep_rankings  # noqa: E402
from api.query import days  # noqa: E402
from api.query.search import FIELD_WEIGHTS, fold  # noqa: E402
from api.query.search_index import IndexBuilder, record_number  # noqa: E402
from api.registry import RECORD_TYPES  # noqa: E402
from api.store import models as m  # noqa: E402
from api.store.db import plan_each_statement  # noqa: E402
from bench.synthetic import GENERATOR_VERSION, Generator  # noqa: E402

RECORD_FIELDS = ["id", "name_ko", "name_en", "name_en_translated", "other_names", "note", "position"]
TABLES = {
    "organisations": (m.Organisation, RECORD_FIELDS + ["kind", "parent"]),
    "people": (m.Person, RECORD_FIELDS),
    "places": (m.Place, RECORD_FIELDS + ["kind", "parent"]),
    "sources": (m.Source, RECORD_FIELDS + ["publication", "subheadlines", "byline", "author", "published_on", "page_position"]),
    "programmes": (m.Programme, RECORD_FIELDS + ["kind", "parent", "eligibility", "benefits", "start_date", "end_date"]),
    "events": (m.Event, RECORD_FIELDS + ["kind", "start_date", "end_date", "place"]),
    "figures": (m.Figure, RECORD_FIELDS + ["value", "unit", "value_text", "qualifier", "period_start", "period_end", "as_of", "discrepancy"]),
}
LINK_FIELDS = {
    m.Affiliation: ["person", "organisation", "title_ko", "title_en", "position"],
    m.EventParticipant: ["event", "organisation", "person", "role", "position"],
    m.EventProgramme: ["event", "programme", "position"],
    m.ProgrammeOperator: ["programme", "organisation", "role", "position"],
    m.ProgrammePlace: ["programme", "place", "position"],
    m.FigureSubject: ["figure", "subject_type", "subject_id", "position"],
    m.FigurePart: ["whole", "part", "position"],
    m.FigureComparison: ["figure", "kind", "base", "current"],
    m.FigureCheck: ["figure", "kind", "holds", "detail"],
    m.Citation: ["record_type", "record_id", "source", "evidence", "position"],
    m.SearchEntry: ["record_type", "record_id", "field", "text", "folded", "weight", "record_no"],
}
POSTINGS_EVERY = 10  # chunks between writes of the search postings: fewer, longer posting rows
# Parents, authors and publications are inserted before what refers to them (PostgreSQL checks).
ORDER = ["organisations", "people", "places", "sources", "programmes", "events", "figures"]
CHUNK = 20000  # records generated, then written, at a time: bounded memory at any N


class Writer:
    """Rows into a model's table, with the table, columns and value conversions the model gives.

    Each value goes through the model field's own `db_value` where it changes anything
    (JSON, dates on SQLite); the rows then go in through the driver's bulk path, executemany
    on SQLite and COPY on PostgreSQL. peewee's insert_many renders every value into the SQL
    text, which is 80% of the time at 10^6 figures; this path gives the same rows ~10x faster.
    """

    def __init__(self, database, postgres):
        self.database = database
        self.postgres = postgres
        self.rows = 0
        self.statements = {}

    def _plan(self, model, names):
        key = (model, tuple(names))
        if key not in self.statements:
            fields = [model._meta.fields[name] for name in names]
            converters = []
            for k, field in enumerate(fields):
                if isinstance(field, m.JSONField):
                    converters.append((k, field.db_value))
                elif isinstance(field, DateField) and not self.postgres:
                    converters.append((k, _iso))
            columns = ", ".join(f'"{field.column_name}"' for field in fields)
            if self.postgres:
                sql = f'COPY "{model._meta.table_name}" ({columns}) FROM STDIN'
            else:
                sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({", ".join("?" for _ in fields)})'
            self.statements[key] = (sql, converters)
        return self.statements[key]

    def write(self, model, names, rows):
        if not rows:
            return
        sql, converters = self._plan(model, names)
        if converters:
            converted = []
            for row in rows:
                row = list(row)
                for k, convert in converters:
                    row[k] = convert(row[k])
                converted.append(row)
            rows = converted
        cursor = self.database.cursor()
        if self.postgres:
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(sql, rows)
        self.rows += len(rows)


def write_index(writer, builder):
    tokens, token_grams, postings = builder.flush()
    writer.write(m.SearchToken, ["id", "kind", "token"], tokens)
    writer.write(m.SearchTokenGram, ["gram", "token"], token_grams)
    writer.write(m.SearchPosting, ["token", "weight", "records"], postings)


def _iso(value):
    return None if value is None else value.isoformat()


def read_vocabulary():
    with open(ROOT / "seeds" / "vocabulary.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def dataset_version(figures, seed):
    return f"bench-n{figures}-s{seed}-g{GENERATOR_VERSION}"


def current_version(database):
    try:
        row = m.Dataset.select().order_by(m.Dataset.id.desc()).first()
    except Exception:  # noqa: BLE001 - no dataset table yet
        return None
    return row.version if row else None


def open_for_generation(url):
    """A Database for `url`, tuned for one big write (SQLite: no journal while filling)."""
    from peewee import SqliteDatabase
    from playhouse.db_url import connect

    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[1]
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(
            path, pragmas={"journal_mode": "delete", "synchronous": 0, "cache_size": -262144, "temp_store": "memory", "foreign_keys": 0}
        )
    return connect(url)


def drop_indexes(database, postgres):
    """Drop the secondary indexes (returning the SQL that makes them again): building an index
    once over the filled table is many times faster than keeping it up to date row by row."""
    if postgres:
        rows = database.execute_sql(
            """SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
               AND indexname NOT IN (SELECT conname FROM pg_constraint)"""
        ).fetchall()
    else:
        rows = database.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    for name, _ in rows:
        database.execute_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def ensure_postgres_database(url):
    """Create the PostgreSQL database named in `url` if it is missing (never drops one)."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def generate(url, figures, seed=1, force=False, log=print):
    """Fill the database at `url`; returns {"version", "rows", "seconds", "skipped"}."""
    from api.cli import migration_runner
    from api.ingest.load import now
    from api.store.db import db

    postgres = url.startswith("postgres")
    timings = {}
    if postgres:
        ensure_postgres_database(url)
    database = open_for_generation(url)
    db.initialize(database)
    version = dataset_version(figures, seed)
    started = time.perf_counter()
    with database:
        migration_runner(database).up()
        if not force and current_version(database) == version:
            if m.ListCount.select().where((m.ListCount.filter == "") & m.ListCount.csv_bytes.is_null()).exists():
                # Compiled before 0009: the counts a load writes now, written as a load would.
                with database.atomic():
                    count_lists(database)
                log(f"{url}: holds {version}; its counts brought up to date (0009)")
            if not m.ListCount.select().where(m.ListCount.filter == days.KEPT).exists():
                # Compiled before 0010: the running totals by day a load keeps now, kept as a load keeps them.
                with database.atomic():
                    days.keep(database)
                # Statistics for 0010's table and indexes (ANALYZE, unlike VACUUM, runs in this transaction).
                database.execute_sql('ANALYZE "day_count", "list_count", "figure"' if postgres else "ANALYZE")
                log(f"{url}: holds {version}; its running totals by day kept (0010)")
            kept = {query for (query,) in m.SearchGramRank.select(m.SearchGramRank.gram).tuples()}
            if kept != set(common_queries()):
                # Ranked by an earlier rule (before stop 31, only 2-character pieces): ranked again, as a load ranks them.
                with database.atomic():
                    log(f"{url}: holds {version}; {keep_rankings(database)} search rankings kept (was {len(kept)})")
            dataset = m.Dataset.select().order_by(m.Dataset.id.desc()).get()
            if not downloads_current(dataset):
                # Compiled before the load kept each collection's export: kept now, as a load keeps them.
                with database.atomic():
                    publish_exports(database, dataset, RECORD_TYPES)
                log(f"{url}: holds {version}; its collections' exports kept")
            log(f"{url}: already holds {version}; nothing to do (--force rebuilds)")
            return {"version": version, "rows": None, "seconds": 0.0, "skipped": True}
        gen = Generator(figures, seed, read_vocabulary())
        writer = Writer(database, postgres)
        with database.atomic():
            plan_each_statement(database)
            for model in reversed(m.ALL_MODELS):
                model.delete().execute()
            indexes = drop_indexes(database, postgres)
            vocabulary = gen.vocabulary
            writer.write(
                m.Unit,
                ["code", "label_ko", "label_en", "note", "position"],
                [(u["code"], u["ko"], u["en"], u.get("note"), k) for k, u in enumerate(vocabulary["units"])],
            )
            writer.write(
                m.Term,
                ["scheme", "code", "label_ko", "label_en", "position"],
                [(scheme, t["code"], t["ko"], t["en"], k) for scheme, terms in vocabulary["terms"].items() for k, t in enumerate(terms)],
            )
            written, held_citations = set(), []
            builder = IndexBuilder()
            for record_type in ORDER:
                model, names = TABLES[record_type]
                total = gen.counts[record_type]
                singular = m.RECORD_TYPES[record_type]
                # Search ranks records of equal score by id: their numbers follow the sorted ids.
                ids = sorted(range(total), key=lambda i, t=record_type: gen.id_of(t, i))
                number = [0] * total
                for rank, i in enumerate(ids):
                    number[i] = record_number(singular, rank)
                del ids
                for chunk_start in range(0, total, CHUNK):
                    records, links, cites, search = [], {}, [], []
                    for i in range(chunk_start, min(total, chunk_start + CHUNK)):
                        record, record_links, record_cites, texts = gen.record_rows(record_type, i)
                        records.append(record)
                        for link_model, rows in record_links.items():
                            links.setdefault(link_model, []).extend(rows)
                        cites.extend(record_cites)
                        entries = [(singular, record[0], field, text, fold(text), FIELD_WEIGHTS[field], number[i]) for field, text in texts]
                        search.extend(entries)
                        builder.add(number[i], [(e[5], e[4]) for e in entries])
                    writer.write(model, names, records)
                    for link_model, rows in links.items():
                        writer.write(link_model, LINK_FIELDS[link_model], rows)
                    if "sources" in written:
                        writer.write(m.Citation, LINK_FIELDS[m.Citation], cites)
                    else:  # citations name a source: held until the sources are in
                        held_citations.extend(cites)
                    writer.write(m.SearchEntry, LINK_FIELDS[m.SearchEntry], search)
                    if chunk_start // CHUNK % POSTINGS_EVERY == POSTINGS_EVERY - 1:
                        write_index(writer, builder)
                write_index(writer, builder)
                written.add(record_type)
                if record_type == "sources":
                    writer.write(m.Citation, LINK_FIELDS[m.Citation], held_citations)
                log(f"  {record_type}: {total} ({time.perf_counter() - started:.0f}s, {writer.rows} rows so far)")
            dataset = m.Dataset.create(version=version, loaded_at=now())
            log(f"  indexes ({time.perf_counter() - started:.0f}s)")
            for sql in indexes:
                database.execute_sql(sql)
            # The common queries ranked, as `civicfacts load` ranks them (after the indexes: the
            # pieces and words are found through theirs).
            log(f"  search rankings ({time.perf_counter() - started:.0f}s)")
            log(f"  {keep_rankings(database)} kept ({time.perf_counter() - started:.0f}s)")
            # What the API serves, compiled from the rows as `civicfacts load` compiles it.
            log(f"  compile ({time.perf_counter() - started:.0f}s)")
            compile_all(database, dataset, RECORD_TYPES)
            timings["compile"] = time.perf_counter() - started
        if not postgres:
            log(f"  analyze ({time.perf_counter() - started:.0f}s)")
            database.execute_sql("ANALYZE")
    if postgres:
        import psycopg

        log(f"  vacuum analyze ({time.perf_counter() - started:.0f}s)")
        # Outside any transaction (VACUUM refuses one); index-only scans need its visibility map.
        # The dataset's tables by name: a bare VACUUM takes in the shared catalogs, and waits for
        # any load that holds them in another database.
        tables = ", ".join(f'"{model._meta.table_name}"' for model in m.ALL_MODELS)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"VACUUM ANALYZE {tables}")
    seconds = time.perf_counter() - started
    log(f"{url}: {version}, {writer.rows} rows in {seconds:.0f}s")
    return {
        "version": version,
        "rows": writer.rows,
        "seconds": seconds,
        "skipped": False,
        "counts": gen.counts,
        "compiled_at": timings.get("compile"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="sqlite:///path.db or postgresql://user@host:port/name")
    parser.add_argument("--figures", type=int, required=True, help="how many figures (10^3 .. 10^6)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="rebuild even if the database holds this dataset")
    args = parser.parse_args(argv)
    generate(args.database, args.figures, args.seed, args.force)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
