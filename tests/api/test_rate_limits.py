"""Abuse limits: 429 rate_limited with Retry-After, nothing written, and no way around them by
writing X-Forwarded-For. Also the cap on a team's pending invitations."""

from teamgate.storage.models import Invitation, OutboxMessage
from tests.factories import NEW_PERSON, count_rows, invite, key_headers, make_api_key, make_team, problem

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


async def test_creating_invitations_is_limited_per_inviter(harness_with):
    harness = await harness_with(rate_limit_invitations_per_inviter="2/hour")
    team = await make_team(harness.rt)
    eager, calm = await make_api_key(harness.rt, team.id, name="eager"), await make_api_key(harness.rt, team.id)
    client = harness.client()
    await invite(client, eager, "a@example.com")
    await invite(client, eager, "b@example.com")
    problem(await client.post(URL, headers=key_headers(eager), json={"email": "c@example.com", "role": "member"}),
            429, "rate_limited")
    await invite(client, calm, "c@example.com")
    assert await count_rows(harness, Invitation) == 3


async def test_one_mailbox_gets_a_limited_number_of_invitation_emails_a_day_from_all_teams(harness_with):
    harness = await harness_with(rate_limit_emails_per_recipient="2/day")
    client = harness.client()
    keys = [await make_api_key(harness.rt, (await make_team(harness.rt, f"o{n}@example.com", name=f"T{n}")).id)
            for n in range(4)]
    await invite(client, keys[0], "target@example.com")
    await invite(client, keys[1], "Target@Example.com")
    refused = await client.post(URL, headers=key_headers(keys[2]), json={"email": "target@example.com", "role": "member"})
    problem(refused, 429, "rate_limited")
    assert 3600 < retry_after(refused) <= 86400
    assert (await count_rows(harness, Invitation), await count_rows(harness, OutboxMessage)) == (2, 2)
    # an invitation without an email (the admin copies the link) sends nothing, so it is not held back
    await invite(client, keys[3], "target@example.com", sendEmail=False)


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
