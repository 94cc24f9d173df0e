"""The invitee's side of an invitation, by token: validate, decline, and accept (new person or existing account).

Every refusal is checked for its status and problem code, and for having changed nothing: the
invitation is still pending, no account was created, no membership was added.
"""

from sqlalchemy import update

from teamgate.storage.models import Team as TeamRow
from teamgate.storage.models import User as UserRow
from tests.factories import (NEW_PERSON, add_member, invite, key_headers, mailed_token, make_api_key, make_team,
                             make_user, sign_in)

INVITEE = "new.person@example.com"


# --- helpers ------------------------------------------------------------------------------

async def start(harness, **team):
    """A team with an admin API key, and the admin's HTTP client."""
    acme = await make_team(harness.rt, **team)
    key = await make_api_key(harness.rt, acme.id)
    return acme, key, harness.client()


async def accept(client, token, headers=None, **body):
    return await client.post("/api/v1/team-invitations/accept", headers=headers or {}, json={"token": token, **body})


async def decline(client, token):
    return await client.post("/api/v1/team-invitations/decline", json={"token": token})


async def validate(client, token):
    return await client.get(f"/api/v1/team-invitations/validate/{token}")


def refused(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text
    return response.json()


async def status_of(admin, key, invitation):
    response = await admin.get(f"/api/v1/team-invitations/{invitation['id']}", headers=key_headers(key))
    assert response.status_code == 200, response.text
    return response.json()["status"]


async def members(admin, key) -> list[dict]:
    response = await admin.get("/api/v1/team-members", headers=key_headers(key))
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def member_roles(admin, key) -> dict[str, str]:
    return {m["email"]: m["role"] for m in await members(admin, key)}


async def login_status(harness, email, password=NEW_PERSON["password"]):
    response = await harness.client().post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code, response.json().get("code")


async def audit_targets(admin, key, action) -> list[str]:
    response = await admin.get("/api/v1/audit-events", params={"action": action}, headers=key_headers(key))
    assert response.status_code == 200, response.text
    return [e["target"]["id"] for e in response.json()["data"]]


async def assert_no_one_joined(harness, admin, key, invitation):
    """No membership, and no account that signs in with the password the accept sent."""
    assert invitation["email"] not in await member_roles(admin, key)
    assert await login_status(harness, invitation["email"]) == (401, "invalid_credentials")


async def assert_unchanged(harness, admin, key, invitation):
    """A refused call left the invitation pending and created or changed no account or membership."""
    assert await status_of(admin, key, invitation) == "pending"
    await assert_no_one_joined(harness, admin, key, invitation)


async def assert_link_is_revoked(harness, admin, key, invitation):
    refused(await validate(harness.client(), invitation["token"]), 400, "invitation_revoked")
    refused(await accept(harness.client(), invitation["token"], **NEW_PERSON), 400, "invitation_revoked")
    await assert_no_one_joined(harness, admin, key, invitation)


async def make_task(admin, key, title):
    response = await admin.post("/api/v1/tasks", headers=key_headers(key), json={"title": title})
    assert response.status_code == 201, response.text
    return response.json()


async def set_seat_limit(harness, team_id, limit):
    async with harness.owner() as db:
        await db.execute(update(TeamRow).where(TeamRow.id == team_id).values(seat_limit=limit))


async def signed_in_admin(harness, acme, email="ada.admin@example.com"):
    """An admin member signed in on its own client; returns (person, client, headers for writes in acme)."""
    person = await add_member(harness.rt, acme.id, email, role="admin", first_name="Ada", last_name="Admin")
    client = harness.client()
    headers = {**await sign_in(client, person), "X-Team-Id": acme.id}
    return person, client, headers


async def invite_as(client, headers, email, role="member", **extra):
    response = await client.post("/api/v1/team-invitations", headers=headers,
                                 json={"email": email, "role": role, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def owner_session(harness, acme):
    client = harness.client()
    return client, await sign_in(client, acme.owner)


# --- validate -----------------------------------------------------------------------------

async def test_validate_describes_the_team_inviter_role_email_expiry_and_tasks(harness):
    acme, key, admin = await start(harness)
    task = await make_task(admin, key, "Write the onboarding guide")
    _, ada, headers = await signed_in_admin(harness, acme)
    created = await invite_as(ada, headers, INVITEE, role="admin", taskIds=[task["id"]])

    preview = await validate(harness.client(), created["token"])
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["team"] == {"id": acme.id, "name": "Acme"}
    assert body["invitedBy"]["name"] == "Ada Admin"
    assert (body["role"], body["email"], body["status"]) == ("admin", INVITEE, "pending")
    assert body["expiresAt"] == created["expiresAt"]
    assert [(t["id"], t["title"]) for t in body["tasks"]] == [(task["id"], "Write the onboarding guide")]
    assert body["accountExists"] is None  # the creator's link token is not told (tests/api/test_address_proof.py)


async def test_validate_says_whether_an_account_exists_for_the_email(harness):
    acme, key, admin = await start(harness)
    await make_user(harness.rt, INVITEE)
    await invite(admin, key, INVITEE)
    await harness.dispatcher.drain()
    async with harness.owner() as db:  # a verified account holds its address even against the mail token
        await db.execute(update(UserRow).where(UserRow.email_normalized == INVITEE).values(
            email_verified_at=harness.clock.now()))
    assert (await validate(harness.client(), await mailed_token(harness, INVITEE))).json()["accountExists"] is True


async def test_validate_is_not_cached_and_leaks_no_referrer(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    response = await validate(harness.client(), created["token"])
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_viewing_a_link_twice_consumes_nothing(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    scanner = harness.client()
    assert (await validate(scanner, created["token"])).status_code == 200
    assert (await validate(scanner, created["token"])).status_code == 200
    assert await status_of(admin, key, created) == "pending"
    assert (await accept(harness.client(), created["token"], **NEW_PERSON)).status_code == 200


async def test_validate_of_an_unknown_token_is_invitation_not_found(harness):
    await start(harness)
    refused(await validate(harness.client(), "not-a-real-token"), 404, "invitation_not_found")


async def test_validate_of_an_expired_invitation_is_invitation_expired(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE, expiresInDays=1)
    harness.clock.advance(days=1, seconds=1)
    refused(await validate(harness.client(), created["token"]), 400, "invitation_expired")


async def test_validate_of_an_accepted_invitation_is_invitation_accepted(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    assert (await accept(harness.client(), created["token"], **NEW_PERSON)).status_code == 200
    refused(await validate(harness.client(), created["token"]), 400, "invitation_accepted")


async def test_validate_of_a_declined_invitation_is_invitation_declined(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    assert (await decline(harness.client(), created["token"])).status_code == 200
    refused(await validate(harness.client(), created["token"]), 400, "invitation_declined")


async def test_validate_of_a_cancelled_invitation_is_invitation_revoked(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    cancelled = await admin.delete(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))
    assert cancelled.status_code == 200, cancelled.text
    refused(await validate(harness.client(), created["token"]), 400, "invitation_revoked")


# --- accept: a new person -----------------------------------------------------------------

async def test_accepting_as_a_new_person_creates_an_account_that_can_sign_in(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    response = await accept(harness.client(), created["token"], **NEW_PERSON)
    assert response.status_code == 200, response.text
    assert response.json()["accountCreated"] is True
    assert response.json()["user"]["email"] == INVITEE
    assert (await login_status(harness, INVITEE))[0] == 200


async def test_accepting_adds_the_membership_with_the_invited_role(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE, role="admin")
    response = await accept(harness.client(), created["token"], **NEW_PERSON)
    assert response.json()["role"] == "admin"
    assert (await member_roles(admin, key))[INVITEE] == "admin"


async def test_accepting_assigns_the_invitations_tasks(harness):
    acme, key, admin = await start(harness)
    first, second = await make_task(admin, key, "First"), await make_task(admin, key, "Second")
    created = await invite(admin, key, INVITEE, taskIds=[first["id"], second["id"]])
    user_id = (await accept(harness.client(), created["token"], **NEW_PERSON)).json()["user"]["id"]
    for task in (first, second):
        shown = await admin.get(f"/api/v1/tasks/{task['id']}", headers=key_headers(key))
        assert user_id in shown.json()["assigneeIds"]


async def test_accepting_signs_the_new_person_in_to_the_team(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    invitee = harness.client()
    assert (await accept(invitee, created["token"], **NEW_PERSON)).status_code == 200
    me = await invitee.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert [m["team"]["id"] for m in me.json()["memberships"]] == [acme.id]
    assert me.json()["activeTeamId"] == acme.id


async def test_an_accepted_invitation_is_marked_accepted_and_audited(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    response = await accept(harness.client(), created["token"], **NEW_PERSON)
    user_id = response.json()["user"]["id"]
    shown = (await admin.get(f"/api/v1/team-invitations/{created['id']}", headers=key_headers(key))).json()
    assert shown["status"] == "accepted"
    assert shown["acceptedAt"] == harness.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert shown["acceptedBy"] == user_id
    assert created["id"] in await audit_targets(admin, key, "invitation.accepted")
    assert user_id in await audit_targets(admin, key, "member.added")


async def test_accepting_without_a_required_field_names_it_and_creates_nothing(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    for missing in ("password", "firstName", "lastName"):
        body = {k: v for k, v in NEW_PERSON.items() if k != missing}
        problem = refused(await accept(harness.client(), created["token"], **body), 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == [missing]
    await assert_unchanged(harness, admin, key, created)


async def test_accepting_with_a_weak_password_is_refused_and_creates_nothing(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    for weak in ("password", "short7!"):
        problem = refused(await accept(harness.client(), created["token"], **{**NEW_PERSON, "password": weak}),
                          422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == ["password"]
    await assert_unchanged(harness, admin, key, created)


async def test_a_megabyte_password_is_refused_before_hashing(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    response = await accept(harness.client(), created["token"], **{**NEW_PERSON, "password": "x" * 1_000_000})
    problem = refused(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["password"]
    assert "x" * 100 not in response.text
    await assert_unchanged(harness, admin, key, created)


async def test_a_megabyte_password_is_refused_by_the_input_bound_before_the_token_is_looked_up(harness):
    await start(harness)
    response = await accept(harness.client(), "no-such-token", **{**NEW_PERSON, "password": "x" * 1_000_000})
    problem = refused(response, 422, "validation_error")
    assert [e["field"] for e in problem["errors"]] == ["password"]


async def test_a_role_or_team_smuggled_into_an_accept_is_refused(harness):
    acme, key, admin = await start(harness)
    other = await make_team(harness.rt, "other.owner@example.com", name="Other")
    created = await invite(admin, key, INVITEE)
    for smuggled in ({"role": "owner"}, {"teamId": other.id}):
        problem = refused(await accept(harness.client(), created["token"], **NEW_PERSON, **smuggled),
                          422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == list(smuggled)
    await assert_unchanged(harness, admin, key, created)


async def test_a_token_is_accepted_only_once(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    assert (await accept(harness.client(), created["token"], **NEW_PERSON)).status_code == 200
    refused(await accept(harness.client(), created["token"], **NEW_PERSON), 400, "invitation_accepted")
    assert [m["email"] for m in await members(admin, key)].count(INVITEE) == 1


async def test_accepting_an_expired_invitation_is_refused_and_creates_nothing(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE, expiresInDays=1)
    harness.clock.advance(days=1, seconds=1)
    refused(await accept(harness.client(), created["token"], **NEW_PERSON), 400, "invitation_expired")
    assert await status_of(admin, key, created) == "expired"
    await assert_no_one_joined(harness, admin, key, created)


# --- accept: an existing account ----------------------------------------------------------

async def test_an_existing_account_must_sign_in_before_accepting(harness):
    acme, key, admin = await start(harness)
    other = await make_team(harness.rt, "other.owner@example.com", name="Other")
    await add_member(harness.rt, other.id, INVITEE)
    created = await invite(admin, key, INVITEE)
    refused(await accept(harness.client(), created["token"], **NEW_PERSON), 409, "account_exists")
    await assert_unchanged(harness, admin, key, created)


async def test_an_existing_account_signed_in_as_the_invited_email_joins_the_team(harness):
    acme, key, admin = await start(harness)
    person = await make_user(harness.rt, INVITEE)
    created = await invite(admin, key, INVITEE, role="admin")
    invitee = harness.client()
    csrf = await sign_in(invitee, person)
    response = await accept(invitee, created["token"], headers=csrf)
    assert response.status_code == 200, response.text
    assert response.json()["accountCreated"] is False
    assert response.json()["user"]["id"] == person.id
    assert (await member_roles(admin, key))[INVITEE] == "admin"
    assert await status_of(admin, key, created) == "accepted"
    assert (await invitee.get("/api/v1/me")).json()["activeTeamId"] == acme.id


async def test_signed_in_as_someone_else_is_email_mismatch_and_adds_no_one(harness):
    acme, key, admin = await start(harness)
    stranger = await make_user(harness.rt, "stranger@example.com")
    created = await invite(admin, key, INVITEE)
    client = harness.client()
    refused(await accept(client, created["token"], headers=await sign_in(client, stranger), **NEW_PERSON),
            403, "email_mismatch")
    await assert_unchanged(harness, admin, key, created)
    assert stranger.email not in await member_roles(admin, key)


async def test_a_signed_in_accept_without_the_csrf_header_is_refused(harness):
    acme, key, admin = await start(harness)
    person = await make_user(harness.rt, INVITEE)
    created = await invite(admin, key, INVITEE)
    invitee = harness.client()
    await sign_in(invitee, person)
    refused(await accept(invitee, created["token"]), 403, "csrf_failed")
    await assert_unchanged(harness, admin, key, created)


async def test_accepting_when_already_a_member_is_already_member(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    person = await add_member(harness.rt, acme.id, INVITEE)  # joined some other way meanwhile
    invitee = harness.client()
    refused(await accept(invitee, created["token"], headers=await sign_in(invitee, person)), 409, "already_member")
    assert await status_of(admin, key, created) == "pending"


# --- the inviter must still be able to grant the role -------------------------------------

async def test_an_invitation_from_an_admin_who_was_removed_is_revoked(harness):
    acme, key, admin = await start(harness)
    ada, ada_client, headers = await signed_in_admin(harness, acme)
    created = await invite_as(ada_client, headers, INVITEE)
    owner, owner_headers = await owner_session(harness, acme)
    assert (await owner.delete(f"/api/v1/team-members/{ada.id}", headers=owner_headers)).status_code == 204
    await assert_link_is_revoked(harness, admin, key, created)


async def test_an_invitation_from_an_admin_who_was_demoted_is_revoked(harness):
    acme, key, admin = await start(harness)
    ada, ada_client, headers = await signed_in_admin(harness, acme)
    created = await invite_as(ada_client, headers, INVITEE)
    owner, owner_headers = await owner_session(harness, acme)
    demoted = await owner.patch(f"/api/v1/team-members/{ada.id}", headers=owner_headers, json={"role": "member"})
    assert demoted.status_code == 200, demoted.text
    await assert_link_is_revoked(harness, admin, key, created)


async def test_an_invitation_from_a_revoked_api_key_is_revoked(harness):
    acme, key, admin = await start(harness)
    inviting_key = await make_api_key(harness.rt, acme.id, name="crm-sync")
    created = await invite(admin, inviting_key, INVITEE)
    key_id = created["invitedBy"]["id"]
    assert (await admin.delete(f"/api/v1/api-keys/{key_id}", headers=key_headers(key))).status_code == 200
    await assert_link_is_revoked(harness, admin, key, created)


# --- seats --------------------------------------------------------------------------------

async def test_accepting_when_the_seat_limit_was_lowered_is_refused_and_changes_nothing(harness):
    acme, key, admin = await start(harness, seat_limit=5)
    created = await invite(admin, key, INVITEE)
    await set_seat_limit(harness, acme.id, 1)  # the owner fills the only seat
    refused(await accept(harness.client(), created["token"], **NEW_PERSON), 409, "seat_limit_reached")
    await assert_unchanged(harness, admin, key, created)


async def test_accepting_the_last_free_seat_succeeds(harness):
    acme, key, admin = await start(harness, seat_limit=5)
    created = await invite(admin, key, INVITEE)
    await set_seat_limit(harness, acme.id, 2)
    assert (await accept(harness.client(), created["token"], **NEW_PERSON)).status_code == 200


# --- decline ------------------------------------------------------------------------------

async def test_declining_marks_the_invitation_declined_and_audits_it(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    response = await decline(harness.client(), created["token"])
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["status"]) == (created["id"], "declined")
    assert await status_of(admin, key, created) == "declined"
    assert created["id"] in await audit_targets(admin, key, "invitation.declined")


async def test_a_declined_invitation_can_no_longer_be_accepted(harness):
    acme, key, admin = await start(harness)
    created = await invite(admin, key, INVITEE)
    assert (await decline(harness.client(), created["token"])).status_code == 200
    refused(await accept(harness.client(), created["token"], **NEW_PERSON), 400, "invitation_declined")
    await assert_no_one_joined(harness, admin, key, created)


async def test_declining_an_unknown_token_is_invitation_not_found(harness):
    await start(harness)
    refused(await decline(harness.client(), "no-such-token"), 404, "invitation_not_found")
