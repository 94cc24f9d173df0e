"""Listing, reading, cancelling and resending invitations, the audit trail they leave, and team walls."""

from datetime import timedelta

import pytest

from tests.factories import (DIRECTOR_ROLES, NEW_PERSON, add_member, invite, key_headers, make_api_key, make_team,
                             problem)

URL = "/api/v1/team-invitations"
ZULU = "%Y-%m-%dT%H:%M:%SZ"

@pytest.fixture
async def acme(harness):
    """A team with an admin API key: (team, key)."""
    team = await make_team(harness.rt)
    return team, await make_api_key(harness.rt, team.id)


@pytest.fixture
async def rival(harness):
    """A second team with its own admin key: (team, key)."""
    team = await make_team(harness.rt, "rival.owner@example.com", name="Rival")
    return team, await make_api_key(harness.rt, team.id, name="rival backend")


@pytest.fixture
async def director_app(harness_with):
    """The app with a catalog director(90) / agency_admin(50) / agency_user(10)."""
    return await harness_with(roles=DIRECTOR_ROLES)


def zulu(moment) -> str:
    return moment.strftime(ZULU)



async def listed(client, key, **params) -> dict:
    response = await client.get(URL, headers=key_headers(key), params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def ids(client, key, **params) -> list[str]:
    return [i["id"] for i in (await listed(client, key, **params))["data"]]


async def get(client, key, invitation_id: str):
    return await client.get(f"{URL}/{invitation_id}", headers=key_headers(key))


async def cancel(client, key, invitation_id: str):
    return await client.delete(f"{URL}/{invitation_id}", headers=key_headers(key))


async def resend(client, key, invitation_id: str, body: dict | None = None):
    return await client.post(f"{URL}/{invitation_id}/resend", headers=key_headers(key), json=body)


async def validate(client, token: str):
    return await client.get(f"{URL}/validate/{token}")


async def accept(client, token: str):
    response = await client.post(f"{URL}/accept", json={"token": token, **NEW_PERSON})
    assert response.status_code == 200, response.text


async def decline(client, token: str):
    response = await client.post(f"{URL}/decline", json={"token": token})
    assert response.status_code == 200, response.text


async def close_by(how: str, harness, key, created: dict) -> None:
    if how == "accepted":
        await accept(harness.client(), created["token"])
    elif how == "declined":
        await decline(harness.client(), created["token"])
    else:
        assert (await cancel(harness.client(), key, created["id"])).status_code == 200


# --- list -------------------------------------------------------------------------------------

async def test_the_list_shows_pending_invitations_by_default(harness, client, acme):
    _, key = acme
    kept = await invite(client, key, "kept@example.com")
    gone = await invite(client, key, "gone@example.com")
    await cancel(client, key, gone["id"])
    assert await ids(client, key) == [kept["id"]]


async def test_each_status_filter_lists_only_invitations_in_that_status(harness, client, acme):
    _, key = acme
    made = {s: await invite(client, key, f"{s}@example.com", expiresInDays=1 if s == "expired" else 7)
            for s in ("pending", "accepted", "declined", "revoked", "expired")}
    for how in ("accepted", "declined", "revoked"):
        await close_by(how, harness, key, made[how])
    harness.clock.advance(days=2)
    for status, created in made.items():
        found = (await listed(client, key, status=status))["data"]
        assert [(i["id"], i["status"]) for i in found] == [(created["id"], status)], status
    assert sorted(await ids(client, key, status="all")) == sorted(i["id"] for i in made.values())


async def test_an_unknown_status_filter_is_refused(harness, client, acme):
    response = await client.get(URL, headers=key_headers(acme[1]), params={"status": "everything"})
    assert [e["field"] for e in problem(response, 422, "validation_error")["errors"]] == ["status"]


async def test_cursor_pages_walk_every_invitation_once_newest_first(harness, client, acme):
    _, key = acme
    created = [(await invite(client, key, f"person{n}@example.com"))["id"] for n in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        page = await listed(client, key, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["data"]) <= 2
        seen += [i["id"] for i in page["data"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))
    assert pages == 3


@pytest.mark.parametrize("cursor", ["garbage!!", "%%%", "bm90LWFuLWlk"])
async def test_a_cursor_this_api_did_not_return_is_refused(harness, client, acme, cursor):
    response = await client.get(URL, headers=key_headers(acme[1]), params={"cursor": cursor})
    assert [e["field"] for e in problem(response, 422, "validation_error")["errors"]] == ["cursor"]


async def test_tokens_never_appear_when_listing_or_reading(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    for response in (await client.get(URL, headers=key_headers(key)),
                     await client.get(URL, headers=key_headers(key), params={"status": "all"}),
                     await get(client, key, created["id"]),
                     await client.get("/api/v1/audit-events", headers=key_headers(key))):
        assert response.status_code == 200, response.text
        assert created["token"] not in response.text
        assert '"token"' not in response.text and "acceptUrl" not in response.text


# --- get and cancel ---------------------------------------------------------------------------

async def test_reading_an_invitation_shows_its_delivery_state(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    body = (await get(client, key, created["id"])).json()
    assert body["id"] == created["id"] and body["email"] == "new@example.com"
    assert body["delivery"] == {"status": "queued", "attempts": 0, "lastError": None, "lastErrorCode": None,
                                "sentAt": None}


async def test_another_teams_invitation_is_not_found(harness, client, acme, rival):
    theirs = await invite(client, rival[1], "new@example.com")
    problem(await get(client, acme[1], theirs["id"]), 404, "invitation_not_found")


async def test_cancelling_a_pending_invitation_revokes_it_and_kills_its_link(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    response = await cancel(client, key, created["id"])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked"
    assert response.json()["revokedAt"] == zulu(harness.clock.now())
    problem(await validate(client, created["token"]), 400, "invitation_revoked")


async def test_cancelling_drops_the_email_not_yet_sent(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    await cancel(client, key, created["id"])
    assert await harness.send_mail() == []


async def test_cancelling_twice_is_refused_as_not_pending(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    await cancel(client, key, created["id"])
    problem(await cancel(client, key, created["id"]), 409, "invitation_not_pending")


async def test_cancelling_another_teams_invitation_is_not_found_and_leaves_it_pending(harness, client, acme, rival):
    theirs = await invite(client, rival[1], "new@example.com")
    problem(await cancel(client, acme[1], theirs["id"]), 404, "invitation_not_found")
    assert (await get(client, rival[1], theirs["id"])).json()["status"] == "pending"
    assert (await validate(client, theirs["token"])).status_code == 200


# --- resend -----------------------------------------------------------------------------------

async def test_resend_rotates_the_token_so_the_old_link_dies(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    response = await resend(client, key, created["id"])
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["id"] == created["id"] and fresh["token"] != created["token"]
    assert fresh["acceptUrl"].endswith(fresh["token"])
    problem(await validate(client, created["token"]), 404, "invitation_not_found")
    assert (await validate(client, fresh["token"])).status_code == 200


async def test_resend_resets_the_expiry_and_counts_the_send(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    harness.clock.advance(days=3)
    fresh = (await resend(client, key, created["id"])).json()
    assert fresh["expiresAt"] == zulu(harness.clock.now() + timedelta(days=7))
    assert (created["sendCount"], fresh["sendCount"]) == (1, 2)
    assert fresh["lastSentAt"] == zulu(harness.clock.now())


async def test_resend_sends_only_the_new_link(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    fresh = (await resend(client, key, created["id"])).json()
    [mail] = await harness.send_mail()  # the first email was never sent: only the new one goes
    assert "/invite?token=" in mail.text and "/invite?token=" in mail.html
    assert created["token"] not in mail.text + mail.html and fresh["token"] not in mail.text + mail.html


async def test_resend_after_the_first_email_went_out_sends_a_second(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    assert len(await harness.send_mail()) == 1
    fresh = (await resend(client, key, created["id"])).json()
    assert fresh["delivery"]["status"] == "queued"
    [mail] = await harness.send_mail()
    assert mail.recipient == "new@example.com" and "/invite?token=" in mail.text


async def test_resend_revives_an_expired_invitation(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    harness.clock.advance(days=8)
    assert await ids(client, key, status="expired") == [created["id"]]
    fresh = (await resend(client, key, created["id"])).json()
    assert fresh["status"] == "pending"
    assert fresh["expiresAt"] == zulu(harness.clock.now() + timedelta(days=7))
    assert await ids(client, key) == [created["id"]]
    assert (await validate(client, fresh["token"])).status_code == 200


@pytest.mark.parametrize("how", ["accepted", "declined", "revoked"])
async def test_a_closed_invitation_cannot_be_resent(harness, client, acme, how):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    await close_by(how, harness, key, created)
    await harness.send_mail()
    problem(await resend(client, key, created["id"]), 409, "invitation_not_pending")
    assert (await get(client, key, created["id"])).json()["status"] == how
    assert await harness.send_mail() == []


@pytest.mark.parametrize("body", [{"expiresInDays": 2}, {"expires_in_days": 2}])
async def test_resend_honours_expires_in_days(harness, client, acme, body):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    fresh = (await resend(client, key, created["id"], body)).json()
    assert fresh["expiresAt"] == zulu(harness.clock.now() + timedelta(days=2))


async def test_resend_refuses_expires_in_days_out_of_range_and_keeps_the_old_link(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    problem(await resend(client, key, created["id"], {"expiresInDays": 31}), 422, "validation_error")
    assert (await validate(client, created["token"])).status_code == 200


async def test_resending_another_teams_invitation_is_not_found(harness, client, acme, rival):
    theirs = await invite(client, rival[1], "new@example.com")
    problem(await resend(client, acme[1], theirs["id"]), 404, "invitation_not_found")
    assert (await validate(client, theirs["token"])).status_code == 200


async def test_resending_an_expired_invitation_is_refused_while_a_newer_one_is_pending(harness, client, acme):
    _, key = acme
    old = await invite(client, key, "new@example.com")
    harness.clock.advance(days=8)
    newer = await invite(client, key, "new@example.com")
    assert problem(await resend(client, key, old["id"]), 409, "invitation_pending")["invitationId"] == newer["id"]
    problem(await validate(client, old["token"]), 400, "invitation_expired")


async def test_resending_to_someone_who_has_since_joined_is_refused(harness, client, acme):
    team, key = acme
    created = await invite(client, key, "new@example.com", sendEmail=False)
    await add_member(harness.rt, team.id, "new@example.com")
    problem(await resend(client, key, created["id"]), 409, "already_member")
    assert await harness.send_mail() == []


async def test_resend_and_cancel_recheck_the_callers_rank(director_app):
    h = director_app
    team = await make_team(h.rt)
    director = await make_api_key(h.rt, team.id, role="director", name="director")
    admin = await make_api_key(h.rt, team.id, role="agency_admin", name="admin")
    client = h.client()
    created = await invite(client, director, "boss@example.com", role="director")
    await h.send_mail()
    problem(await resend(client, admin, created["id"]), 403, "role_not_allowed")
    problem(await cancel(client, admin, created["id"]), 403, "role_not_allowed")
    assert (await validate(client, created["token"])).status_code == 200
    assert await h.send_mail() == []


async def test_a_key_without_invitations_manage_cannot_list_cancel_or_resend(harness, client, acme):
    team, key = acme
    created = await invite(client, key, "new@example.com")
    reader = await make_api_key(harness.rt, team.id, role="member", name="reader")
    problem(await client.get(URL, headers=key_headers(reader)), 403, "forbidden")
    problem(await get(client, reader, created["id"]), 403, "forbidden")
    problem(await cancel(client, reader, created["id"]), 403, "forbidden")
    problem(await resend(client, reader, created["id"]), 403, "forbidden")
    assert (await validate(client, created["token"])).status_code == 200


# --- audit ------------------------------------------------------------------------------------

async def audit_actions(client, key, target_id: str) -> list[str]:
    response = await client.get("/api/v1/audit-events", headers=key_headers(key))
    assert response.status_code == 200, response.text
    return [e["action"] for e in reversed(response.json()["data"])
            if e["target"] and e["target"]["id"] == target_id]


async def test_create_resend_and_cancel_are_audited_in_order(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com")
    await resend(client, key, created["id"])
    await cancel(client, key, created["id"])
    assert await audit_actions(client, key, created["id"]) == [
        "invitation.created", "invitation.resent", "invitation.revoked"]


async def test_audit_events_name_the_api_key_that_acted(harness, client, acme):
    _, key = acme
    created = await invite(client, key, "new@example.com", role="admin")
    events = (await client.get("/api/v1/audit-events", headers=key_headers(key),
                               params={"action": "invitation.created"})).json()["data"]
    [event] = events
    assert event["actor"]["type"] == "api_key" and event["actor"]["id"].startswith("key_")
    assert event["target"] == {"type": "invitation", "id": created["id"], "name": None}
    assert event["data"]["email"] == "new@example.com" and event["data"]["role"] == "admin"


async def test_a_refused_cancel_writes_no_audit_event(harness, client, acme, rival):
    theirs = await invite(client, rival[1], "new@example.com")
    await cancel(client, acme[1], theirs["id"])
    assert await audit_actions(client, rival[1], theirs["id"]) == ["invitation.created"]
    assert await audit_actions(client, acme[1], theirs["id"]) == []
