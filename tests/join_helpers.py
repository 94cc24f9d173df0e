"""What the join-link tests share: a team with an admin key, links made through the API, uses of
them by new people and signed-in ones, and the verification link read from the mail."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy import func, select

from teamgate.storage.models import JoinLink, Membership, User
from tests.factories import Person, key_headers, make_api_key, make_team
from tests.recovery_helpers import VERIFY_LINK, mailed_tokens

LINKS = "/api/v1/join-links"
REQUESTS = "/api/v1/join-requests"
ACCEPT = f"{LINKS}/accept"


def newcomer(email: str, first_name: str = "New", last_name: str = "Person") -> dict:
    return {"email": email, "password": "a long new password", "firstName": first_name, "lastName": last_name}


@dataclass
class Admin:
    """A team, its owner, and a client with an admin key of it."""

    team_id: str
    owner: Person
    client: httpx.AsyncClient
    headers: dict[str, str]

    @property
    def owner_id(self) -> str:
        return self.owner.id

    async def link(self, role: str = "member", **fields) -> dict:
        response = await self.client.post(LINKS, headers=self.headers, json={"role": role, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    async def requests(self, status: str = "pending") -> list[dict]:
        response = await self.client.get(f"{REQUESTS}?status={status}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    async def decide(self, request_id: str, verb: str) -> httpx.Response:
        return await self.client.post(f"{REQUESTS}/{request_id}/{verb}", headers=self.headers)

    async def members(self) -> set[str]:
        response = await self.client.get("/api/v1/team-members", headers=self.headers)
        return {m["email"] for m in response.json()["data"]}


async def team_admin(harness, *, seat_limit: int | None = None, owner_email: str = "owner@example.com",
                     name: str = "Acme") -> Admin:
    team = await make_team(harness.rt, owner_email, name=name, seat_limit=seat_limit)
    key = await make_api_key(harness.rt, team.id)
    return Admin(team.id, team.owner, harness.client(), key_headers(key))


async def use(client: httpx.AsyncClient, token: str, **body) -> httpx.Response:
    return await client.post(ACCEPT, json={"token": token, **body})


async def verify_address(harness, client: httpx.AsyncClient, email: str, csrf: str) -> httpx.Response:
    """Use the newest verification link mailed to `email`, signed in (as the link requires)."""
    [*_, token] = await mailed_tokens(harness, VERIFY_LINK, to=email)
    return await client.post("/api/v1/auth/verify-email", json={"token": token}, headers={"X-CSRF-Token": csrf})


async def uses_of(harness, link_id: str) -> int:
    async with harness.owner() as db:
        return await db.scalar(select(JoinLink.uses).where(JoinLink.id == link_id))


async def memberships(harness, team_id: str) -> int:
    async with harness.owner() as db:
        return await db.scalar(select(func.count()).select_from(Membership).where(Membership.team_id == team_id))


async def user_count(harness) -> int:
    async with harness.owner() as db:
        return await db.scalar(select(func.count()).select_from(User))
