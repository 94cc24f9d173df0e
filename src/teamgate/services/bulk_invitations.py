"""Many invitations in one request (DESIGN 14). Each row goes through the single create
(services/invitations.create: one set of rules, one set of refusals) in a savepoint of its own,
so a refused row leaves nothing half-written and the rows around it stand. Rows count against
each other as if sent one after another: seats, the pending cap, the rate limits, and one
pending invitation per address (a second row for an address earlier in the list is refused as a
second create would be, `invitation_pending`, with `duplicateOf` naming the earlier row).

- dry run: every row is tried as it would be, then the whole batch is rolled back (a savepoint
  around it): nothing is written, queued, audited or emitted, and the rate limits are asked but
  not spent (RateLimits.preview). The answer says which rows would be created and how many seats
  would be used after.
- all or none (`atomic`): the batch runs in one savepoint; if any row is refused, all of it is
  rolled back, and the answer says so (`rolled_back`; each good row `would_create`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.bulk import MAX_ROWS, ListedRow, RowOutcome
from teamgate.runtime import Runtime
from teamgate.services import invitations
from teamgate.services.context import TeamContext
from teamgate.services.invitations import Issued
from teamgate.storage.repositories import invitations as invitations_repo
from teamgate.storage.repositories import tasks as tasks_repo
from teamgate.storage.repositories import teams as teams_repo


@dataclass(frozen=True)
class Row:
    email: str
    role: str
    task_ids: list[str] = field(default_factory=list)
    expires_in_days: float | None = None
    refused: errors.TeamgateError | None = None  # the row could not be read at all (the API's field checks)


@dataclass(frozen=True)
class RowResult:
    index: int
    email: str
    outcome: RowOutcome
    issued: Issued | None = None  # only for a created row: the invitation and its link token
    error: errors.TeamgateError | None = None


@dataclass(frozen=True)
class Batch:
    results: list[RowResult]
    seats_used: int  # members and pending invitations once the batch is through (or would be, for a dry run)
    seat_limit: int | None
    dry_run: bool
    atomic: bool
    rolled_back: bool  # all or none, and a row was refused: nothing was written

    def count(self, outcome: RowOutcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def wrote_nothing(self) -> bool:
        return self.dry_run or self.rolled_back


async def create_many(db: AsyncSession, rt: Runtime, ctx: TeamContext, rows: Sequence[Row], *,
                      send_email: bool = True, dry_run: bool = False, atomic: bool = False) -> Batch:
    """Invite every row, in order. The request as a whole raises Forbidden (no
    invitations:manage), BulkTooLarge (more than MAX_ROWS rows) and ValidationFailed (no rows);
    anything else a single create would raise is the error of its row."""
    ctx.require(invitations.MANAGE)
    if len(rows) > MAX_ROWS:
        raise errors.BulkTooLarge(f"At most {MAX_ROWS} invitations go in one request; this one has {len(rows)}. "
                                  "Split the list.", errors=[{"field": "invitations",
                                                              "message": f"at most {MAX_ROWS} rows"}])
    if not rows:
        raise errors.ValidationFailed("invitations", "needs at least one invitation")
    trying = replace(rt, limits=rt.limits.preview()) if dry_run else rt
    whole = await db.begin_nested() if dry_run or atomic else None
    try:
        tried = [await _try(db, trying, ctx, row, send_email) for row in rows]
        rolled_back = atomic and not dry_run and any(isinstance(t, errors.TeamgateError) for t in tried)
        # a dry run's seats as they would stand: read before the batch is undone
        seats = await _seats(db, rt, ctx.team_id) if dry_run else None
        if whole is not None and (dry_run or rolled_back):
            await whole.rollback()
        elif whole is not None:
            await whole.commit()
    except BaseException:
        if whole is not None and whole.is_active:
            await whole.rollback()
        raise
    used, seat_limit = seats or await _seats(db, rt, ctx.team_id)
    return Batch(results=_results(rows, tried, kept=not (dry_run or rolled_back)), seats_used=used,
                 seat_limit=seat_limit, dry_run=dry_run, atomic=atomic, rolled_back=rolled_back)


async def _try(db: AsyncSession, rt: Runtime, ctx: TeamContext, row: Row,
               send_email: bool) -> Issued | errors.TeamgateError:
    if row.refused is not None:
        return row.refused
    try:
        async with db.begin_nested():  # a refused row is undone entirely, the rows before it stay
            return await invitations.create(db, rt, ctx, email=row.email, role=row.role, task_ids=row.task_ids,
                                            expires_in_days=row.expires_in_days, send_email=send_email)
    except errors.TeamgateError as exc:
        return exc


def _results(rows: Sequence[Row], tried: list[Issued | errors.TeamgateError], kept: bool) -> list[RowResult]:
    made_by = {t.invitation.id: i for i, t in enumerate(tried) if isinstance(t, Issued)}
    results = []
    for index, (row, outcome) in enumerate(zip(rows, tried, strict=True)):
        if isinstance(outcome, errors.TeamgateError):
            earlier = made_by.get(outcome.extra.get("invitationId") or "")
            if earlier is not None:  # the pending invitation is this list's own, made by an earlier row
                outcome.extra["duplicateOf"] = earlier
                if not kept:  # and it was never written: no id to show
                    outcome.extra.pop("invitationId")
            results.append(RowResult(index, row.email, RowOutcome.ERROR, error=outcome))
        elif kept:
            results.append(RowResult(index, row.email, RowOutcome.CREATED, issued=outcome))
        else:
            results.append(RowResult(index, row.email, RowOutcome.WOULD_CREATE))
    return results


async def _seats(db: AsyncSession, rt: Runtime, team_id: str) -> tuple[int, int | None]:
    team = await teams_repo.team_by_id(db, team_id)
    used = await teams_repo.count_members(db, team_id) + await invitations_repo.count_pending(db, team_id,
                                                                                                rt.clock.now())
    return used, team.seat_limit if team is not None else None


async def rows_from_list(db: AsyncSession, ctx: TeamContext, listed: Sequence[ListedRow], *,
                         default_role: str, expires_in_days: float | None = None) -> list[Row]:
    """Rows of a pasted list or CSV file (domain/bulk.read_list): tasks named by id or title
    become ids (a title that names no task, or two, is left as written: its row is then refused
    as an unknown task), a row without a role takes `default_role`."""
    names = {t for row in listed for t in row.tasks}
    found = await tasks_repo.named(db, ctx.team_id, names)
    ids = {t.id for t in found}
    by_title: dict[str, list[str]] = {}
    for task in found:
        by_title.setdefault(task.title.casefold(), []).append(task.id)

    def task_id(name: str) -> str:
        if name in ids:
            return name
        matches = by_title.get(name.casefold(), [])
        return matches[0] if len(matches) == 1 else name

    return [Row(email=row.email, role=row.role or default_role, task_ids=[task_id(t) for t in row.tasks],
                expires_in_days=expires_in_days) for row in listed]
