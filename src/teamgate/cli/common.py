"""What every command shares: settings read with a readable refusal, a runtime on a current
schema, one committed transaction per command, and output as text or one JSON object."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import errors
from teamgate.config import Settings, WeakSecretKey
from teamgate.domain.emails import normalize_email
from teamgate.runtime import Runtime, build_runtime
from teamgate.services import teams
from teamgate.services.context import Actor, TeamContext, system_owner_role
from teamgate.storage.db import migrate as run_migrations
from teamgate.storage.db import migrations_current, unit_of_work
from teamgate.storage.repositories import accounts as accounts_repo
from teamgate.storage.repositories import teams as teams_repo
from teamgate.storage.roles import UnsafeRole, refuse_privileged_role
from teamgate.storage.scope import act_for

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The settings, refused with a readable message (never the value) when one is wrong; the secret
    key is read now, so a short one stops every command before it does anything."""
    try:
        settings = Settings()
        settings.secret  # noqa: B018 (an unset key is generated here, in the data directory)
    except ValidationError as exc:
        fail("; ".join(f"TEAMGATE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg'].removeprefix('Value error, ')}"
                       for e in exc.errors()))
    except WeakSecretKey as exc:
        fail(str(exc))
    return settings


@asynccontextmanager
async def opened(settings: Settings | None = None, *, service: bool = False) -> AsyncIterator[Runtime]:
    """A runtime on a current schema: the embedded SQLite is migrated on the spot; a PostgreSQL
    behind the code is refused (its migrations run as the owner, with `teamgate migrate`).

    The service (`serve`, `worker`) connects with TEAMGATE_DATABASE_URL and refuses a role that
    row-level security would not bind; operator commands connect as the owner when one is set."""
    settings = settings or load_settings()
    rt = build_runtime(settings, database_url=None if service else settings.migration_database)
    try:
        if settings.is_sqlite:
            await run_migrations(rt.engine)
        elif not await migrations_current(rt.engine):
            fail("the database schema is not current: run `teamgate migrate` first")
        elif service and not settings.development:
            try:
                await refuse_privileged_role(rt.engine)
            except UnsafeRole as exc:
                fail(str(exc))
        yield rt
    finally:
        await rt.engine.dispose()


def in_transaction(work: Callable[[AsyncSession, Runtime], Awaitable[Any]]) -> Any:
    """Run `work` in one committed transaction; domain errors become a message on stderr."""

    async def main() -> Any:
        async with opened() as rt, unit_of_work(rt.sessions) as db:
            return await work(db, rt)

    try:
        return asyncio.run(main())
    except errors.TeamgateError as exc:
        fail(f"{exc.code}: {exc.detail}")


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    typer.echo(json.dumps(data) if as_json else human)


async def team_context(db: AsyncSession, rt: Runtime, team_id: str, as_email: str | None) -> TeamContext:
    """The CLI acts as a named member (by default the team's owner), so the usual rules apply."""
    await act_for(db, team_id=team_id)
    if as_email is None:
        owner = await teams_repo.owner(db, team_id)
        if owner is None:
            raise errors.NotFound(f"No team {team_id}.")
        user = await accounts_repo.user_by_id(db, owner.user_id)
        if user is None:
            raise errors.NotFound(f"No owner account for team {team_id}.")
    else:
        user = await accounts_repo.act_as_user_with_email(db, normalize_email(as_email))
        if user is None:
            raise errors.NotFound(f"No account for {as_email}.")
    return await teams.context_for(db, rt, Actor(kind="user", id=user.id, name=user.name, user=user), team_id)



async def operator_in(db: AsyncSession, rt: Runtime, team: str) -> TeamContext:
    """The operator acting in `team` with owner rights (NotFound when there is no such team)."""
    await act_for(db, team_id=team)
    if await teams_repo.team_by_id(db, team) is None:
        raise errors.NotFound(f"No team {team}.")
    return TeamContext(actor=Actor.system(), team_id=team, role=system_owner_role(rt.catalog), is_owner=True)

