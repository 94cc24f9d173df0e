"""Abuse limits: 429 rate_limited with Retry-After, nothing written, and no way around them by
writing X-Forwarded-For. Also the cap on a team's pending invitations."""

from datetime import timedelta

from sqlalchemy import select

from teamgate.storage.models import Invitation, Membership, OutboxMessage
from teamgate.storage.models import Team as TeamRow
from tests.factories import (NEW_PERSON, add_member, count_rows, invite, key_headers, make_api_key, make_team, problem,
                             sign_in)

URL = "/api/v1/team-invitations"



def retry_after(response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert seconds >= 1
    assert response.json()["retryAfter"] == seconds
    return seconds


# --- passwords ----------------------------------------------------------------------------------

async def test_repeated_failed_sign_ins_hit_429_with_retry_after(harness, client):
    team = await make_team(harness.rt)
    codes = []
    for _ in range(11):
        response = await client.post("/api/v1/auth/login", json={"email": team.owner.email, "password": "wrong one!"})
        codes.append(response.json()["code"])
    assert codes[:10] == ["invalid_credentials"] * 10
    assert codes[10] == "rate_limited"
    assert response.status_code == 429
    assert 1 <= retry_after(response) <= 60
    # the right password is refused too while the limit lasts: brute force gains nothing
    right = await client.post("/api/v1/auth/login", json={"email": team.owner.email, "password": team.owner.password})
    assert right.status_code == 429


async def test_guessing_one_password_from_ever_new_forwarded_addresses_still_hits_429(harness, client):
    team = await make_team(harness.rt)
    statuses = []
    for n in range(12):
        spoofed = {"X-Forwarded-For": f"198.51.100.{n}"}
        response = await client.post("/api/v1/auth/login", headers=spoofed,
                                      json={"email": team.owner.email, "password": f"guess number {n}"})
        statuses.append(response.status_code)
    assert statuses == [401] * 10 + [429] * 2


async def test_the_sign_in_page_shares_the_limit_with_the_api(harness, client):
    team = await make_team(harness.rt)
    for _ in range(10):
        await client.post("/api/v1/auth/login", json={"email": team.owner.email, "password": "wrong one!"})
    page = await client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    response = await client.post("/login", data={"email": team.owner.email, "password": team.owner.password, "csrf": csrf})
    assert response.status_code == 429
    assert "Too many attempts" in response.text


# --- tokens -------------------------------------------------------------------------------------

async def test_hammering_the_public_token_endpoints_hits_429_and_stays_there(harness, client):
    team = await make_team(harness.rt)
    real = await invite(harness.client(), await make_api_key(harness.rt, team.id), "ann@example.com")
    statuses = [(await client.get(f"{URL}/validate/guess{i}")).status_code for i in range(61)]
    assert statuses[:60] == [404] * 60
    assert statuses[60] == 429
    # the real token, other token routes and the invite page are refused as well while the limit lasts
    assert (await client.get(f"{URL}/validate/{real['token']}")).status_code == 429
    assert (await client.post(f"{URL}/accept", json={"token": real["token"], **NEW_PERSON})).status_code == 429
    assert (await client.post(f"{URL}/decline", json={"token": real["token"]})).status_code == 429
    page = await client.get(f"/invite?token={real['token']}")
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert int(page.headers["Retry-After"]) >= 1
    assert (await count_rows(harness, Invitation), real["status"]) == (1, "pending")


async def test_spoofed_forwarded_for_headers_are_ignored_without_trusted_proxies(harness, client):
    statuses = [(await client.get(f"{URL}/validate/guess{i}", headers={"X-Forwarded-For": f"198.51.100.{i}"}))
                .status_code for i in range(62)]
    assert statuses[60:] == [429, 429]


async def test_behind_a_trusted_proxy_the_client_it_reports_is_limited_whatever_it_claims(harness_with):
    harness = await harness_with(trusted_proxies="127.0.0.1")  # the test client connects from 127.0.0.1
    client = harness.client()

    def through_proxy(claimed: str, real: str) -> dict:
        # the attacker writes any X-Forwarded-For; the proxy appends the address it saw
        return {"X-Forwarded-For": f"{claimed}, {real}"}

    statuses = [(await client.get(f"{URL}/validate/guess{i}", headers=through_proxy(f"198.51.100.{i}", "203.0.113.7")))
                .status_code for i in range(62)]
    assert statuses[:60] == [404] * 60 and statuses[60:] == [429, 429]
    # another client behind the same proxy has its own allowance
    other = await client.get(f"{URL}/validate/guess", headers=through_proxy("203.0.113.7", "203.0.113.8"))
    assert other.status_code == 404


async def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(harness_with):
    harness = await harness_with(trusted_proxies="10.0.0.0/8")  # the test client, 127.0.0.1, is not one
    client = harness.client()
    statuses = [(await client.get(f"{URL}/validate/guess{i}", headers={"X-Forwarded-For": f"10.1.1.{i}"}))
                .status_code for i in range(61)]
    assert statuses[60] == 429


# --- invitations --------------------------------------------------------------------------------

async def test_creating_invitations_is_limited_per_team(harness_with):
    harness = await harness_with(rate_limit_invitations_per_team="3/hour")
    team = await make_team(harness.rt)
    first, second = await make_api_key(harness.rt, team.id, name="one"), await make_api_key(harness.rt, team.id)
    client = harness.client()
    for n, key in enumerate([first, second, first]):
        await invite(client, key, f"p{n}@example.com")
    refused = await client.post(URL, headers=key_headers(second), json={"email": "p3@example.com", "role": "member"})
    problem(refused, 429, "rate_limited")
    assert retry_after(refused) > 60  # an hourly window
    assert (await count_rows(harness, Invitation), await count_rows(harness, OutboxMessage)) == (3, 3)
    # another team is not held back
    other = await make_team(harness.rt, "bob@example.com", name="Other")
    await invite(client, await make_api_key(harness.rt, other.id), "p3@example.com")


async def keys_made_by(client, person, team_id: str, count: int) -> list[str]:
    """API keys made by `person` through the API (signed in on `client`)."""
    headers = {**await sign_in(client, person), "X-Team-Id": team_id}
    made = []
    for n in range(count):
        response = await client.post("/api/v1/api-keys", headers=headers, json={"name": f"key {n}", "role": "admin"})
        assert response.status_code == 201, response.text
        made.append(response.json()["key"])
    return made


class TestThePerInviterLimitCountsHumans:
    async def test_two_keys_of_one_maker_share_one_allowance(self, harness_with):
        harness = await harness_with(rate_limit_invitations_per_inviter="2/hour")
        team = await make_team(harness.rt)
        first, second = await keys_made_by(harness.client(), team.owner, team.id, 2)
        client = harness.client()
        await invite(client, first, "a@example.com")
        await invite(client, second, "b@example.com")
        refused = await client.post(URL, headers=key_headers(first), json={"email": "c@example.com", "role": "member"})
        problem(refused, 429, "rate_limited")
        problem(await client.post(URL, headers=key_headers(second), json={"email": "c@example.com", "role": "member"}),
                429, "rate_limited")
        assert await count_rows(harness, Invitation) == 2

    async def test_keys_in_two_teams_and_the_makers_session_share_it_too(self, harness_with):
        harness = await harness_with(rate_limit_invitations_per_inviter="2/hour")
        home = await make_team(harness.rt)
        other = await make_team(harness.rt, "other-owner@example.com", name="Other")
        async with harness.owner() as db:  # the same person is an admin of the other team as well
            db.add(Membership(team_id=other.id, user_id=home.owner.id, role="admin", is_owner=False,
                              created_at=harness.clock.now()))
        [home_key] = await keys_made_by(harness.client(), home.owner, home.id, 1)
        [other_key] = await keys_made_by(harness.client(), home.owner, other.id, 1)
        client = harness.client()
        await invite(client, home_key, "a@example.com")
        await invite(client, other_key, "b@example.com")
        session = harness.client()
        headers = {**await sign_in(session, home.owner), "X-Team-Id": home.id}
        problem(await session.post(URL, headers=headers, json={"email": "c@example.com", "role": "member"}),
                429, "rate_limited")

    async def test_another_person_has_an_allowance_of_their_own(self, harness_with):
        harness = await harness_with(rate_limit_invitations_per_inviter="1/hour")
        team = await make_team(harness.rt)
        colleague = await add_member(harness.rt, team.id, "colleague@example.com", role="admin")
        [mine] = await keys_made_by(harness.client(), team.owner, team.id, 1)
        [theirs] = await keys_made_by(harness.client(), colleague, team.id, 1)
        client = harness.client()
        await invite(client, mine, "a@example.com")
        problem(await client.post(URL, headers=key_headers(mine), json={"email": "b@example.com", "role": "member"}),
                429, "rate_limited")
        await invite(client, theirs, "b@example.com")

    async def test_keys_whose_maker_is_gone_count_for_their_team(self, harness_with):
        harness = await harness_with(rate_limit_invitations_per_inviter="2/hour")
        team = await make_team(harness.rt)
        first, second = await make_api_key(harness.rt, team.id, name="one"), await make_api_key(harness.rt, team.id)
        client = harness.client()  # keys made by an operator: no maker, so the team is the one counted
        await invite(client, first, "a@example.com")
        await invite(client, second, "b@example.com")
        problem(await client.post(URL, headers=key_headers(second), json={"email": "c@example.com", "role": "member"}),
                429, "rate_limited")
        other = await make_team(harness.rt, "bob@example.com", name="Other")  # its own team's allowance
        await invite(client, await make_api_key(harness.rt, other.id), "c@example.com")


class TestOneTeamCannotUseUpAnAddressForOthers:
    async def test_team_a_spending_its_quota_for_an_address_leaves_team_b_free_to_invite_it(self, harness_with):
        harness = await harness_with(rate_limit_emails_per_recipient="2/day")
        client = harness.client()
        a, b = [await make_api_key(harness.rt, (await make_team(harness.rt, f"o{n}@example.com", name=f"T{n}")).id)
                for n in range(2)]
        created = await invite(client, a, "target@example.com")
        assert (await client.post(f"{URL}/{created['id']}/resend", headers=key_headers(a))).status_code == 200
        refused = await client.post(f"{URL}/{created['id']}/resend", headers=key_headers(a))
        problem(refused, 429, "rate_limited")
        assert 3600 < retry_after(refused) <= 86400
        problem(await client.post(URL, headers=key_headers(a), json={"email": "Target@Example.com", "role": "member"}),
                409, "invitation_pending")

        invited = await invite(client, b, "Target@Example.com")
        assert invited["delivery"]["status"] == "queued"
        assert await count_rows(harness, OutboxMessage, OutboxMessage.invitation_id == invited["id"],
                                OutboxMessage.status == "queued") == 1
        # an invitation without an email (the admin copies the link) sends nothing, so it is never held back
        c = await make_api_key(harness.rt, (await make_team(harness.rt, "o3@example.com", name="T3")).id)
        await invite(client, c, "target@example.com", sendEmail=False)

    async def test_the_cap_across_all_teams_delays_delivery_and_never_refuses(self, harness_with):
        harness = await harness_with(rate_limit_emails_per_recipient_all_teams="2/day")
        client = harness.client()
        keys = [await make_api_key(harness.rt, (await make_team(harness.rt, f"o{n}@example.com", name=f"T{n}")).id)
                for n in range(3)]
        invited = [await invite(client, key, "target@example.com") for key in keys]  # all 201
        sent = await harness.send_mail()
        assert len(sent) == 2
        async with harness.owner() as db:
            [waiting] = list(await db.scalars(select(OutboxMessage).where(OutboxMessage.status == "queued")))
        assert waiting.attempts == 0 and waiting.last_error is None  # postponed, not failed
        assert waiting.next_attempt_at > harness.clock.now() + timedelta(hours=1)
        assert waiting.invitation_id in {i["id"] for i in invited}
        assert await harness.send_mail() == []  # not due yet


async def test_creating_teams_is_limited_per_person(harness_with):
    harness = await harness_with(rate_limit_teams_per_person="2/day")
    team = await make_team(harness.rt)
    client = harness.client()
    headers = await sign_in(client, team.owner)
    for n in range(2):
        assert (await client.post("/api/v1/teams", headers=headers, json={"name": f"Side {n}"})).status_code == 201
    refused = await client.post("/api/v1/teams", headers=headers, json={"name": "One too many"})
    problem(refused, 429, "rate_limited")
    assert retry_after(refused) > 3600
    assert await count_rows(harness, TeamRow) == 3
    other = await add_member(harness.rt, team.id, "someone@example.com")  # another person is not held back
    other_client = harness.client()
    response = await other_client.post("/api/v1/teams", headers=await sign_in(other_client, other), json={"name": "Own"})
    assert response.status_code == 201


async def test_resending_one_invitation_is_limited(harness_with):
    harness = await harness_with(rate_limit_resends_per_invitation="2/hour")
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    created = await invite(client, key, "ann@example.com")
    tokens = []
    for _ in range(2):
        response = await client.post(f"{URL}/{created['id']}/resend", headers=key_headers(key))
        assert response.status_code == 200, response.text
        tokens.append(response.json()["token"])
    refused = await client.post(f"{URL}/{created['id']}/resend", headers=key_headers(key))
    problem(refused, 429, "rate_limited")
    # the refused resend rotated nothing: the last link still works
    assert (await client.get(f"{URL}/validate/{tokens[-1]}")).status_code == 200
    assert await count_rows(harness, OutboxMessage) == 3


async def test_an_unreadable_limit_setting_is_refused_at_start(settings):
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="rate_limit_sign_in_per_ip"):
        settings.model_validate({**settings.model_dump(), "rate_limit_sign_in_per_ip": "lots"})


# --- the pending cap ----------------------------------------------------------------------------

async def test_a_team_may_have_only_so_many_pending_invitations(harness_with):
    harness = await harness_with(max_pending_invitations=2)
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    first = await invite(client, key, "a@example.com")
    await invite(client, key, "b@example.com")
    refused = await client.post(URL, headers=key_headers(key), json={"email": "c@example.com", "role": "member"})
    problem(refused, 409, "pending_limit_reached")
    assert await count_rows(harness, Invitation) == 2
    # an answered or cancelled invitation frees its place
    assert (await client.delete(f"{URL}/{first['id']}", headers=key_headers(key))).status_code == 200
    await invite(client, key, "c@example.com")


async def test_expired_invitations_do_not_count_against_the_pending_cap(harness_with):
    harness = await harness_with(max_pending_invitations=1)
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    old = await invite(client, key, "a@example.com", expiresInDays=1)
    harness.clock.advance(days=2)
    await invite(client, key, "b@example.com")
    # and reviving the expired one by resend would exceed the cap
    problem(await client.post(f"{URL}/{old['id']}/resend", headers=key_headers(key)), 409, "pending_limit_reached")


# --- shared across processes --------------------------------------------------------------------

async def test_with_redis_storage_two_service_instances_count_together(harness_with):
    import random

    shared = {"rate_limit_storage": "redis://127.0.0.1:6379/0", "rate_limit_token_use_per_ip": "4/minute",
              "trusted_proxies": "127.0.0.1"}
    first, second = await harness_with(**shared), await harness_with(**shared)
    # a client address of its own, so other runs on the same Redis do not count against this one
    client_address = {"X-Forwarded-For": f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"}
    statuses = [(await h.client().get(f"{URL}/validate/guess{i}", headers=client_address)).status_code
                for i, h in enumerate([first, second] * 3)]
    assert statuses == [404] * 4 + [429] * 2


async def test_with_redis_a_create_refused_for_another_reason_uses_none_of_the_recipients_emails(harness_with):
    # one round trip counts the email rule with the create's others, ahead of its turn; a create
    # that fails before its email is queued gives that entry back (ratelimit.EmailQuota)
    harness = await harness_with(rate_limit_storage="redis://127.0.0.1:6379/0", rate_limit_emails_per_recipient="2/day")
    team = await make_team(harness.rt)  # a new team id: counted apart from other runs on this Redis
    key = await make_api_key(harness.rt, team.id)
    client = harness.client()
    first = await invite(client, key, "ann@example.com")
    for _ in range(3):
        problem(await client.post(URL, headers=key_headers(key), json={"email": "ann@example.com", "role": "member"}),
                409, "invitation_pending")
    assert (await client.delete(f"{URL}/{first['id']}", headers=key_headers(key))).status_code == 200
    second = await invite(client, key, "ann@example.com")
    assert (await client.delete(f"{URL}/{second['id']}", headers=key_headers(key))).status_code == 200
    problem(await client.post(URL, headers=key_headers(key), json={"email": "ann@example.com", "role": "member"}),
            429, "rate_limited")
