"""What bad input raises (InputError) and what repaired input counts (Warnings).

Readers, records and the cleaner all report through these; they hold no parsing of their own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from moltctl.errors import MoltError

STRICT_LABELS = {
    "nul": "NUL character in text",
    "surrogate": "lone surrogate in text",
    "nan": "NaN or Infinity in JSON",
    "naive_ts": "timestamp without a time zone",
}
WARNING_LABELS = {
    "nul": "NUL characters removed",
    "surrogate": "lone surrogates replaced",
    "nan": "NaN/Infinity replaced by null",
    "naive_ts": "timestamps without a zone read as UTC",
}


class InputError(MoltError):
    """Bad input: one line naming the file, the line or record, and the field."""


class TooDeep(InputError):
    """JSON nested deeper than MAX_DEPTH (the caller may name the record better)."""


@dataclass
class Warnings:
    """Counts of repaired input, by kind, plus the first place each kind was seen."""

    counts: Counter = field(default_factory=Counter)
    first: dict = field(default_factory=dict)
    strict: bool = False

    def add(self, kind: str, where: str, n: int = 1) -> None:
        if self.strict:
            raise InputError(
                f"{where}: {STRICT_LABELS[kind]} (refused by --strict)",
                hint="drop --strict to clean and load such input with a warning",
            )
        self.counts[kind] += n
        self.first.setdefault(kind, where)

    def merge(self, other: Warnings) -> None:
        self.counts.update(other.counts)
        for k, v in other.first.items():
            self.first.setdefault(k, v)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        return [
            f"{n} {WARNING_LABELS[k]} (first at {self.first[k]})"
            for k, n in sorted(self.counts.items())
        ]


__all__ = ["InputError", "TooDeep", "Warnings"]
