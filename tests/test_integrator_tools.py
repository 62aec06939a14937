"""What an integrator points at the running API, run here as they would run it: a Python
client generated from openapi.yaml by openapi-python-client (no warnings), used against
`civicfacts serve`; and `schemathesis run <spec URL> --checks all` with the shipped
schemathesis.toml. Both against a real server in a subprocess, over HTTP (compressed, as
httpx asks for it)."""

import csv
import importlib
import io
import os
import pathlib
import socket
import subprocess
import sys
import zipfile

import pytest

from tests.support import ROOT, wait_until_listening

pytestmark = pytest.mark.slow
BIN = pathlib.Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(shared_url):
    """`civicfacts serve` (granian, one worker) on the shared database: its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": shared_url}
    process = subprocess.Popen(
        [BIN / "civicfacts", "serve", "--port", str(port), "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_until_listening(process, port, "civicfacts serve")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The client openapi-python-client generates from openapi.yaml, importable as civicfacts_client."""
    out = tmp_path_factory.mktemp("client")
    # ruff on PATH: the generator formats what it writes with it, and warns when it cannot.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [BIN / "openapi-python-client", "generate", "--path", ROOT / "openapi.yaml", "--meta", "none", "--output-path", out / "civicfacts_client"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("civicfacts_client")
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name.split(".")[0] == "civicfacts_client"]:
            del sys.modules[name]


def test_a_generated_client_works_against_the_server(generated, server):
    def operation(module):
        return importlib.import_module(f"civicfacts_client.api.{module}")

    models = importlib.import_module("civicfacts_client.models")
    with generated.Client(base_url=server, raise_on_unexpected_status=True) as client:
        list_programmes = operation("programmes.list_programmes")
        first = list_programmes.sync(client=client, limit=2)
        assert isinstance(first, models.ProgrammesList) and len(first.data) == 2
        cursor = first.links.next_.split("cursor=")[1]
        second = list_programmes.sync(client=client, limit=2, cursor=cursor)
        assert {p.id for p in second.data}.isdisjoint({p.id for p in first.data})

        get_figure = operation("figures.get_figure")
        figure = get_figure.sync(client=client, record_id="kimjang-festival-2023-sales-amount")
        assert figure.data.id == "kimjang-festival-2023-sales-amount" and figure.data.value_text

        missing = get_figure.sync_detailed(client=client, record_id="no-such-figure")
        assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
        assert missing.parsed.status == 404 and "no-such-figure" in missing.parsed.detail

        table = operation("figures.list_figures_csv").sync_detailed(client=client, subject="kimjang-festival-2023")
        assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(table.content.decode("utf-8-sig"))))
        assert "kimjang-festival-2023-sales-amount" in {row["id"] for row in rows}

        ld = operation("figures.get_figure_jsonld").sync(client=client, record_id="kimjang-festival-2023-sales-amount").to_dict()
        assert ld["@type"] == "Observation" and ld["@context"] == f"{server}/v1/context.jsonld"

        archive = operation("downloads.get_dataset_zip").sync(client=client)
        with zipfile.ZipFile(archive.payload) as opened:
            assert "datapackage.json" in opened.namelist()


def test_the_schemathesis_cli_passes_with_the_shipped_configuration(server, shared_url, tmp_path):
    """The command an integrator puts in their CI, from the repository root so that it reads
    schemathesis.toml; every check, every phase, a few cases per operation (`make fuzz` and
    tests/test_fuzz.py do many more, in-process, on both backends)."""
    if shared_url.startswith("postgres"):
        pytest.skip("the configuration is the same on either backend; tests/test_fuzz.py fuzzes PostgreSQL")
    command = [BIN / "schemathesis", "run", f"{server}/v1/openapi.json", "--checks", "all", "--max-examples", "3", "--seed", "1"]
    env = {**os.environ, "SCHEMATHESIS_REPORT_DIR": str(tmp_path), "NO_COLOR": "1"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout
