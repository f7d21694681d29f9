"""The one error the core raises for bad metadata."""

from __future__ import annotations

__all__ = ["InvalidMetadata"]


class InvalidMetadata(ValueError):
    """Metadata that does not follow the format.

    ``entry`` is a JSON-pointer-like path to the offending entry (``/reflection/3/methods/0``);
    ``file`` is filled in by the edge that knows where the data came from.
    """

    def __init__(self, problem: str, entry: str = "", file: str = "") -> None:
        self.problem = problem
        self.entry = entry
        self.file = file
        super().__init__(self.__str__())

    def located(self, file: str) -> "InvalidMetadata":
        return InvalidMetadata(self.problem, self.entry, file)

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.entry or "") if part)
        return f"{where}: {self.problem}" if where else self.problem
