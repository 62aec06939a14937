"""A non-editable install carries what the app reads at run time besides its modules: the
explorer's templates and style sheet must be declared package data in pyproject.toml."""

import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


EXPLORER = ROOT / "api" / "web" / "explorer"


def test_every_template_and_static_file_is_package_data():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["api.web.explorer"]
    files = [p.relative_to(EXPLORER) for folder in ("templates", "static") for p in (EXPLORER / folder).rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert any(path.match(pattern) for pattern in globs), f"{path} is not package data: add it to [tool.setuptools.package-data]"


def test_every_package_is_found_and_nothing_else():
    """Packages are found by setuptools (every folder of api/ with an __init__.py); the folders of
    templates and static files are data, not packages."""
    from setuptools import find_packages

    found = set(find_packages(str(ROOT), include=["api*"]))
    assert found == {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "api").rglob("__init__.py")}
    assert not any("templates" in name or "static" in name for name in found)
