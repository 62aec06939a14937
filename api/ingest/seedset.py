"""What a read of the seeds gives: the records, each with the file it came from, and the
problems found, each naming its file, record and field."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    file: str
    record: str | None
    field: str | None
    message: str

    def __str__(self):
        where = self.file
        if self.record:
            where += f": {self.record}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class SeedError(Exception):
    """`problems`, and `waiting`: what could not be checked yet because of them (each a sentence)."""

    def __init__(self, problems, waiting=()):
        self.problems = problems
        self.waiting = list(waiting)
        lines = [*map(str, problems), *(f"not checked yet: {w}" for w in self.waiting)]
        super().__init__(f"{len(problems)} problem(s) in the seeds:\n" + "\n".join(lines))


@dataclass
class Entry:
    """One validated record, with where it came from."""

    section: str  # sources, organisations, ..., figures
    data: dict
    file: str
    index: int

    @property
    def label(self):
        return f"{self.section}[{self.data.get('id', self.index)}]"


@dataclass
class SeedSet:
    version: str
    units: list = field(default_factory=list)
    terms: dict = field(default_factory=dict)  # scheme -> [term]
    entries: dict = field(default_factory=dict)  # id -> Entry
    citations: list = field(default_factory=list)  # (file, extra citation)
    checks: list = field(default_factory=list)  # (figure id, CheckResult) that passed or were declared
    acknowledged: list = field(default_factory=list)  # (file, index, acknowledgement) of tokens no record needs
    invalid_ids: set = field(default_factory=set)  # ids of records that failed validation (already reported)
    incomplete_files: set = field(default_factory=set)  # files with a record that failed validation
    pages_of_invalid_sources: dict = field(default_factory=dict)  # source id -> its page, when only the rest is wrong

    def records(self, section):
        return [e for e in self.entries.values() if e.section == section]
