"""The `civicfacts` command: migrate, check, load, run and serve.

A mistake its user can make (api/mistakes.py) ends in one line on stderr and exit status 1,
not a traceback; `--debug` on any command, or CIVICFACTS_DEBUG=1, shows the traceback.
"""

import pathlib
import sys

import click

from api import config
from api.mistakes import EXPLAINED, Refusal, explain
from api.progress import Progress
from api.serve import SERVERS

MIGRATIONS_DIR = pathlib.Path(__file__).resolve().parent.parent / "migrations"
DEBUG = "civicfacts.debug"


def _remember_debug(ctx, param, value):
    if value:
        ctx.meta[DEBUG] = True


def debug_option():
    return click.Option(["--debug"], is_flag=True, expose_value=False, callback=_remember_debug, help="Show the traceback of an error")


class Civicfacts(click.Group):
    """The command group: every command takes --debug, and a mistake is explained, not traced."""

    def add_command(self, cmd, name=None):
        cmd.params.append(debug_option())
        super().add_command(cmd, name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EXPLAINED as exc:
            message = explain(exc)
            if message is None or ctx.meta.get(DEBUG) or config.debug_requested():
                raise
            click.echo(f"civicfacts: {message}", err=True)
            ctx.exit(1)


def database_option(command):
    return click.option(
        "--database",
        "database_url",
        default=None,
        metavar="URL",
        help="sqlite:///path.db or postgresql://user@host:port/name (default: $DATABASE_URL, else sqlite:///civicfacts.db)",
    )(command)


def chosen_url(database_url):
    return database_url or config.from_environment()["DATABASE_URL"]


def open_bound(url, create=False):
    """The database at `url`, bound and connected; a PostgreSQL database that does not exist
    yet is created when `create` is set (by migrate: the first step of a new setup)."""
    from peewee import InterfaceError, OperationalError

    from api.store.db import bind
    from api.store.readiness import connection_problem, create_postgres_database, is_missing_postgres_database

    database = bind(url)
    try:
        database.connect()
    except (OperationalError, InterfaceError) as exc:
        if not (create and is_missing_postgres_database(exc)):
            raise Refusal(connection_problem(exc, url)) from exc
        create_postgres_database(url)
        click.echo(f"created the PostgreSQL database {database.database}")
        database.connect()
    return database


def migration_runner(database):
    from playhouse.migrations import Runner

    return Runner(database, directory=str(MIGRATIONS_DIR))


def pending_migrations(database):
    return [m.name for m in migration_runner(database).status() if not m.applied]


@click.group(cls=Civicfacts, params=[debug_option()])
def main():
    """civicfacts: curated civic facts from Korean local news, served as a JSON API."""


@main.command()
@database_option
def migrate(database_url):
    """Apply the migrations in migrations/ that the database lacks (on PostgreSQL, creating the
    database first if the server has none of that name)."""
    from api.store.urls import described

    url = chosen_url(database_url)
    database = open_bound(url, create=True)
    with database:
        applied = migration_runner(database).up()
    click.echo(f"{described(url)}: " + (f"applied: {', '.join(applied)}" if applied else "the database is up to date"))


def read_or_exit(seeds_dir):
    from api.ingest.read import SeedError, read_seeds

    try:
        seeds = read_seeds(seeds_dir)
    except SeedError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        for waiting in exc.waiting:
            click.echo(f"not checked yet: {waiting}", err=True)
        click.echo(f"{len(exc.problems)} problem(s); nothing was loaded", err=True)
        sys.exit(1)
    return seeds


SEEDS_HELP = "SEEDS_DIR is the folder of seed files (default: ./seeds, in the folder the command runs from)."


def seeds_folder(seeds_dir):
    """SEEDS_DIR, refused in one line if it holds no seed files (run from another folder, the
    default ./seeds is not the repository's)."""
    path = pathlib.Path(seeds_dir)
    if not path.is_dir() or not any(path.glob("*.yaml")):
        where = "does not exist" if not path.exists() else "holds no .yaml seed files"
        raise Refusal(f"{path.resolve()} {where}: run the command from the repository's folder, or name the folder (`civicfacts load path/to/seeds`)")
    return seeds_dir


@main.command(epilog=SEEDS_HELP)
@click.argument("seeds_dir", default="seeds", type=click.Path(file_okay=False))
def check(seeds_dir):
    """Validate SEEDS_DIR without touching a database."""
    seeds = read_or_exit(seeds_folder(seeds_dir))
    counts = {}
    for entry in seeds.entries.values():
        counts[entry.section] = counts.get(entry.section, 0) + 1
    summary = ", ".join(f"{n} {section}" for section, n in counts.items())
    click.echo(f"seeds are valid (version {seeds.version}): {summary}")


@main.command(epilog=SEEDS_HELP)
@database_option
@click.argument("seeds_dir", default="seeds", type=click.Path(file_okay=False))
def load(database_url, seeds_dir):
    """Validate SEEDS_DIR and load it into the database as a new version, all or nothing."""
    from peewee import InterfaceError, OperationalError

    from api.ingest.load import LoadBusy
    from api.ingest.load import load as load_seeds
    from api.store.urls import check_url, is_sqlite_url, sqlite_file

    url = chosen_url(database_url)
    check_url(url)
    progress = Progress()
    progress("validating the seeds", None)
    try:
        seeds = read_or_exit(seeds_folder(seeds_dir))
    finally:
        progress.finish()
    path = sqlite_file(url) if is_sqlite_url(url) else None
    if path is not None and not path.exists():
        raise Refusal(f"there is no database at {path.resolve()} yet: run `civicfacts migrate` first")
    try:
        database = open_bound(url)
    except Refusal as exc:  # the database cannot be reached (a primary stopped): say the load did nothing
        raise Refusal(f"{exc}; nothing was loaded") from exc
    # A connection, not `with database:` (a transaction): the load makes its own, and on
    # SQLite it must begin IMMEDIATE, which a transaction already open would make a savepoint.
    with database.connection_context():
        pending = pending_migrations(database)
        if pending:
            raise Refusal(f"the database lacks migrations {', '.join(pending)}: run `civicfacts migrate`")
        try:
            dataset = load_seeds(seeds, database, progress=progress)
        except LoadBusy as exc:
            raise Refusal(str(exc)) from exc
        except (OperationalError, InterfaceError) as exc:
            # The database is down, or went away during the load (a primary stopped): the load is
            # one transaction, so nothing of it was kept. Say so in a line, not a traceback.
            reason = " ".join(str(exc).split())
            raise Refusal(f"the database failed ({reason}); nothing was loaded") from exc
        finally:
            progress.finish()
    click.echo(f"loaded dataset {dataset.version} ({len(seeds.entries)} records)")


@main.command("new-source")
@click.argument("page", type=click.Path(dir_okay=False))
@click.option("--seeds", "seeds_dir", default="seeds", show_default=True, type=click.Path(file_okay=False), help="The seed folder")
@click.option("--id", "source_id", default=None, help="The new source's id (default: from the file name)")
@click.option("--publication", default=None, metavar="ID", help="The id of the organisation that published it")
def new_source(page, seeds_dir, source_id, publication):
    """Add PAGE (a UTF-8 text file) to SEEDS/pages/ and write a seed file for it."""
    from api.ingest.curate import CurateError
    from api.ingest.curate import new_source as add

    try:
        added = add(page, seeds_dir, source_id, publication)
    except CurateError as exc:
        click.echo(f"civicfacts new-source: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{'added' if added.copied else 'kept'} {added.page}; wrote {added.seed} (source {added.source_id}: {added.headline})")
    click.echo(f"next: fill it in; `civicfacts check {seeds_dir}` lists what is missing, `civicfacts quote {added.source_id} WORDS` finds a quote")


@main.command()
@click.argument("name", metavar="SOURCE_ID")
@click.argument("words")
@click.option("--seeds", "seeds_dir", default="seeds", show_default=True, type=click.Path(file_okay=False), help="The seed folder")
def quote(name, words, seeds_dir):
    """Where WORDS stand in the text of SOURCE_ID (or of a page file in SEEDS/pages/), to
    paste as evidence. Exits 1 unless they stand in exactly one place."""
    from api.ingest.curate import CurateError, find_quote, report

    try:
        lines, one = report(find_quote(seeds_dir, name, words), words)
    except CurateError as exc:
        click.echo(f"civicfacts quote: {exc}", err=True)
        sys.exit(1)
    click.echo("\n".join(lines))
    sys.exit(0 if one else 1)


@main.command()
@click.option("--check", is_flag=True, help="Exit 1 if the file differs from what the code generates, writing nothing")
@click.argument("output", default="openapi.yaml", type=click.Path(dir_okay=False))
def spec(check, output):
    """Write the OpenAPI document generated from the code to OUTPUT (openapi.yaml)."""
    from api import create_app
    from api.web.openapi import spec_yaml

    text = spec_yaml(create_app({"DATABASE_URL": "sqlite:///:memory:"}))
    path = pathlib.Path(output)
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            click.echo(f"{output} differs from the code's spec: run `civicfacts spec`", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date")
        return
    path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Processes; one per core")
@click.option("--threads", default=1, show_default=True, type=int, help="Threads per process (more only help while waiting on PostgreSQL)")
@click.option(
    "--server",
    type=click.Choice(SERVERS),
    default="granian",
    show_default=True,
    help="granian measured faster in bench/RESULTS.md; gunicorn (pip install '.[gunicorn]') for comparison",
)
@click.option("--access-log/--no-access-log", default=False, show_default=True)
@click.option("--reuse-port", is_flag=True, help="Share the port with servers already on it (each gets some requests) instead of refusing it")
def serve(host, port, workers, threads, server, access_log, reuse_port):
    """Serve the API with the production WSGI server (granian), on the database $DATABASE_URL
    names (default sqlite:///civicfacts.db)."""
    from api.serve import serve as serve_with  # imports granian or gunicorn, so only when serving

    serve_with(
        server, host, port, workers, threads, access_log, reuse_port, database_url=chosen_url(None), say=click.echo, pending=pending_migrations
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host, port):
    """Serve the API with Flask's development server (reloads on change)."""
    from api import create_app

    create_app().run(host=host, port=port, debug=True)


if __name__ == "__main__":
    main()
