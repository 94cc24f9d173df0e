"""The first-owner setup link under attack: concurrent uses of one link (or of two live links)
make exactly one system owner, a refused use does not burn the link, and each client gets only a
few tries a minute on the API and the page together."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from teamgate.domain.ids import new_id
from teamgate.domain.tokens import hash_token, new_token
from teamgate.services import accounts
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import SetupToken, User
from tests.factories import problem

SETUP = "/api/v1/setup"


async def setup_link(harness) -> str:
    async with unit_of_work(harness.rt.sessions) as db:
        return (await accounts.new_setup_link(db, harness.rt)).split("token=", 1)[1]


def body(token: str, n: int = 0, **override) -> dict:
    return {"token": token, "email": f"root{n}@example.com", "password": "a long root password",
            "firstName": "Rita", "lastName": "Root", **override}


async def system_owners(harness) -> int:
    async with harness.owner() as db:
        return await db.scalar(select(func.count()).select_from(User).where(User.is_system_owner.is_(True)))


def outcomes(responses) -> list:
    return sorted((r.status_code, r.json().get("code")) for r in responses)


async def test_three_concurrent_uses_of_one_setup_link_make_exactly_one_system_owner(harness):
    token = await setup_link(harness)

    # three people, three addresses, one link, at the same moment (each its own client and transaction)
    responses = await asyncio.gather(*(harness.client().post(SETUP, json=body(token, n)) for n in range(3)))

    assert outcomes(responses) == [(201, None), (404, "not_found"), (404, "not_found")]
    assert await system_owners(harness) == 1


async def test_two_live_setup_links_used_at_once_still_make_one_system_owner(harness):
    first = await setup_link(harness)
    second = new_token()  # e.g. two `serve` processes that each printed a link at the same moment
    async with harness.owner() as db:
        now = harness.clock.now()
        db.add(SetupToken(id=new_id("stp"), email=None, token_hash=hash_token(second), created_at=now,
                          expires_at=now + timedelta(days=1)))

    responses = await asyncio.gather(harness.client().post(SETUP, json=body(first, 1)),
                                     harness.client().post(SETUP, json=body(second, 2)))

    assert outcomes(responses) == [(201, None), (404, "not_found")]
    assert await system_owners(harness) == 1


async def test_a_refused_setup_does_not_use_up_the_link(harness, client):
    token = await setup_link(harness)
    refused = problem(await client.post(SETUP, json=body(token, password="password1")), 422, "validation_error")
    assert [e["field"] for e in refused["errors"]] == ["password"]
    assert (await client.post(SETUP, json=body(token))).status_code == 201
    problem(await harness.client().post(SETUP, json=body(token, 9)), 404, "not_found")


async def test_setup_tries_are_limited_per_client_on_the_api_and_the_page_together(harness_with):
    harness = await harness_with(rate_limit_setup_per_ip="3/minute")
    token = await setup_link(harness)
    client = harness.client()
    for _ in range(2):
        problem(await client.post(SETUP, json=body("a-guessed-token")), 404, "not_found")
    assert (await client.get("/setup", params={"token": "another-guess"})).status_code == 404

    refused = await client.post(SETUP, json=body(token))  # even the right link, once the tries are spent
    problem(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= 60
    page = await client.post("/setup", data={"token": token, "email": "root@example.com", "first_name": "R",
                                             "last_name": "R", "password": "a long root password"})
    assert (page.status_code, page.headers["content-type"].split(";")[0]) == (429, "text/html")
    assert "retry-after" in page.headers
    assert await system_owners(harness) == 0
