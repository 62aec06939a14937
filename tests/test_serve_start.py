"""`civicfacts serve` starts by saying what it serves (version, database without its password,
dataset, where to open it, workers and threads), and refuses a port that is in use, in one line
and exit status 1, instead of sharing it with whatever holds it."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

COMMAND = pathlib.Path(sys.executable).parent / "civicfacts"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(database_url, port, *extra, cwd):
    env = {**os.environ, "DATABASE_URL": database_url}
    argv = [str(COMMAND), "serve", "--port", str(port), "--workers", "1", *extra]
    # A session of its own, so that the server and its workers can be stopped together.
    return subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for(port, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listened on {port} within {seconds} s")


def stop(process):
    process.terminate()
    try:
        return process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        # granian, stopped moments after it started, now and then waits for ever on a worker
        # still starting; its output so far is all the tests read.
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


@pytest.mark.slow
def test_serve_says_what_it_serves_and_a_second_one_on_its_port_is_refused(loaded, tmp_path):
    port = free_port()
    first = serve(loaded, port, cwd=tmp_path)
    try:
        wait_for(port, first)
        second = subprocess.run(
            [str(COMMAND), "serve", "--port", str(port)],
            cwd=tmp_path,
            env={**os.environ, "DATABASE_URL": loaded},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        out, err = stop(first)
    assert second.returncode == 1
    assert (
        second.stderr.strip()
        == f"civicfacts: port {port} on 127.0.0.1 is in use (another civicfacts serve?): stop that, or choose another with --port"
    )
    assert second.stdout == ""
    lines = out.splitlines()
    assert lines[0].startswith("civicfacts 0.1.0, served by granian: 1 worker × 1 thread")
    assert lines[1] == f"  database  {loaded}"
    assert lines[2].startswith("  dataset   ") and lines[2].endswith(" records")
    assert f"  explorer  http://127.0.0.1:{port}/" in lines
    assert f"  API       http://127.0.0.1:{port}/v1" in lines
    assert f"  docs      http://127.0.0.1:{port}/docs" in lines
    assert "Websockets" not in out + err


def test_a_port_another_program_holds_is_refused(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = subprocess.run(
            [str(COMMAND), "serve", "--port", str(port)],
            cwd=tmp_path,
            env={**os.environ, "DATABASE_URL": "sqlite:///civicfacts.db"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        == f"civicfacts: port {port} on 127.0.0.1 is in use (another civicfacts serve?): stop that, or choose another with --port"
    )


@pytest.mark.slow
def test_before_load_the_first_screen_says_to_load(migrated, tmp_path):
    port = free_port()
    process = serve(migrated, port, cwd=tmp_path)
    try:
        wait_for(port, process)
    finally:
        out, _ = stop(process)
    assert "  dataset   no dataset loaded: run `civicfacts load`" in out.splitlines()


def test_the_first_screen_names_migrations_the_database_lacks(migrated):
    from api.cli import migration_runner, pending_migrations
    from api.serve import first_screen
    from api.store.db import open_database

    assert first_screen("granian", "0.0.0.0", 8000, 2, 1, migrated, pending_migrations)[2] == "  dataset   no dataset loaded: run `civicfacts load`"
    database = open_database(migrated)
    with database:
        last = migration_runner(database).status()[-1].name  # as if it had just been pulled
        database.execute_sql(f"DELETE FROM schema_migration WHERE name = {database.param}", (last,))
    database.close()
    screen = first_screen("granian", "0.0.0.0", 8000, 2, 1, migrated, pending_migrations)
    assert screen[0].endswith("served by granian on every address of this machine: 2 workers × 1 thread")
    assert screen[2].endswith(f"; the database lacks migrations {last}: run `civicfacts migrate`")
    assert screen[3] == "  explorer  http://127.0.0.1:8000/"
