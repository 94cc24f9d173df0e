"""POST /api/v1/team-invitations: what it returns, what it refuses, and that a refusal writes nothing."""

import re
from datetime import datetime, timedelta

import pytest

from tests.factories import problem, AGENCY_ROLES, DIRECTOR_ROLES, add_member, invite, key_headers, make_api_key, make_team, make_user, sign_in

URL = "/api/v1/team-invitations"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
ZULU = "%Y-%m-%dT%H:%M:%SZ"

@pytest.fixture
async def acme(harness):
    """A team with an admin API key: (team, key)."""
    team = await make_team(harness.rt)
    return team, await make_api_key(harness.rt, team.id)


async def post(client, key, body, **headers):
    return await client.post(URL, headers={**key_headers(key), **headers}, json=body)


async def pending(client, key) -> list[dict]:
    response = await client.get(URL, headers=key_headers(key))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def zulu(moment: datetime) -> str:
    return moment.strftime(ZULU)



def field_errors(body: dict) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


async def assert_nothing_written(harness, client, key) -> None:
    assert await pending(client, key) == []
    assert await harness.send_mail() == []


# --- the created invitation --------------------------------------------------------------

async def test_create_returns_a_43_character_url_safe_token_and_its_accept_url(harness, client, acme):
    _, key = acme
    response = await post(client, key, {"email": "new@example.com", "role": "member"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert TOKEN.match(body["token"])
    assert body["acceptUrl"] == f"http://127.0.0.1:8000/invite?token={body['token']}"
    assert body["id"].startswith("inv_")


async def test_create_answers_in_camel_case_with_utc_times_ending_in_z(harness, client, acme):
    team, key = acme
    body = await invite(client, key, "new@example.com")
    for name in ("teamId", "taskIds", "expiresAt", "createdAt", "invitedBy", "acceptUrl", "sendCount"):
        assert name in body
    assert not any("_" in name for name in body)
    assert body["teamId"] == team.id and body["status"] == "pending" and body["role"] == "member"
    assert body["createdAt"] == zulu(harness.clock.now())
    assert body["expiresAt"].endswith("Z")


async def test_an_invitation_expires_after_seven_days_by_default(harness, client, acme):
    body = await invite(client, acme[1], "new@example.com")
    assert body["expiresAt"] == zulu(harness.clock.now() + timedelta(days=7))


@pytest.mark.parametrize("days", [1, 30])
async def test_expires_in_days_within_one_to_thirty_is_honoured(harness, client, acme, days):
    body = await invite(client, acme[1], "new@example.com", expiresInDays=days)
    assert body["expiresAt"] == zulu(harness.clock.now() + timedelta(days=days))


@pytest.mark.parametrize("days", [0, 31])
async def test_expires_in_days_outside_one_to_thirty_is_refused(harness, client, acme, days):
    response = await post(client, acme[1], {"email": "new@example.com", "role": "member", "expiresInDays": days})
    assert field_errors(problem(response, 422, "validation_error")) == {"expiresInDays"}
    await assert_nothing_written(harness, client, acme[1])


async def test_snake_case_field_names_are_accepted_on_input(harness, client, acme):
    _, key = acme
    task = await client.post("/api/v1/tasks", headers=key_headers(key), json={"title": "Onboarding"})
    body = await invite(client, key, "new@example.com", task_ids=[task.json()["id"]], expires_in_days=3,
                        send_email=False)
    assert body["taskIds"] == [task.json()["id"]]
    assert body["expiresAt"] == zulu(harness.clock.now() + timedelta(days=3))
    assert body["delivery"]["status"] == "skipped"


# --- closed, bounded input ------------------------------------------------------------------

async def test_an_unknown_field_is_refused(harness, client, acme):
    team, key = acme
    response = await post(client, key, {"email": "new@example.com", "role": "member", "teamId": team.id})
    assert "teamId" in field_errors(problem(response, 422, "validation_error"))
    await assert_nothing_written(harness, client, key)


async def test_an_email_given_as_an_array_is_refused(harness, client, acme):
    response = await post(client, acme[1], {"email": ["a@example.com", "b@example.com"], "role": "member"})
    assert field_errors(problem(response, 422, "validation_error")) == {"email"}
    await assert_nothing_written(harness, client, acme[1])


async def test_an_invalid_email_is_refused_with_a_field_error(harness, client, acme):
    response = await post(client, acme[1], {"email": "not-an-email", "role": "member"})
    assert field_errors(problem(response, 422, "validation_error")) == {"email"}
    await assert_nothing_written(harness, client, acme[1])


async def test_a_malformed_json_body_is_a_bad_request(harness, client, acme):
    response = await client.post(URL, headers={**key_headers(acme[1]), "content-type": "application/json"},
                                 content=b'{"email": "new@example.com", "role": ')
    problem(response, 400, "bad_request")
    await assert_nothing_written(harness, client, acme[1])


async def test_an_unknown_role_is_refused_with_a_field_error(harness, client, acme):
    response = await post(client, acme[1], {"email": "new@example.com", "role": "superuser"})
    assert field_errors(problem(response, 422, "validation_error")) == {"role"}
    await assert_nothing_written(harness, client, acme[1])


# --- roles and permissions ------------------------------------------------------------------

async def test_the_owner_role_is_never_granted_by_invitation(harness, client, acme):
    problem(await post(client, acme[1], {"email": "new@example.com", "role": "owner"}), 403, "role_not_allowed")
    await assert_nothing_written(harness, client, acme[1])


async def test_not_even_the_team_owner_may_grant_the_owner_role_by_invitation(harness, client, acme):
    team, key = acme
    browser = harness.client()
    csrf = await sign_in(browser, team.owner)
    response = await browser.post(URL, headers=csrf, json={"email": "new@example.com", "role": "owner"})
    problem(response, 403, "role_not_allowed")
    await assert_nothing_written(harness, client, key)


async def test_a_member_key_without_invitations_manage_is_forbidden(harness, client, acme):
    team, admin_key = acme
    member_key = await make_api_key(harness.rt, team.id, role="member", name="reader")
    problem(await post(client, member_key, {"email": "new@example.com", "role": "member"}), 403, "forbidden")
    await assert_nothing_written(harness, client, admin_key)


@pytest.mark.parametrize("role", ["agency_user", "agency_admin"])
async def test_an_agency_admin_may_invite_at_or_below_its_own_rank(harness_with, role):
    h = await harness_with(roles=AGENCY_ROLES)
    team = await make_team(h.rt)
    key = await make_api_key(h.rt, team.id, role="agency_admin")
    body = await invite(h.client(), key, "new@example.com", role=role)
    assert body["role"] == role


async def test_a_role_ranked_above_the_inviter_is_not_allowed(harness_with):
    h = await harness_with(roles=DIRECTOR_ROLES)
    team = await make_team(h.rt)
    key = await make_api_key(h.rt, team.id, role="agency_admin")
    client = h.client()
    problem(await post(client, key, {"email": "new@example.com", "role": "director"}), 403, "role_not_allowed")
    await assert_nothing_written(h, client, key)


# --- one pending invitation per email, members, existing accounts ----------------------------

async def test_a_second_pending_invitation_for_the_same_email_names_the_first(harness, client, acme):
    _, key = acme
    first = await invite(client, key, "new.person@example.com")
    response = await post(client, key, {"email": "  New.Person@EXAMPLE.com ", "role": "admin"})
    assert problem(response, 409, "invitation_pending")["invitationId"] == first["id"]
    assert [i["id"] for i in await pending(client, key)] == [first["id"]]
    assert len(await harness.send_mail()) == 1


async def test_an_expired_invitation_does_not_block_a_new_one_and_lists_as_expired(harness, client, acme):
    _, key = acme
    old = await invite(client, key, "new@example.com")
    harness.clock.advance(days=8)
    new = await invite(client, key, "new@example.com")
    assert [i["id"] for i in await pending(client, key)] == [new["id"]]
    expired = (await client.get(URL, headers=key_headers(key), params={"status": "expired"})).json()["data"]
    assert [(i["id"], i["status"]) for i in expired] == [(old["id"], "expired")]


async def test_inviting_a_member_of_the_team_is_refused(harness, client, acme):
    team, key = acme
    await add_member(harness.rt, team.id, "member@example.com")
    problem(await post(client, key, {"email": "MEMBER@example.com", "role": "member"}), 409, "already_member")
    await assert_nothing_written(harness, client, key)


async def test_an_existing_account_may_be_invited_by_default(harness, client, acme):
    await make_team(harness.rt, "elsewhere@example.com", name="Elsewhere")
    assert (await invite(client, acme[1], "elsewhere@example.com"))["status"] == "pending"


async def test_an_existing_account_is_refused_when_existing_users_may_not_be_invited(harness_with):
    h = await harness_with(invite_existing_users=False)
    team = await make_team(h.rt)
    key = await make_api_key(h.rt, team.id)
    await make_user(h.rt, "elsewhere@example.com")
    client = h.client()
    problem(await post(client, key, {"email": "elsewhere@example.com", "role": "member"}), 409, "account_exists")
    await assert_nothing_written(h, client, key)
    assert (await invite(client, key, "brand.new@example.com"))["status"] == "pending"


# --- seats and tasks --------------------------------------------------------------------------

async def test_the_seat_limit_counts_members_and_pending_invitations(harness, client):
    team = await make_team(harness.rt, seat_limit=2)
    key = await make_api_key(harness.rt, team.id)
    first = await invite(client, key, "first@example.com")
    problem(await post(client, key, {"email": "second@example.com", "role": "member"}), 409, "seat_limit_reached")
    assert [i["id"] for i in await pending(client, key)] == [first["id"]]
    assert [m.recipient for m in await harness.send_mail()] == ["first@example.com"]


async def test_cancelling_a_pending_invitation_frees_its_seat(harness, client):
    team = await make_team(harness.rt, seat_limit=2)
    key = await make_api_key(harness.rt, team.id)
    first = await invite(client, key, "first@example.com")
    assert (await client.delete(f"{URL}/{first['id']}", headers=key_headers(key))).status_code == 200
    assert (await invite(client, key, "second@example.com"))["status"] == "pending"


async def test_tasks_of_the_same_team_are_attached(harness, client, acme):
    _, key = acme
    ids = [(await client.post("/api/v1/tasks", headers=key_headers(key), json={"title": t})).json()["id"]
           for t in ("Design", "Review")]
    body = await invite(client, key, "new@example.com", taskIds=ids)
    assert body["taskIds"] == ids


async def test_a_task_of_another_team_is_refused(harness, client, acme):
    _, key = acme
    other = await make_team(harness.rt, "other.owner@example.com", name="Other")
    other_key = await make_api_key(harness.rt, other.id)
    foreign = await client.post("/api/v1/tasks", headers=key_headers(other_key), json={"title": "Secret"})
    assert foreign.status_code == 201, foreign.text
    response = await post(client, key, {"email": "new@example.com", "role": "member", "taskIds": [foreign.json()["id"]]})
    assert field_errors(problem(response, 422, "validation_error")) == {"taskIds"}
    await assert_nothing_written(harness, client, key)


# --- email ------------------------------------------------------------------------------------

async def test_send_email_false_sends_nothing_and_records_delivery_as_skipped(harness, client, acme):
    body = await invite(client, acme[1], "new@example.com", sendEmail=False)
    assert await harness.send_mail() == []
    assert body["delivery"]["status"] == "skipped" and body["sendCount"] == 0


async def test_the_email_holds_the_link_team_role_inviter_and_expiry(harness, client, acme):
    _, key = acme
    body = await invite(client, key, "new@example.com", role="admin")
    [mail] = await harness.send_mail()
    expires = harness.clock.now() + timedelta(days=7)
    assert mail.recipient == "new@example.com"
    assert body["invitedBy"]["name"] == "Acme"  # a key made by no one (here, by a script) speaks for the team
    for part in (mail.text, mail.html):
        assert body["token"] not in part  # the creator's link token never goes into the email
        for expected in (f"{harness.rt.settings.base_url}/invite?token=", "Acme", "admin", body["invitedBy"]["name"], "7 days",
                         expires.strftime("%Y-%m-%d %H:%M UTC")):
            assert expected in part, expected


async def test_delivery_is_queued_then_sent_once_the_dispatcher_runs(harness, client, acme):
    _, key = acme
    body = await invite(client, key, "new@example.com")
    assert body["delivery"]["status"] == "queued"
    await harness.send_mail()
    after = (await client.get(f"{URL}/{body['id']}", headers=key_headers(key))).json()
    assert after["delivery"]["status"] == "sent"
    assert after["delivery"]["sentAt"] == zulu(harness.clock.now())


# --- authentication -----------------------------------------------------------------------------

async def test_a_request_without_credentials_is_unauthenticated(harness, client, acme):
    response = await client.post(URL, json={"email": "new@example.com", "role": "member"})
    problem(response, 401, "unauthenticated")
    await assert_nothing_written(harness, client, acme[1])


async def test_an_unknown_api_key_is_unauthenticated(harness, client, acme):
    problem(await post(client, "tgk_" + "x" * 43, {"email": "new@example.com", "role": "member"}),
            401, "unauthenticated")
    await assert_nothing_written(harness, client, acme[1])


async def test_a_bearer_authorization_header_works_like_x_api_key(harness, client, acme):
    response = await client.post(URL, headers={"Authorization": f"Bearer {acme[1]}"},
                                 json={"email": "new@example.com", "role": "member"})
    assert response.status_code == 201, response.text


async def test_a_session_write_without_the_csrf_token_is_refused(harness, client, acme):
    team, key = acme
    browser = harness.client()
    await sign_in(browser, team.owner)
    response = await browser.post(URL, json={"email": "new@example.com", "role": "member"})
    problem(response, 403, "csrf_failed")
    await assert_nothing_written(harness, client, key)


async def test_a_session_write_with_the_csrf_token_names_the_signed_in_inviter(harness, client, acme):
    team, _ = acme
    browser = harness.client()
    csrf = await sign_in(browser, team.owner)
    response = await browser.post(URL, headers=csrf, json={"email": "new@example.com", "role": "member"})
    assert response.status_code == 201, response.text
    assert response.json()["invitedBy"] == {"type": "user", "id": team.owner.id, "name": "Olivia Owner"}
    [mail] = await harness.send_mail()
    assert "Olivia Owner" in mail.text


async def test_an_admin_member_signed_in_may_invite_into_the_team_named_by_x_team_id(harness, acme):
    team, _ = acme
    admin = await add_member(harness.rt, team.id, "admin@example.com", role="admin")
    browser = harness.client()
    csrf = await sign_in(browser, admin)
    response = await browser.post(URL, headers={**csrf, "X-Team-Id": team.id},
                                  json={"email": "new@example.com", "role": "admin"})
    assert response.status_code == 201, response.text
    assert response.json()["teamId"] == team.id
