"""The from/to filter of figures and events reads indexes on the days each record covers
(api/store/models.py: FIGURE_FIRST_DAY, FIGURE_LAST_DAY, EVENT_LAST_DAY) instead of testing
every row: indexes on expressions, which SQLite and PostgreSQL both keep and both use when a
query repeats the expression; the page's keys and the columns the expressions read are in them
too, so that the page's ids and a count come from the index alone. Written by hand: pwmigrate's add_index takes column names only.
The statements are those `create_tables` issues for the models, so a migrated database and a
created one are the same (tests/test_migrations.py)."""

FIGURE_DAYS = 'COALESCE("period_end", "period_start", "as_of"), COALESCE("period_start", "period_end", "as_of")'
INDEXES = {
    "figure_unit_days": f'ON "figure" ("unit_id", {FIGURE_DAYS}, "position", "id", "period_start", "period_end", "as_of")',
    "figure_days": f'ON "figure" ({FIGURE_DAYS}, "position", "id", "period_start", "period_end", "as_of")',
    "event_days": 'ON "event" (COALESCE("end_date", "start_date"), "start_date", "position", "id", "end_date")',
}


def up(migrator, db):
    for name, target in INDEXES.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" {target}')


def down(migrator, db):
    for name in INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
