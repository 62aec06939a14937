"""The migrations in migrations/ build exactly the schema api.store.models declares, on both backends.

The migrated database is compared with a second one made straight from the models
(`create_tables(ALL_MODELS)`): tables, columns (type, nullability, default), indexes and
constraints must be the same.
"""

import pathlib
import re
import sqlite3

from click.testing import CliRunner
from playhouse.schema_diff import diff_models

from api.cli import main
from api.store import models as m
from api.store.db import open_database

MINIMAL = pathlib.Path(__file__).resolve().parent / "seed_faults" / "minimal"
MODEL_TABLES = {model._meta.table_name for model in m.ALL_MODELS}
HISTORY_TABLE = "schema_migration"  # where playhouse.migrations records what ran


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def squash(sql):
    return re.sub(r"\s+", " ", sql or "").strip()


INLINE_FOREIGN_KEY = re.compile(r'("\w+" [A-Z]+(?:\(\d+\))?) (REFERENCES "\w+" \("\w+"\)(?: ON DELETE [A-Z]+(?: [A-Z]+)?)?)(?=, |\)$)')


def table_level_foreign_keys(sql):
    """CREATE TABLE with each inline foreign key (`"x_id" VARCHAR(255) REFERENCES ...`, what
    SQLite's ALTER TABLE ADD COLUMN writes) moved to the end as `FOREIGN KEY ("x_id") ...`,
    where CREATE TABLE puts it: the same constraint, spelt as the models spell it."""
    moved = []

    def inline(match):
        column = match[1].split(" ", 1)[0]
        moved.append(f"FOREIGN KEY ({column}) {match[2]}")
        return match[1]

    sql = INLINE_FOREIGN_KEY.sub(inline, sql)
    return sql[:-1] + "".join(f", {m}" for m in moved) + ")" if moved else sql


# SQLite ------------------------------------------------------------------------------------


def sqlite_schema(path):
    """Each table's columns, indexes, foreign keys and SQL, as SQLite reports them."""
    connection = sqlite3.connect(path)
    try:
        master = connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
        schema = {}
        for kind, name, table, sql in master:
            if kind == "index":
                columns = [r[2] for r in connection.execute(f'PRAGMA index_info("{name}")')]
                schema[("index", name)] = (table, columns, squash(sql))
                continue
            schema[("table", name)] = {
                "sql": table_level_foreign_keys(squash(sql)),
                "columns": connection.execute(f'PRAGMA table_info("{name}")').fetchall(),
                "indexes": sorted(
                    (r[1], r[2], r[3], r[4], [c[2] for c in connection.execute(f'PRAGMA index_info("{r[1]}")')])
                    for r in connection.execute(f'PRAGMA index_list("{name}")')
                ),
                "foreign_keys": sorted(r[2:] for r in connection.execute(f'PRAGMA foreign_key_list("{name}")')),
            }
        return schema
    finally:
        connection.close()


def sqlite_from_models(path):
    database = open_database(f"sqlite:///{path}")
    with database, database.bind_ctx(m.ALL_MODELS):
        database.create_tables(m.ALL_MODELS, safe=False)
    database.close()
    return sqlite_schema(path)


# PostgreSQL --------------------------------------------------------------------------------

FROM_MODELS = "from_models"  # the schema the comparison copy is made in


def postgres_schema(url, schema):
    """Each table's columns, indexes and constraints in `schema`, with the schema name taken
    out of the definitions so that two schemas compare."""
    import psycopg

    def plain(text):
        return None if text is None else re.sub(rf'\b"?{schema}"?\.', "", text)

    with psycopg.connect(url) as connection:
        columns = connection.execute(
            # A column's place among the table's columns, not its attnum: a dropped column leaves a
            # gap in attnum (migration 0003 dropped dataset.seeds_dir), which no order of columns shows.
            """SELECT table_name, rank() OVER (PARTITION BY table_name ORDER BY ordinal_position), column_name, data_type,
                      is_nullable, column_default, character_maximum_length, numeric_precision, numeric_scale
               FROM information_schema.columns WHERE table_schema = %s""",
            (schema,),
        ).fetchall()
        indexes = connection.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (schema,)).fetchall()
        constraints = connection.execute(
            """SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
               FROM pg_constraint con
               JOIN pg_class c ON c.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = %s""",
            (schema,),
        ).fetchall()
    tables = {}
    for table, position, *column in columns:
        column[3] = plain(column[3])
        tables.setdefault(table, {"columns": [], "indexes": [], "constraints": []})["columns"].append((position, *column))
    for table, name, definition in indexes:
        tables[table]["indexes"].append((name, plain(definition)))
    for table, name, kind, definition in constraints:
        tables[table]["constraints"].append((name, kind, plain(definition)))
    return {table: {k: sorted(v) for k, v in parts.items()} for table, parts in tables.items()}


def postgres_from_models(url):
    database = open_database(url)
    with database:
        database.execute_sql(f'DROP SCHEMA IF EXISTS "{FROM_MODELS}" CASCADE')
        database.execute_sql(f'CREATE SCHEMA "{FROM_MODELS}"')
        database.execute_sql(f'SET search_path TO "{FROM_MODELS}"')
        with database.bind_ctx(m.ALL_MODELS):
            database.create_tables(m.ALL_MODELS, safe=False)
    database.close()
    try:
        return postgres_schema(url, FROM_MODELS)
    finally:
        database = open_database(url)
        with database:
            database.execute_sql(f'DROP SCHEMA "{FROM_MODELS}" CASCADE')
        database.close()


# Tests -------------------------------------------------------------------------------------


def differences(migrated, expected):
    """What the migrated schema has that the models' does not, and the other way round."""
    found = []
    for key in sorted(set(migrated) | set(expected), key=str):
        if key not in expected:
            found.append(f"only migrated: {key}")
        elif key not in migrated:
            found.append(f"only in the models: {key}")
        elif isinstance(expected[key], dict):
            for part, want in expected[key].items():
                have = migrated[key][part]
                if have != want and isinstance(want, list) and set(map(str, have)) != set(map(str, want)):
                    found.append(
                        f"{key} {part}: only migrated {sorted(set(map(str, have)) - set(map(str, want)))}"
                        f", only in the models {sorted(set(map(str, want)) - set(map(str, have)))}"
                    )
                elif have != want:
                    found.append(f"{key} {part}: migrated {have} but models {want}")
        elif migrated[key] != expected[key]:
            found.append(f"{key}: migrated {migrated[key]} but models {expected[key]}")
    return found


def test_migrating_an_empty_database_gives_exactly_the_models_schema(database_url, tmp_path):
    result = cli("migrate", "--database", database_url)
    assert result.exit_code == 0, result.output
    assert "applied: 0001_initial" in result.output

    if database_url.startswith("sqlite"):
        migrated = sqlite_schema(database_url.removeprefix("sqlite:///"))
        expected = sqlite_from_models(tmp_path / "from_models.db")
        assert {name for kind, name in expected if kind == "table"} == MODEL_TABLES
        history = {key for key, value in migrated.items() if key == ("table", HISTORY_TABLE) or (key[0] == "index" and value[0] == HISTORY_TABLE)}
        assert ("table", HISTORY_TABLE) in history
        migrated = {key: value for key, value in migrated.items() if key not in history}
    else:
        migrated = postgres_schema(database_url, "public")
        expected = postgres_from_models(database_url)
        assert set(expected) == MODEL_TABLES
        assert HISTORY_TABLE in migrated
        del migrated[HISTORY_TABLE]
    found = differences(migrated, expected)
    assert not found, "the migrated schema differs from the models:\n" + "\n".join(found)


def test_the_schema_diff_is_empty_after_migrating(migrated):
    database = open_database(migrated)
    with database:
        diff = diff_models(database, m.ALL_MODELS)
    assert not diff, str(diff)


def test_the_schema_diff_sees_a_missing_migration(database_url):
    # the check above means something: an unmigrated database differs from the models
    database = open_database(database_url)
    with database:
        diff = diff_models(database, m.ALL_MODELS)
    assert {model._meta.table_name for model in diff.create_tables} == MODEL_TABLES


def test_migrating_again_changes_nothing(migrated):
    result = cli("migrate", "--database", migrated)
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_load_refuses_an_unmigrated_database(database_url):
    result = cli("load", "--database", database_url, MINIMAL)
    assert result.exit_code == 1
    assert "run `civicfacts migrate`" in result.stderr
    # A SQLite file that is not there is not made (tests/test_mistakes.py); a database that is
    # there is told which migrations it lacks.
    assert ("there is no database at" if database_url.startswith("sqlite") else "0001_initial") in result.stderr
    assert "loaded dataset" not in result.stdout
    database = open_database(database_url)
    with database:
        assert not set(database.get_tables()) & MODEL_TABLES
