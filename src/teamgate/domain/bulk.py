"""Many invitations at once (DESIGN 14): how many one request may carry, what becomes of each
row, and how a pasted list or a CSV file is read into rows (the console and the CLI take both)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum

MAX_ROWS = 500
TASK_SEPARATOR = ";"  # several tasks in one cell
COLUMNS = {"email": "email", "e-mail": "email", "role": "role", "tasks": "tasks", "task": "tasks",
           "taskids": "tasks", "task_ids": "tasks"}


class RowOutcome(StrEnum):
    CREATED = "created"
    WOULD_CREATE = "would_create"  # a dry run's good row, or a good row of an all-or-none batch that was refused
    ERROR = "error"


@dataclass(frozen=True)
class ListedRow:
    """One person of a list, as written: tasks are ids or titles, the role may be left out."""

    line: int
    email: str
    role: str | None
    tasks: tuple[str, ...] = ()


def read_list(text: str) -> list[ListedRow]:
    """One person a line: `email[,role[,tasks]]`, separated by commas or tabs (a spreadsheet's
    copy), several tasks in one cell separated by `;`. A first line naming the columns (`email`,
    `role`, `tasks`) may put them in any order and add others, which are ignored. Blank lines and
    lines starting with `#` are skipped; an empty role cell means the default role."""
    text = text.removeprefix("\ufeff")  # a spreadsheet's byte-order mark
    sample = [line for line in text.splitlines()[:20] if line.strip()]
    delimiter = "\t" if any("\t" in line for line in sample) else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    positions = {"email": 0, "role": 1, "tasks": 2}
    rows: list[ListedRow] = []
    first = True
    for cells in reader:
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if first and (named := _header(cells)) is not None:
            positions, first = named, False
            continue
        first = False
        email, role, tasks = (_cell(cells, positions.get(name)) for name in ("email", "role", "tasks"))
        rows.append(ListedRow(line=reader.line_num, email=email, role=role or None,
                              tasks=tuple(t.strip() for t in tasks.split(TASK_SEPARATOR) if t.strip())))
    return rows


def _header(cells: list[str]) -> dict[str, int] | None:
    named = {COLUMNS[c.lower()]: i for i, c in reversed(list(enumerate(cells))) if c.lower() in COLUMNS}
    return named if "email" in named else None


def _cell(cells: list[str], position: int | None) -> str:
    return cells[position] if position is not None and position < len(cells) else ""


def write_list(rows: list[ListedRow]) -> str:
    """The rows as CSV with a header line, as `read_list` reads them back (the console carries a
    previewed list to its create step this way)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "role", "tasks"])
    for row in rows:
        writer.writerow([row.email, row.role or "", TASK_SEPARATOR.join(row.tasks)])
    return out.getvalue()
