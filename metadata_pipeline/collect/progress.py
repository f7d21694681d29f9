"""What a ``collect`` run shows while it runs: a live bar on a terminal, plain lines otherwise.

Both say the same: setup steps, tests done / total, the test(s) running, elapsed time and an
estimate of the time left (from the mean run time of the tests done so far). ducktape's own
output goes to ``ducktape.log`` in the run's directory and is shown only with ``--verbose``.
"""

from __future__ import annotations

import time
from typing import IO, Protocol

__all__ = ["Progress", "PlainProgress", "RichProgress", "make_progress", "format_duration"]


class Progress(Protocol):
    def phase(self, text: str) -> None: ...
    def begin(self, total: int) -> None: ...
    def started(self, test_id: str) -> None: ...
    def finished(self, test_id: str, status: str, seconds: float | None, note: str = "") -> None: ...
    def output(self, line: str) -> None: ...
    def close(self) -> None: ...


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class _Clock:
    """Done / total, and an estimate of the time left from the tests done so far."""

    def __init__(self) -> None:
        self.started_at = time.monotonic()
        self.total = 0
        self.done = 0
        self.running: dict[str, float] = {}

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def remaining(self) -> float | None:
        if not self.done or self.done >= self.total:
            return None if not self.done else 0.0
        return self.elapsed() / self.done * (self.total - self.done)


class PlainProgress:
    """One line per event, for CI logs and pipes."""

    def __init__(self, stream: IO[str], verbose: bool = False) -> None:
        self.stream, self.verbose, self.clock = stream, verbose, _Clock()

    def _line(self, text: str) -> None:
        self.stream.write(f"collect: {text}\n")
        self.stream.flush()

    def phase(self, text: str) -> None:
        self._line(text)

    def begin(self, total: int) -> None:
        self.clock = _Clock()
        self.clock.total = total
        self._line(f"running {total} test{'s' if total != 1 else ''}")

    def started(self, test_id: str) -> None:
        self.clock.running[test_id] = time.monotonic()
        self._line(f"[{self.clock.done}/{self.clock.total}] started  {test_id}")

    def finished(self, test_id: str, status: str, seconds: float | None, note: str = "") -> None:
        self.clock.running.pop(test_id, None)
        self.clock.done += 1
        left = self.clock.remaining()
        eta = f", about {format_duration(left)} left" if left else ""
        self._line(f"[{self.clock.done}/{self.clock.total}] {status:<5} {format_duration(seconds):>7}  {test_id}"
                   f"{f'  ({note})' if note else ''}  [elapsed {format_duration(self.clock.elapsed())}{eta}]")

    def output(self, line: str) -> None:
        if self.verbose:
            self.stream.write(f"  | {line}\n")

    def close(self) -> None:
        self.stream.flush()


class RichProgress:
    """A live bar (rich): done / total, the running test, elapsed time, time left."""

    def __init__(self, stream: IO[str], verbose: bool = False) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.verbose, self.clock = verbose, _Clock()
        self.console = Console(file=stream, highlight=False)
        self.bar = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"),
                            TimeRemainingColumn(), TextColumn("{task.fields[current]}"), console=self.console,
                            transient=False)
        self.task = None

    def phase(self, text: str) -> None:
        self.console.print(f"collect: {text}")

    def begin(self, total: int) -> None:
        self.clock = _Clock()
        self.clock.total = total
        self.bar.start()
        self.task = self.bar.add_task("tests", total=total, current="")

    def _current(self) -> str:
        running = list(self.clock.running)
        if not running:
            return ""
        latest = running[-1] if len(running[-1]) <= 70 else "…" + running[-1][-69:]
        return latest + (f" (+{len(running) - 1} more)" if len(running) > 1 else "")

    def started(self, test_id: str) -> None:
        self.clock.running[test_id] = time.monotonic()
        if self.task is not None:
            self.bar.update(self.task, current=self._current())

    def finished(self, test_id: str, status: str, seconds: float | None, note: str = "") -> None:
        self.clock.running.pop(test_id, None)
        self.clock.done += 1
        style = "green" if status in ("PASS", "FLAKY") else "red"
        self.console.print(f"[{style}]{status:<5}[/{style}] {format_duration(seconds):>7}  {test_id}"
                           f"{f'  ({note})' if note else ''}", markup=True, highlight=False)
        if self.task is not None:
            self.bar.update(self.task, advance=1, current=self._current())

    def output(self, line: str) -> None:
        if self.verbose:
            self.console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        self.bar.stop()


def make_progress(stream: IO[str], *, verbose: bool = False) -> Progress:
    """The live bar on a terminal, plain lines anywhere else (CI, pipes, files)."""
    if stream.isatty():
        return RichProgress(stream, verbose)
    return PlainProgress(stream, verbose)
