"""The Makefile is the command index: `make help` lists every target, `make test` installs the
test extras before it runs, and `make run` serves on the README's port."""

import re

from tests.support import ROOT

MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
TARGETS = re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.M)


def test_every_target_says_what_it_does_in_make_help():
    undocumented = [t for t in TARGETS if not re.search(rf"^{t}:.*## \S", MAKEFILE, flags=re.M)]
    assert TARGETS and not undocumented, f"give these a `## what it does` for `make help`: {undocumented}"


def test_make_test_installs_the_test_extras_first():
    assert re.search(r"^test: install\b", MAKEFILE, flags=re.M)
    assert re.search(r"^install: \$\(VENV\)/\.installed\b", MAKEFILE, flags=re.M)
    assert re.search(r"pip install -q -e \"\.\[test[],]", MAKEFILE)


def test_make_run_and_serve_use_the_readmes_port():
    assert re.search(r"^PORT \?= 8000$", MAKEFILE, flags=re.M)
    assert "http://127.0.0.1:8000/" in (ROOT / "README.md").read_text(encoding="utf-8")
    for target in ("run", "serve"):
        recipe = re.search(rf"^{target}:.*\n\t(.*)", MAKEFILE, flags=re.M).group(1)
        assert "--port $(PORT)" in recipe
