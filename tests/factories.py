"""Small functions that make the records tests start from, through the real services and API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.services import accounts, api_keys, server_keys, teams
from teamgate.services.context import Actor, TeamContext, system_owner_role
from teamgate.storage.db import make_engine, session_factory, unit_of_work
from teamgate.storage.models import Invitation, Membership, User
from teamgate.storage.scope import act_for

PASSWORD = "correct horse battery staple"
NEW_PERSON = {"password": "a long new password", "firstName": "New", "lastName": "Person"}  # an accept's body

AGENCY_ROLES = """
[roles.agency_admin]
rank = 50
permissions = ["invitations:manage", "members:manage", "tasks:manage", "api_keys:manage", "audit:read", "team:read"]

[roles.agency_user]
rank = 10
permissions = ["team:read"]
"""
# the agency catalog with a role ranked above agency_admin
DIRECTOR_ROLES = """
[roles.director]
rank = 90
permissions = ["invitations:manage", "members:manage", "tasks:manage", "api_keys:manage", "audit:read", "team:read"]
""" + AGENCY_ROLES


def problem(response: httpx.Response, status: int, code: str) -> dict:
    """Assert `response` is an RFC 9457 problem with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


@dataclass
class Person:
    id: str
    email: str
    password: str = PASSWORD


@dataclass
class Team:
    id: str
    owner: Person


@asynccontextmanager
async def as_operator(rt) -> AsyncIterator[AsyncSession]:
    """A committed transaction as an operator's command runs it: as the tables' owner on PostgreSQL."""
    if not rt.settings.migration_database_url:
        async with unit_of_work(rt.sessions) as db:
            yield db
        return
    engine = make_engine(rt.settings.migration_database)
    try:
        async with unit_of_work(session_factory(engine)) as db:
            yield db
    finally:
        await engine.dispose()


async def make_user(rt, email: str, *, first_name: str = "Test", last_name: str = "Person",
                    system_owner: bool = False, password: str = PASSWORD, external_id: str | None = None) -> Person:
    if system_owner:  # only an operator (the owner role) makes system owners
        async with as_operator(rt) as db:
            user = await accounts.create_user(db, rt, Actor.system(), email=email, first_name=first_name,
                                              last_name=last_name, password=password, system_owner=True,
                                              external_id=external_id)
        return Person(id=user.id, email=user.email, password=password)
    async with unit_of_work(rt.sessions) as db:
        user = await accounts.create_user(db, rt, Actor.system(), email=email, first_name=first_name,
                                          last_name=last_name, password=password, external_id=external_id)
    return Person(id=user.id, email=user.email, password=password)


async def issue_server_key(rt, name: str = "product") -> server_keys.IssuedServerKey:
    """A server key made as an operator makes one (`teamgate server-keys create`)."""
    async with as_operator(rt) as db:
        return await server_keys.create(db, rt, Actor.system(), name=name)


async def revoke_server_key(rt, key_id: str) -> None:
    async with as_operator(rt) as db:
        await server_keys.revoke(db, rt, Actor.system(), key_id)


def acting(server_key: str, team_id: str | None = None, external_id: str | None = None) -> dict[str, str]:
    """The headers of a server key acting in a team for the person a product knows as `external_id`."""
    return {"Authorization": f"Bearer {server_key}", **({"X-Team-Id": team_id} if team_id else {}),
            **({"X-Acting-User": external_id} if external_id else {})}


async def make_team(rt, owner_email: str = "owner@example.com", *, name: str = "Acme",
                    seat_limit: int | None = None, owner_external_id: str | None = None) -> Team:
    owner = await make_user(rt, owner_email, first_name="Olivia", last_name="Owner", external_id=owner_external_id)
    async with unit_of_work(rt.sessions) as db:
        await act_for(db, user_id=owner.id)
        user = await db.get(User, owner.id)
        team, _ = await teams.create(db, rt, Actor.system(), name=name, seat_limit=seat_limit, owner=user)
    return Team(id=team.id, owner=owner)


async def issue_api_key(rt, team_id: str, role: str = "admin", name: str = "backend") -> api_keys.IssuedKey:
    """A key made as an operator would (`teamgate api-keys create`): keys cannot make keys."""
    async with unit_of_work(rt.sessions) as db:
        await act_for(db, team_id=team_id)
        ctx = TeamContext(actor=Actor.system(), team_id=team_id, role=system_owner_role(rt.catalog), is_owner=True)
        return await api_keys.create(db, rt, ctx, name=name, role=role)


async def make_api_key(rt, team_id: str, role: str = "admin", name: str = "backend") -> str:
    return (await issue_api_key(rt, team_id, role, name)).secret


async def add_member(rt, team_id: str, email: str, role: str = "member", **names) -> Person:
    """A member made directly (as if they had accepted an invitation); `external_id=` too."""
    person = await make_user(rt, email, **names)
    async with unit_of_work(rt.sessions) as db:
        await act_for(db, team_id=team_id)
        db.add(Membership(team_id=team_id, user_id=person.id, role=role, is_owner=False, created_at=rt.clock.now()))
    return person


async def sign_in(client: httpx.AsyncClient, person: Person) -> dict[str, str]:
    """Sign `client` in; returns the headers a cookie-authenticated write needs (CSRF)."""
    response = await client.post("/api/v1/auth/login", json={"email": person.email, "password": person.password})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrfToken"]}


def key_headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


async def invite(client: httpx.AsyncClient, key: str, email: str, role: str = "member", **extra) -> dict:
    response = await client.post("/api/v1/team-invitations", headers=key_headers(key),
                                 json={"email": email, "role": role, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def mailed_token(harness, email: str) -> str:
    """Send what the outbox holds and return the token of the newest link emailed to `email`:
    the invitation's mail token, which only the mailbox sees."""
    await harness.send_mail()
    mails = [m for m in harness.mail.sent if m.recipient.lower() == email.lower()]
    assert mails, f"no email to {email}"
    # a batch is sent concurrently, so a verification or reset email queued beside the invitation
    # may be recorded after it: take the newest email that carries an invitation's link
    links = [m for m in mails if harness.rt.settings.invite_url("") in m.text] or mails
    return re.search(r"[?&]token=([A-Za-z0-9_-]+)", links[-1].text).group(1)


async def dump_database(harness) -> bytes:
    """Every value of every table (read as the owner, past row-level security), as bytes."""
    from sqlalchemy import text

    from teamgate.storage.models import Base

    chunks: list[bytes] = []
    async with harness.owner() as db:
        for table in Base.metadata.sorted_tables:
            for row in (await db.execute(text(f"SELECT * FROM {table.name}"))).all():
                chunks.extend(v if isinstance(v, bytes) else str(v).encode() for v in row)
    return b"\n".join(chunks)


def cli_env(settings, **extra: str) -> dict[str, str]:
    """The environment for a `teamgate` subprocess on the test's database and secret key."""
    import os

    return {**os.environ, "TEAMGATE_DATABASE_URL": settings.database_url,
            **({"TEAMGATE_MIGRATION_DATABASE_URL": settings.migration_database_url}
               if settings.migration_database_url else {}),
            "TEAMGATE_SECRET_KEY": settings.secret_key.get_secret_value(), "TEAMGATE_DATA_DIR": str(settings.data_dir),
            "TEAMGATE_ARGON2_MEMORY_KIB": "1024", "TEAMGATE_ARGON2_TIME_COST": "1", **extra}


async def count_rows(harness, model, *where) -> int:
    """Rows of `model` matching `where`, read as the owner (past row-level security)."""
    from sqlalchemy import func, select

    async with harness.owner() as db:
        return await db.scalar(select(func.count()).select_from(model).where(*where))


def metric_samples(text: str) -> dict[tuple, float]:
    """Prometheus text as {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}



def invitation_row(now: datetime, **fields) -> Invitation:
    """An invitation as a row, never stored (encoding and payload tests): sent at `now`, pending
    for a week, then `fields`."""
    base = {"id": "inv_1", "team_id": "team_1", "email": "Ann@Example.com", "email_normalized": "ann@example.com",
            "role": "member", "task_ids": ["task_1"], "token_hash": b"mail", "link_token_hash": b"link",
            "status": "pending", "expires_at": now + timedelta(days=7), "lifetime_seconds": 604800,
            "invited_by_user_id": "usr_1", "invited_by_api_key_id": None, "inviter_name": "Olivia Owner",
            "created_at": now, "send_count": 1, "last_sent_at": now, "delivery_status": "queued",
            "delivery_attempts": 0}
    return Invitation(**{**base, **fields})
