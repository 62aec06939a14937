"""dataset.seeds_dir was never written (always NULL): dropped."""

from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.drop_column("dataset", "seeds_dir"))


def down(migrator, db):
    migrator.migrate(migrator.add_column("dataset", "seeds_dir", TextField(null=True)))
