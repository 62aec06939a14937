"""An index for every sort key, figures by unit in page order, and the word index behind search.

search_entry is made anew rather than altered: its rows are derived from the seeds (each
load replaces them), so after migrating run `civicfacts load` to fill it and the new index.
"""

from peewee import *

RECORD_TABLES = ("source", "organisation", "person", "place", "event", "programme", "figure")


def up(migrator, db):
    for table in RECORD_TABLES:
        migrator.migrate(migrator.add_index(table, ("name_ko",)), migrator.add_index(table, ("name_en",)))
    migrator.migrate(migrator.add_index("figure", ("as_of",)), migrator.add_index("figure", ("unit_id", "position")))

    migrator.migrate(migrator.drop_table("search_entry"))

    class SearchEntry(Model):
        record_type = CharField()
        record_id = CharField()
        field = CharField()
        text = TextField()
        folded = TextField()
        weight = IntegerField()
        record_no = IntegerField(index=True)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "search_entry"
            indexes = ((("record_type", "record_id"), False),)

    db.create_tables([SearchEntry])

    class SearchToken(Model):
        kind = IntegerField()
        token = TextField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "search_token"
            indexes = ((("kind", "token"), True),)

    db.create_tables([SearchToken])

    class SearchTokenGram(Model):
        gram = CharField()
        token = IntegerField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "search_token_gram"
            indexes = ((("gram", "token"), False),)

    db.create_tables([SearchTokenGram])

    class SearchPosting(Model):
        token = IntegerField()
        weight = IntegerField()
        records = BlobField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "search_posting"
            indexes = ((("token", "weight"), False),)

    db.create_tables([SearchPosting])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("search_posting"))
    migrator.migrate(migrator.drop_table("search_token_gram"))
    migrator.migrate(migrator.drop_table("search_token"))
    migrator.migrate(migrator.drop_index("search_entry", "search_entry_record_no"))
    migrator.migrate(migrator.drop_column("search_entry", "record_no"))
    migrator.migrate(migrator.drop_index("figure", "figure_unit_id_position"), migrator.drop_index("figure", "figure_as_of"))
    for table in RECORD_TABLES:
        migrator.migrate(migrator.drop_index(table, f"{table}_name_en"), migrator.drop_index(table, f"{table}_name_ko"))
