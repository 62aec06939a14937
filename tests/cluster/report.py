"""The measured section of docs/DEPLOY.md, written by the cluster tests that measure it.

Each test adds its figures with `measure(section, what, value)`; at the end of a run in which
every cluster test ran and passed, the section between the markers is rewritten (a partial or
failed run leaves it alone). The figures are timings on this machine, so unlike
docs/RELIABILITY.md a run that differs from the committed file does not fail: it rewrites it.
"""

import datetime
import os
import platform
import re

from tests.support import ROOT

REPORT = ROOT / "docs" / "DEPLOY.md"
BEGIN, END = "<!-- measured:begin (written by tests/cluster, do not edit) -->", "<!-- measured:end -->"
FIGURES = {}


def measure(section, what, value):
    FIGURES.setdefault(section, []).append((what, value))


def render():
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN,
        f"_Measured by `make cluster-test` on {when}: {os.cpu_count()} cores ({platform.machine()}), shared with other work; "
        "every process of the cluster and every client on this one machine._",
        "",
    ]
    for section, rows in FIGURES.items():
        lines += [f"**{section}**", "", "| | |", "|---|---|"]
        lines += [f"| {what} | {value} |" for what, value in rows]
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write():
    text = REPORT.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise RuntimeError(f"{REPORT} lacks the measured section's markers")
    REPORT.write_text(pattern.sub(lambda _: render(), text), encoding="utf-8")
