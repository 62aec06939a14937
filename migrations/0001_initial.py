# Generated from a schema diff on 2026-11-25 11:29.
from peewee import *


def up(migrator, db):
    class Person(Model):
        id = CharField(primary_key=True)
        name_ko = TextField()
        name_en = TextField()
        name_en_translated = BooleanField(default=False)
        other_names = TextField()
        note = TextField(null=True)
        position = IntegerField(index=True, default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "person"

    db.create_tables([Person])

    class Organisation(Model):
        id = CharField(primary_key=True)
        name_ko = TextField()
        name_en = TextField()
        name_en_translated = BooleanField(default=False)
        other_names = TextField()
        note = TextField(null=True)
        position = IntegerField(index=True, default=0)
        kind = CharField(index=True)
        parent = ForeignKeyField("self", null=True, on_delete="SET NULL")

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "organisation"

    db.create_tables([Organisation])

    class Affiliation(Model):
        person = ForeignKeyField(Person, on_delete="CASCADE")
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        title_ko = TextField(null=True)
        title_en = TextField(null=True)
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "affiliation"

    db.create_tables([Affiliation])

    class Source(Model):
        id = CharField(primary_key=True)
        name_ko = TextField()
        name_en = TextField()
        name_en_translated = BooleanField(default=False)
        other_names = TextField()
        note = TextField(null=True)
        position = IntegerField(index=True, default=0)
        publication = ForeignKeyField(Organisation)
        subheadlines = TextField()
        byline = TextField(null=True)
        author = ForeignKeyField(Person, null=True)
        published_on = DateField(index=True, null=True)
        page_position = IntegerField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "source"

    db.create_tables([Source])

    class Citation(Model):
        record_type = CharField()
        record_id = CharField()
        source = ForeignKeyField(Source, on_delete="CASCADE")
        evidence = TextField()
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "citation"
            indexes = ((("record_type", "record_id", "position"), False),)

    db.create_tables([Citation])

    class Dataset(Model):
        version = CharField()
        loaded_at = DateTimeField()
        seeds_dir = TextField(null=True)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "dataset"

    db.create_tables([Dataset])

    class Place(Model):
        id = CharField(primary_key=True)
        name_ko = TextField()
        name_en = TextField()
        name_en_translated = BooleanField(default=False)
        other_names = TextField()
        note = TextField(null=True)
        position = IntegerField(index=True, default=0)
        kind = CharField(index=True)
        parent = ForeignKeyField("self", null=True, on_delete="SET NULL")

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "place"

    db.create_tables([Place])

    class Event(Model):
        id = CharField(primary_key=True)
        name_ko = TextField()
        name_en = TextField()
        name_en_translated = BooleanField(default=False)
        other_names = TextField()
        note = TextField(null=True)
        position = IntegerField(index=True, default=0)
        kind = CharField(index=True)
        start_date = DateField(index=True, null=True)
        end_date = DateField(index=True, null=True)
        place = ForeignKeyField(Place, null=True)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "event"

    db.create_tables([Event])

    class EventParticipant(Model):
        event = ForeignKeyField(Event, on_delete="CASCADE")
        organisation = ForeignKeyField(Organisation, null=True, on_delete="CASCADE")
        person = ForeignKeyField(Person, null=True, on_delete="CASCADE")
        role = CharField(index=True)
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "event_participant"

    db.create_tables([EventParticipant])

    class Programme(Model):
        id = CharField(primary_key=True)
        name_ko = TextField()
        name_en = TextField()
        name_en_translated = BooleanField(default=False)
        other_names = TextField()
        note = TextField(null=True)
        position = IntegerField(index=True, default=0)
        kind = CharField(index=True)
        parent = ForeignKeyField("self", null=True, on_delete="CASCADE")
        eligibility = TextField(null=True)
        benefits = TextField()
        start_date = DateField(index=True, null=True)
        end_date = DateField(index=True, null=True)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "programme"

    db.create_tables([Programme])

    class EventProgramme(Model):
        event = ForeignKeyField(Event, on_delete="CASCADE")
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "event_programme"

    db.create_tables([EventProgramme])

    class Unit(Model):
        code = CharField(primary_key=True)
        label_ko = TextField()
        label_en = TextField()
        note = TextField(null=True)
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "unit"

    db.create_tables([Unit])

    class Figure(Model):
        id = CharField(primary_key=True)
        name_ko = TextField()
        name_en = TextField()
        name_en_translated = BooleanField(default=False)
        other_names = TextField()
        note = TextField(null=True)
        position = IntegerField(index=True, default=0)
        value = DecimalField(index=True, null=True, max_digits=30, decimal_places=6)
        unit = ForeignKeyField(Unit, null=True)
        value_text = TextField()
        qualifier = CharField(index=True)
        period_start = DateField(index=True, null=True)
        period_end = DateField(index=True, null=True)
        as_of = DateField(null=True)
        discrepancy = TextField(null=True)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "figure"

    db.create_tables([Figure])

    class FigureCheck(Model):
        figure = ForeignKeyField(Figure, on_delete="CASCADE")
        kind = CharField()
        holds = BooleanField()
        detail = TextField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "figure_check"

    db.create_tables([FigureCheck])

    class FigureComparison(Model):
        figure = ForeignKeyField(Figure, on_delete="CASCADE")
        kind = CharField()
        base = ForeignKeyField(Figure, on_delete="CASCADE")
        current = ForeignKeyField(Figure, on_delete="CASCADE")

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "figure_comparison"

    db.create_tables([FigureComparison])

    class FigurePart(Model):
        whole = ForeignKeyField(Figure, on_delete="CASCADE")
        part = ForeignKeyField(Figure, on_delete="CASCADE")
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "figure_part"

    db.create_tables([FigurePart])

    class FigureSubject(Model):
        figure = ForeignKeyField(Figure, on_delete="CASCADE")
        subject_type = CharField()
        subject_id = CharField(index=True)
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "figure_subject"

    db.create_tables([FigureSubject])

    class ProgrammeOperator(Model):
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        organisation = ForeignKeyField(Organisation, on_delete="CASCADE")
        role = CharField(index=True)
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "programme_operator"

    db.create_tables([ProgrammeOperator])

    class ProgrammePlace(Model):
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        place = ForeignKeyField(Place, on_delete="CASCADE")
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "programme_place"

    db.create_tables([ProgrammePlace])

    class SearchEntry(Model):
        record_type = CharField()
        record_id = CharField()
        field = CharField()
        text = TextField()
        folded = TextField()
        weight = IntegerField()

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "search_entry"
            indexes = ((("record_type", "record_id"), False),)

    db.create_tables([SearchEntry])

    class Term(Model):
        scheme = CharField()
        code = CharField()
        label_ko = TextField()
        label_en = TextField()
        position = IntegerField(default=0)

        class Meta:
            database = db
            legacy_table_names = False
            table_name = "term"
            primary_key = CompositeKey("scheme", "code")

    db.create_tables([Term])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("term"))
    migrator.migrate(migrator.drop_table("search_entry"))
    migrator.migrate(migrator.drop_table("programme_place"))
    migrator.migrate(migrator.drop_table("programme_operator"))
    migrator.migrate(migrator.drop_table("figure_subject"))
    migrator.migrate(migrator.drop_table("figure_part"))
    migrator.migrate(migrator.drop_table("figure_comparison"))
    migrator.migrate(migrator.drop_table("figure_check"))
    migrator.migrate(migrator.drop_table("figure"))
    migrator.migrate(migrator.drop_table("unit"))
    migrator.migrate(migrator.drop_table("event_programme"))
    migrator.migrate(migrator.drop_table("programme"))
    migrator.migrate(migrator.drop_table("event_participant"))
    migrator.migrate(migrator.drop_table("event"))
    migrator.migrate(migrator.drop_table("place"))
    migrator.migrate(migrator.drop_table("dataset"))
    migrator.migrate(migrator.drop_table("citation"))
    migrator.migrate(migrator.drop_table("source"))
    migrator.migrate(migrator.drop_table("affiliation"))
    migrator.migrate(migrator.drop_table("organisation"))
    migrator.migrate(migrator.drop_table("person"))
