"""One seed file, read with limits: a hostile or mistaken file is refused with a sentence
naming its line, never a hang, a traceback or memory exhausted.

A seed folder is hand-curated, but whoever loads it may not have read every file, and YAML
lets a few hundred bytes say a great deal: aliases of aliases expand to billions of nodes (an
"alias bomb"), `[[[[` nests past Python's recursion limit, and a name ending in .yaml can be a
folder, a FIFO (reading it waits for ever) or a link to /dev/zero (reading it never ends). So:

- only a regular file is read (links are followed, to a regular file only), at most
  `max_bytes` of it (CIVICFACTS_SEED_MAX_BYTES, 1 MiB by default: the largest real seed file
  is under 30 kB), and a FIFO is opened without waiting for a writer;
- aliases (`*name`) are refused outright: the seeds never need one, and a record copied from
  another by alias would hide what it says from whoever reads the file;
- nodes nest at most MAX_DEPTH deep (the seeds nest 6);
- a key given twice in one mapping is refused, naming both lines: YAML keeps the last one
  silently, so a second `figures:` section would replace the first.
"""

import os
import stat
from decimal import Decimal, InvalidOperation

import yaml

MAX_DEPTH = 32


class SeedFileRefused(yaml.MarkedYAMLError):
    """What the limits refuse in a file's YAML, at its place in the file."""

    def __init__(self, problem, mark):
        super().__init__(problem=problem, problem_mark=mark)


class SeedLoader(yaml.SafeLoader):
    """YAML as the seeds need it, within the limits above: dates stay text for the schema to
    check, and decimals are read as Decimal so that 101.3 is 101.3, not 101.299999..."""

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise SeedFileRefused(f"an alias (*{event.anchor}) is not accepted in a seed file: write the value out", event.start_mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise SeedFileRefused(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # not a key the seeds use: the schema refuses it
                where = first.setdefault(key_node.value, key_node.start_mark)
                if where is not key_node.start_mark:
                    raise SeedFileRefused(
                        f"the key {key_node.value!r} is given twice in one mapping (first at line {where.line + 1}); YAML would keep only the last",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


SeedLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def _construct_decimal(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return text  # .inf, .nan, 1:30.5: left as text, for the schema to report rather than crash


SeedLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


class NotReadable(Exception):
    """A seed file that is not read at all, and why (a sentence)."""


def read_bytes(path, max_bytes):
    """The bytes of the regular file at `path`, at most `max_bytes` of them, or NotReadable."""
    try:
        # O_NONBLOCK: opening a FIFO would otherwise wait for a writer that never comes.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise NotReadable(f"cannot be opened: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotReadable(f"is not a regular file ({_kind(info.st_mode)}); a seed file must be one")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise NotReadable(f"is {info.st_size} bytes; a file of the seeds may be at most {max_bytes} (CIVICFACTS_SEED_MAX_BYTES)")
        data = handle.read(max_bytes + 1)  # it may have grown since
    if len(data) > max_bytes:
        raise NotReadable(f"is over {max_bytes} bytes; a file of the seeds may be at most {max_bytes} (CIVICFACTS_SEED_MAX_BYTES)")
    return data


KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode):
    return next((name for test, name in KINDS if test(mode)), "not a file")
