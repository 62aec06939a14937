"""A record's fields that have no column of their own (`extra`, JSON): shown in its documents,
never filtered or sorted on. Empty until `civicfacts load` runs."""

from peewee import *

RECORD_TABLES = ("source", "organisation", "person", "place", "event", "programme", "figure")


def up(migrator, db):
    for table in RECORD_TABLES:
        migrator.migrate(migrator.add_column(table, "extra", TextField(null=True)))


def down(migrator, db):
    for table in RECORD_TABLES:
        migrator.migrate(migrator.drop_column(table, "extra"))
