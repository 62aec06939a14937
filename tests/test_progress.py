"""A load shows how far it has got on a terminal, one line rewritten in place with an estimate
of the time left, and says nothing of it in CI or a pipe."""

import io
import os
import pathlib
import subprocess
import sys

from api.progress import Progress, line
from tests.support import ROOT

MINIMAL = ROOT / "tests" / "seed_faults" / "minimal"
COMMAND = pathlib.Path(sys.executable).parent / "civicfacts"


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_line_says_the_stage_the_count_the_time_and_what_is_left():
    assert line("written", 500, 2000, 2.0) == "written 500/2,000 records, 2 s, about 6 s left"
    assert line("compiled", 1200, None, 3.0) == "compiled 1,200 records, 3 s"
    assert line("written", 2000, 2000, 8.0) == "written 2,000/2,000 records, 8 s"
    assert line("validating the seeds", None, None, 1.0) == "validating the seeds, 1 s"


def test_on_a_terminal_the_line_is_rewritten_in_place_and_cleared_at_the_end():
    terminal, clock = Terminal(), Clock()
    progress = Progress(terminal, clock=clock)
    progress("written", 10, 100)
    clock.now = 0.01
    progress("written", 11, 100)  # too soon to redraw
    clock.now = 1.0
    progress("written", 50, 100)
    progress("written", 100, 100)  # the last count is always drawn
    progress.finish()
    frames = terminal.getvalue().split("\r")[1:]
    assert [f.strip() for f in frames] == [
        "written 10/100 records, 0 s, about 0 s left",
        "written 50/100 records, 1 s, about 1 s left",
        "written 100/100 records, 1 s",
        "",  # blanked
        "",  # and back to the start of the line
    ]


def test_in_a_pipe_nothing_is_written():
    pipe = io.StringIO()
    progress = Progress(pipe)
    progress("written", 10, 100)
    progress.finish()
    assert pipe.getvalue() == ""


def test_a_load_into_a_pipe_prints_its_result_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    url = f"sqlite:///{tmp_path}/civicfacts.db"
    subprocess.run([str(COMMAND), "migrate", "--database", url], cwd=tmp_path, env=env, check=True, capture_output=True)
    result = subprocess.run([str(COMMAND), "load", "--database", url, MINIMAL], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("loaded dataset ")


def test_a_load_reports_every_stage_through_the_downloads(tmp_path):
    from api.ingest.load import load
    from api.ingest.read import read_seeds
    from api.store import models as m
    from api.store.db import open_database
    from tests.support import migrate

    url = f"sqlite:///{tmp_path}/progress.db"
    migrate(url).close()
    stages = []
    database = open_database(url)
    with database.bind_ctx(m.ALL_MODELS), database.connection_context():
        load(read_seeds(MINIMAL), database, progress=lambda stage, done, total=None: stages.append(stage))
    assert stages[-1] == "building the downloads", stages
    assert "written" in stages and stages.index("written") < stages.index("building the downloads")
