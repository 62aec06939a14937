"""The ranking of each common 2-character query, kept at load (api.query.search.Kept): a query
like 김장 is inside hundreds of words at 10^6 figures, and merging their postings per request
made its cost grow with the table. Empty until `civicfacts load` runs again; till then such a
query is ranked per request, as before. The table is what `create_tables` makes of the model
(tests/test_migrations.py)."""

from peewee import *


def up(migrator, db):
    class SearchGramRank(Model):
        gram = CharField(unique=True)
        records = BlobField()
        scores = BlobField()
        totals = TextField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "search_gram_rank"

    db.create_tables([SearchGramRank])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "search_gram_rank"')
