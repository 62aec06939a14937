"""Every load that changes anything is a version, kept: dataset gets the seeds' hash, the
compiler's format, the counts and how many records the load changed (its version is unique);
record_change holds what each version changed of each record; a document keeps the hash of
what the seeds say of its record; a download names the version it was built for."""

from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("dataset", "seeds_hash", CharField(null=True)),
        migrator.add_column("dataset", "format", IntegerField(default=0)),
        migrator.add_column("dataset", "counts", TextField(null=True)),
        migrator.add_column("dataset", "added", IntegerField(default=0)),
        migrator.add_column("dataset", "changed", IntegerField(default=0)),
        migrator.add_column("dataset", "removed", IntegerField(default=0)),
        migrator.add_index("dataset", ("version",), True),
        migrator.add_column("document", "seed_hash", CharField(null=True)),
        # A load that numbers the records afresh rewrites them one by one: no unique index to trip.
        migrator.drop_index("document", "document_record_no"),
        migrator.add_index("document", ("record_no",), False),
        migrator.add_column("download", "dataset", IntegerField(null=True)),
    )

    class Dataset(Model):
        class Meta:
            database = db
            legacy_table_names = False
            table_name = "dataset"

    class RecordChange(Model):
        dataset = ForeignKeyField(Dataset, backref="changes", on_delete="CASCADE")
        record_type = CharField()
        record_id = CharField()
        kind = CharField()
        detail = BlobField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "record_change"
            indexes = ((("record_type", "record_id", "dataset"), False), (("kind", "dataset"), False))

    db.create_tables([RecordChange])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("record_change"))
    migrator.migrate(
        migrator.drop_column("download", "dataset"),
        migrator.drop_index("document", "document_record_no"),
        migrator.add_index("document", ("record_no",), True),
        migrator.drop_column("document", "seed_hash"),
        migrator.drop_index("dataset", "dataset_version"),
        migrator.drop_column("dataset", "removed"),
        migrator.drop_column("dataset", "changed"),
        migrator.drop_column("dataset", "added"),
        migrator.drop_column("dataset", "counts"),
        migrator.drop_column("dataset", "format"),
        migrator.drop_column("dataset", "seeds_hash"),
    )
