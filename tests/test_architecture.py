"""The layers of ARCHITECTURE.md hold: import-linter's contracts in pyproject.toml pass, and
they would catch a lower layer importing Flask or a higher layer."""

import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINT_IMPORTS = pathlib.Path(sys.executable).parent / "lint-imports"


def lint_imports(root):
    # --no-cache: the cache would be written beside the tree, and a copy must not reuse it
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120)


def test_every_import_points_down_and_only_the_web_layer_imports_flask():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("api/store/models.py", "import flask", "Only the web layer speaks HTTP"),
        ("api/query/records.py", "import api.web.responses", "Layers import only downwards"),
        ("api/formats/csv_export.py", "import api.registry", "Layers import only downwards"),
    ],
)
def test_a_lower_layer_importing_upwards_breaks_a_contract(tmp_path, module, line, contract):
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "api", copy / "api", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # a deliberate violation\n", encoding="utf-8")
    result = lint_imports(copy)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout
