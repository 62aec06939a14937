"""Progress of long work (a load), for a person watching a terminal.

One line on stderr, rewritten in place: the stage, how many records it has done (of how many,
when that is known, with an estimate of the time left) and the time it has taken. Nothing at
all when stderr is not a terminal: CI logs and pipes get only the command's result.
"""

import sys
import time

REDRAW_SECONDS = 0.1  # at most ten lines a second: a terminal is slower than the work


class Progress:
    """`progress(stage, done, total)`, the callback api/ingest/load.py calls."""

    def __init__(self, stream=None, enabled=None, clock=time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.clock = clock
        self.stage = None
        self.started = self.drawn = 0.0
        self.width = 0

    def __call__(self, stage, done, total=None):
        if not self.enabled:
            return
        now = self.clock()
        if stage != self.stage:
            self.stage, self.started = stage, now
        elif now - self.drawn < REDRAW_SECONDS and (done is None or done != total):
            return
        self.drawn = now
        self._draw(line(stage, done, total, now - self.started))

    def finish(self):
        """Clear the line, so that what the command prints next starts on a clean one."""
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0

    def _draw(self, text):
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = max(self.width, len(text))


def line(stage, done, total, elapsed):
    """'written 500/2,000 records, 2 s, about 6 s left'; 'validating the seeds, 1 s'."""
    if done is None:
        return f"{stage}, {elapsed:.0f} s"
    text = f"{stage} {done:,}" + (f"/{total:,}" if total else "") + f" records, {elapsed:.0f} s"
    if total and 0 < done < total:
        text += f", about {elapsed / done * (total - done):.0f} s left"
    return text
