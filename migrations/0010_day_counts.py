"""A date range's total and first page without reading every figure that ends after `from`
(api/query/days.py): running totals by day kept at load (day_count), and the figures'
days indexed in page order too, so that a page of a range many figures overlap is walked in
the order it is served and stops after one page. Written by hand, as 0008 is: pwmigrate's
add_index takes column names only. The statements are those `create_tables` issues for the
models (tests/test_migrations.py).

day_count is derived from the records by `civicfacts load`: until it runs again, a date range
is counted under the budget, as before."""

from peewee import *

FIGURE_DAYS = 'COALESCE("period_end", "period_start", "as_of"), COALESCE("period_start", "period_end", "as_of")'
FIGURE_ORDER = f'"position", "id", {FIGURE_DAYS}, "period_start", "period_end", "as_of"'
INDEXES = {
    "figure_unit_order_days": f'ON "figure" ("unit_id", {FIGURE_ORDER})',
    "figure_order_days": f'ON "figure" ({FIGURE_ORDER})',
}


def up(migrator, db):
    class DayCount(Model):
        collection = CharField()
        filter = CharField()
        value = TextField()
        day = DateField()
        first_upto = IntegerField()
        last_upto = IntegerField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "day_count"
            primary_key = CompositeKey("collection", "filter", "value", "day")

    db.create_tables([DayCount])
    for name, target in INDEXES.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" {target}')


def down(migrator, db):
    for name in INDEXES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    db.execute_sql('DROP TABLE IF EXISTS "day_count"')
