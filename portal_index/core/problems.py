"""Rejections that say exactly where an input is wrong and what was expected."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: object
    expected: str

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: got {self.value!r}, expected {self.expected}"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["value"] = None if self.value is None else str(self.value)
        return data


# A parser may return, beside its tables, notes under this key: what it left out of a file it
# accepted (records of unknown hosts, say); the loader keeps them with the load and reports them.
NOTES = "_notes"


def column_letter(index: int) -> str:
    """Spreadsheet column letter of a 0-based column index: 0 -> A, 26 -> AA."""
    letters, n = "", index + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


class InputRejected(Exception):
    """A file that cannot be loaded; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"rejected with {len(problems)} problem(s):\n{lines}{more}")
