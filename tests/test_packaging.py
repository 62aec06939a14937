"""A non-editable install carries what the app reads at run time besides its modules: the
explorer's templates and style sheet must be declared package data in pyproject.toml."""

import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_template_and_static_file_is_package_data():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["api"]
    api = ROOT / "api"
    files = [p.relative_to(api) for folder in ("templates", "static") for p in (api / folder).rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert any(path.match(pattern) for pattern in globs), f"api/{path} is not package data: add it to [tool.setuptools.package-data]"


def test_every_package_is_listed():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "api").rglob("__init__.py")}
    assert found == set(packages)
