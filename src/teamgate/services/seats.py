"""The seat limit, one rule for every way in (DESIGN 4 and 14): members, pending invitations and
open join requests together. A new invitation or join request takes a seat; an accepted
invitation or an approved request turns the seat it held into a membership."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.domain.seats import SeatsUsed, has_room
from teamgate.runtime import Runtime
from teamgate.storage.models import Team
from teamgate.storage.repositories import invitations as invitations_repo
from teamgate.storage.repositories import join_requests as requests_repo
from teamgate.storage.repositories import teams as teams_repo


async def used(db: AsyncSession, rt: Runtime, team_id: str) -> SeatsUsed:
    return SeatsUsed(members=await teams_repo.count_members(db, team_id),
                     pending_invitations=await invitations_repo.count_pending(db, team_id, rt.clock.now()),
                     open_join_requests=await requests_repo.count_open(db, team_id))


async def ensure_free(db: AsyncSession, rt: Runtime, team: Team, *, adding: int = 1,
                      count: Callable[[], Awaitable[SeatsUsed]] | None = None) -> None:
    """Room for `adding` more people on their way in (invitations, join requests). The team row is
    locked first (PostgreSQL; SQLite serialises writers), so concurrent creates and uses of links
    count one after another; `count` counts them as `used` does (a create: in one statement).
    Raises SeatLimitReached."""
    if team.seat_limit is None:
        return
    await teams_repo.lock_team(db, team.id)
    ensure_room(team, await count() if count is not None else await used(db, rt, team.id), adding=adding)


def ensure_room(team: Team, seats: SeatsUsed, *, adding: int = 1) -> None:
    """The rule of ensure_free on seats counted under the team's row lock. Raises SeatLimitReached."""
    if not has_room(team.seat_limit, seats.total, adding):
        raise errors.SeatLimitReached(f"The team has {team.seat_limit} seats and all are taken, invited or "
                                      "requested.")


async def seat_for_member(db: AsyncSession, team: Team) -> bool:
    """Whether a held seat may turn into a membership: the members alone must still fit (the limit
    may have been lowered since the seat was held). Locks the team row."""
    if team.seat_limit is None:
        return True
    await teams_repo.lock_team(db, team.id)
    return has_room(team.seat_limit, await teams_repo.count_members(db, team.id))


async def ensure_seat_for_member(db: AsyncSession, team: Team) -> None:
    """As seat_for_member; raises SeatLimitReached."""
    if not await seat_for_member(db, team):
        raise errors.SeatLimitReached(f"{team.name} has no free seat left.")
