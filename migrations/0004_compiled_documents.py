"""Records compiled at load (document), exact totals counted at load (list_count), and the
whole-dataset downloads built at load and kept in the database (download, download_chunk).

All four are derived from the records by `civicfacts load`: after migrating, run it."""

from peewee import *


def up(migrator, db):
    class Document(Model):
        record_type = CharField()
        record_id = CharField()
        record_no = IntegerField(unique=True)
        body = BlobField()
        jsonld = BlobField()
        csv = BlobField()
        hash = CharField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "document"
            primary_key = CompositeKey("record_type", "record_id")

    class ListCount(Model):
        collection = CharField()
        filter = CharField()
        value = TextField()
        total = IntegerField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "list_count"
            primary_key = CompositeKey("collection", "filter", "value")

    class Download(Model):
        kind = CharField(primary_key=True)
        size = BigIntegerField()
        sha256 = CharField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "download"

    class DownloadChunk(Model):
        kind = CharField()
        number = IntegerField()
        data = BlobField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "download_chunk"
            primary_key = CompositeKey("kind", "number")

    db.create_tables([Document, ListCount, Download, DownloadChunk])


def down(migrator, db):
    for table in ("download_chunk", "download", "list_count", "document"):
        migrator.migrate(migrator.drop_table(table))
