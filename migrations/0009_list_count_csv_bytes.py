"""A whole collection's count keeps the bytes of its CSV lines too, so that its full export
states its Content-Length without summing every document first. Null until `civicfacts load`
runs again; till then the export sums them, as before."""

from peewee import *


def up(migrator, db):
    migrator.migrate(migrator.add_column("list_count", "csv_bytes", BigIntegerField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("list_count", "csv_bytes"))
