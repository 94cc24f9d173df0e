"""The Idempotency-Key header (DESIGN 14): a repeated request gets the first answer and acts
once; another request with the key is 422; the key is the caller's own; only a successful answer
is kept, sealed, and erased when it expires."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from teamgate.storage.models import IdempotencyRecord, Invitation, Membership
from tests.factories import (
    acting,
    add_member,
    count_rows,
    dump_database,
    issue_server_key,
    key_headers,
    make_api_key,
    make_team,
    make_user,
    problem,
    sign_in,
)

API = "/api/v1"
URL = f"{API}/team-invitations"


def keyed(key: str, idempotency_key: str) -> dict[str, str]:
    return {**key_headers(key), "Idempotency-Key": idempotency_key}


@pytest.fixture
async def acme(harness):
    team = await make_team(harness.rt)
    return team, await make_api_key(harness.rt, team.id)


async def test_a_repeated_create_answers_the_first_answer_and_makes_one_invitation_and_one_email(harness, acme):
    _, key = acme
    client = harness.client()
    body = {"email": "grace@example.com", "role": "member"}
    first = await client.post(URL, headers=keyed(key, "create-grace-1"), json=body)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = [await client.post(URL, headers=keyed(key, "create-grace-1"), json=body) for _ in range(3)]
    for response in again:
        assert response.status_code == 201
        assert response.headers["idempotent-replayed"] == "true"
        assert response.headers["content-type"] == first.headers["content-type"]
        assert response.json() == first.json()  # the same invitation and the same link token
    assert await count_rows(harness, Invitation) == 1
    assert [m.recipient for m in await harness.send_mail()] == ["grace@example.com"]


async def test_the_same_key_with_another_body_is_422_and_acts_not(harness, acme):
    _, key = acme
    client = harness.client()
    created = await client.post(URL, headers=keyed(key, "k1"), json={"email": "a@example.com", "role": "member"})
    assert created.status_code == 201
    other = await client.post(URL, headers=keyed(key, "k1"), json={"email": "b@example.com", "role": "member"})
    problem(other, 422, "idempotency_key_reused")
    elsewhere = await client.post(f"{API}/tasks", headers=keyed(key, "k1"), json={"title": "Same key, other path"})
    problem(elsewhere, 422, "idempotency_key_reused")
    assert await count_rows(harness, Invitation) == 1


async def test_the_same_object_sent_with_other_spacing_or_key_order_is_the_same_request(harness, acme):
    _, key = acme
    client = harness.client()
    headers = {**keyed(key, "k2"), "Content-Type": "application/json"}
    first = await client.post(URL, headers=headers, content=b'{"email": "a@example.com", "role": "member"}')
    again = await client.post(URL, headers=headers, content=b'{"role":"member","email":"a@example.com"}')
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_quoted_key_as_the_draft_writes_it_is_the_same_key(harness, acme):
    _, key = acme
    client = harness.client()
    body = {"email": "a@example.com", "role": "member"}
    await client.post(URL, headers=keyed(key, "8e03978e-40d5-43e8-bc93-6894a57f9324"), json=body)
    again = await client.post(URL, headers=keyed(key, '"8e03978e-40d5-43e8-bc93-6894a57f9324"'), json=body)
    assert again.headers.get("idempotent-replayed") == "true"


@pytest.mark.parametrize("bad", ["", '""', "x" * 256, "caf\u00e9", 'a"b', "a\\b"])
async def test_a_malformed_key_is_a_validation_error(harness, acme, bad):
    _, key = acme
    response = await harness.client().post(URL, headers={**key_headers(key), "Idempotency-Key": bad.encode()},
                                           json={"email": "a@example.com", "role": "member"})
    assert problem(response, 422, "validation_error")["errors"][0]["field"] == "Idempotency-Key"
    assert await count_rows(harness, Invitation) == 0


async def test_keys_are_the_callers_own(harness, acme):
    team, key = acme
    other_key = await make_api_key(harness.rt, team.id, name="other")
    client = harness.client()
    mine = await client.post(URL, headers=keyed(key, "shared"), json={"email": "a@example.com", "role": "member"})
    theirs = await client.post(URL, headers=keyed(other_key, "shared"), json={"email": "b@example.com",
                                                                              "role": "member"})
    assert mine.status_code == theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    # a person signed in is a caller of their own too
    admin = await add_member(harness.rt, team.id, "admin@example.com", role="admin")
    session = harness.client()
    csrf = await sign_in(session, admin)
    hers = await session.post(URL, headers={**csrf, "X-Team-Id": team.id, "Idempotency-Key": "shared"},
                              json={"email": "c@example.com", "role": "member"})
    assert hers.status_code == 201 and "idempotent-replayed" not in hers.headers
    assert await count_rows(harness, Invitation) == 3


async def test_a_server_keys_keys_are_its_own_per_person_and_team_it_acts_for(harness, acme):
    """A product's backend keeps one set of keys per person and team it acts for (DESIGN 12): the
    same key for another person, in another team, or from the person's own session acts anew."""
    team, _ = acme
    ada = await add_member(harness.rt, team.id, "ada@example.com", role="admin", external_id="u-ada")
    await add_member(harness.rt, team.id, "grace@example.com", role="admin", external_id="u-grace")
    other = await make_team(harness.rt, "other-owner@example.com", name="Globex")
    async with harness.owner() as db:
        db.add(Membership(team_id=other.id, user_id=ada.id, role="admin", is_owner=False,
                          created_at=harness.clock.now()))
    product = (await issue_server_key(harness.rt)).secret
    client = harness.client()

    def as_ada(team_id: str) -> dict[str, str]:
        return {**acting(product, team_id, "u-ada"), "Idempotency-Key": "task-1"}

    first = await client.post(f"{API}/tasks", headers=as_ada(team.id), json={"title": "Once"})
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await client.post(f"{API}/tasks", headers=as_ada(team.id), json={"title": "Once"})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    for_grace = await client.post(f"{API}/tasks", headers={**acting(product, team.id, "u-grace"),
                                                           "Idempotency-Key": "task-1"}, json={"title": "Once"})
    assert for_grace.status_code == 201 and "idempotent-replayed" not in for_grace.headers
    elsewhere = await client.post(f"{API}/tasks", headers=as_ada(other.id), json={"title": "Once"})
    assert elsewhere.status_code == 201 and "idempotent-replayed" not in elsewhere.headers
    session = harness.client()
    csrf = await sign_in(session, ada)
    own = await session.post(f"{API}/tasks", headers={**csrf, "X-Team-Id": team.id, "Idempotency-Key": "task-1"},
                             json={"title": "Once"})
    assert own.status_code == 201 and "idempotent-replayed" not in own.headers
    async with harness.owner() as db:
        callers = {(r.caller.split(":")[0], r.team_id, r.user_id) for r in await db.scalars(select(IdempotencyRecord))}
    assert callers == {("server_key", team.id, None), ("server_key", other.id, None), ("user", None, ada.id)}
    assert await count_rows(harness, IdempotencyRecord) == 4


async def test_a_refused_first_request_keeps_nothing_and_the_key_stays_free(harness, acme):
    _, key = acme
    client = harness.client()
    refused = await client.post(URL, headers=keyed(key, "k3"), json={"email": "a@example.com", "role": "nope"})
    problem(refused, 422, "validation_error")
    fixed = await client.post(URL, headers=keyed(key, "k3"), json={"email": "a@example.com", "role": "member"})
    assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers


async def test_a_dry_run_keeps_nothing_so_its_key_may_then_send_the_real_list(harness, acme):
    _, key = acme
    client = harness.client()
    rows = [{"email": "a@example.com", "role": "member"}]
    preview = await client.post(f"{URL}/bulk", headers=keyed(key, "list-1"), json={"invitations": rows,
                                                                                  "dryRun": True})
    assert preview.status_code == 200 and preview.json()["summary"]["wouldCreate"] == 1
    assert await count_rows(harness, IdempotencyRecord) == 0  # a dry run writes nothing, not even its key
    done = await client.post(f"{URL}/bulk", headers=keyed(key, "list-1"), json={"invitations": rows})
    assert done.json()["summary"]["created"] == 1
    again = await client.post(f"{URL}/bulk", headers=keyed(key, "list-1"), json={"invitations": rows})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == done.json()
    assert await count_rows(harness, Invitation) == 1


async def test_kept_answers_are_sealed_so_no_secret_is_stored_in_clear(harness, acme):
    team, key = acme
    client = harness.client()
    created = await client.post(URL, headers=keyed(key, "k4"), json={"email": "a@example.com", "role": "member"})
    admin = await add_member(harness.rt, team.id, "admin@example.com", role="admin")
    session = harness.client()
    csrf = await sign_in(session, admin)
    api_key = await session.post(f"{API}/api-keys", headers={**csrf, "X-Team-Id": team.id, "Idempotency-Key": "k5"},
                                 json={"name": "ci", "role": "member"})
    assert api_key.status_code == 201
    stored = await dump_database(harness)
    for secret in (created.json()["token"], api_key.json()["key"]):
        assert secret.encode() not in stored
    assert await count_rows(harness, IdempotencyRecord) == 2


async def test_a_kept_answer_expires_after_24_hours_and_the_upkeep_erases_it(harness, acme):
    _, key = acme
    client = harness.client()
    harness.clock.advance(hours=-25)  # made a day and an hour ago, by the database's clock too
    first = await client.post(URL, headers=keyed(key, "k6"), json={"email": "a@example.com", "role": "member"})
    harness.clock.advance(hours=25)
    again = await client.post(URL, headers=keyed(key, "k6"), json={"email": "a@example.com", "role": "member"})
    problem(again, 409, "invitation_pending")  # acted again: the key was forgotten, the invitation was not
    assert again.json()["invitationId"] == first.json()["id"]
    await client.post(f"{API}/tasks", headers=keyed(key, "k7"), json={"title": "kept"})  # not expired: stays
    done = await harness.dispatcher.upkeep()
    assert done.answers_purged == 1
    async with harness.owner() as db:
        assert list(await db.scalars(select(IdempotencyRecord.status_code))) == [201]


async def test_an_answer_sealed_under_a_replaced_secret_key_is_forgotten_not_a_server_error(harness, acme):
    from teamgate.runtime import outbox_cipher

    _, key = acme
    client = harness.client()
    first = await client.post(f"{API}/tasks", headers=keyed(key, "k8"), json={"title": "once"})
    harness.rt.cipher = outbox_cipher(b"a different secret key of at least 32 bytes")
    again = await client.post(f"{API}/tasks", headers=keyed(key, "k8"), json={"title": "once"})
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers  # worked out afresh
    assert again.json()["id"] != first.json()["id"]
    third = await client.post(f"{API}/tasks", headers=keyed(key, "k8"), json={"title": "once"})
    assert third.headers["idempotent-replayed"] == "true" and third.json() == again.json()


@pytest.mark.postgres_only
async def test_two_requests_at_once_with_one_key_make_one_invitation(harness, acme):
    _, key = acme
    clients = [harness.client(), harness.client()]
    for n in range(6):
        body = {"email": f"racer{n}@example.com", "role": "member"}
        responses = await asyncio.gather(*(c.post(URL, headers=keyed(key, f"race-{n}"), json=body) for c in clients))
        statuses = sorted(r.status_code for r in responses)
        assert statuses in ([201, 201], [201, 409]), [r.text for r in responses]
        first = next(r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers)
        for other in responses:
            if other is first:
                continue
            if other.status_code == 409:
                problem(other, 409, "idempotency_key_in_use")
            else:
                assert other.headers["idempotent-replayed"] == "true" and other.json() == first.json()
        assert await count_rows(harness, Invitation, Invitation.email_normalized == body["email"]) == 1
    assert len(await harness.send_mail()) == 6


async def test_an_in_flight_key_is_409_while_its_first_request_holds_it(harness, acme):
    """The lock alone, held by an open transaction as a first request would hold it (PostgreSQL's
    advisory lock; SQLite runs one writer at a time, so there the second simply waits its turn)."""
    from teamgate import errors
    from teamgate.domain import idempotency as rules
    from teamgate.services import idempotency
    from teamgate.storage.models import ApiKey

    team, key = acme
    async with harness.owner() as db:
        key_row = await db.scalar(select(ApiKey).where(ApiKey.team_id == team.id))
    caller = idempotency.Caller(f"api_key:{key_row.id}", team_id=team.id)
    fingerprint = rules.fingerprint("POST", "/x", "", None, b"{}")
    async with harness.rt.sessions() as first, first.begin():
        claim = await idempotency.begin(first, harness.rt, caller, "held", fingerprint)
        assert isinstance(claim, idempotency.Claim)
        if first.get_bind().dialect.name != "postgresql":
            return
        async with harness.rt.sessions() as second, second.begin():
            with pytest.raises(errors.IdempotencyKeyInUse):
                await idempotency.begin(second, harness.rt, caller, "held", fingerprint)
    async with harness.rt.sessions() as third, third.begin():  # the first ended: the key is free again
        assert isinstance(await idempotency.begin(third, harness.rt, caller, "held", fingerprint), idempotency.Claim)


async def _webhook(client, key) -> str:
    response = await client.post(f"{API}/webhooks", headers=key_headers(key), json={"url": "https://h.example.com/in"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _failed_delivery(harness, client, key) -> str:
    from sqlalchemy import update

    from teamgate.storage.models import OutboxMessage

    webhook_id = await _webhook(client, key)
    sent = await client.post(f"{API}/webhooks/{webhook_id}/test", headers=key_headers(key))
    async with harness.owner() as db:
        await db.execute(update(OutboxMessage).where(OutboxMessage.id == sent.json()["id"]).values(status="failed"))
    return f"{webhook_id}/deliveries/{sent.json()['id']}"


async def _invitation(client, key) -> str:
    created = await client.post(URL, headers=key_headers(key), json={"email": "r@example.com", "role": "member"})
    return created.json()["id"]


async def _join_request(client, key) -> str:
    """A newcomer waiting in the queue, through a link that asks for approval."""
    link = await client.post(f"{API}/join-links", headers=key_headers(key), json={"role": "member",
                                                                                 "requiresApproval": True})
    assert link.status_code == 201, link.text
    used = await client.post(f"{API}/join-links/accept", json={
        "token": link.json()["token"], "email": "waiting@example.com", "password": "a long new password",
        "firstName": "Wai", "lastName": "Ting"})
    assert used.status_code == 202, used.text
    client.cookies.clear()  # the newcomer's session, which the use started, is not the caller's
    return used.json()["joinRequest"]["id"]


# every POST that creates or sends, with what it needs made first; `session`: only a person may call
# it ("system owner": only a system owner)
IDEMPOTENT = {
    "POST /api/v1/teams": (None, lambda h, c, k: {"name": "Second"}, True),
    "POST /api/v1/tasks": (None, lambda h, c, k: {"title": "A task"}, False),
    "POST /api/v1/api-keys": (None, lambda h, c, k: {"name": "ci", "role": "member"}, True),
    "POST /api/v1/team-invitations": (None, lambda h, c, k: {"email": "n@example.com", "role": "member"}, False),
    "POST /api/v1/team-invitations/bulk": (None, lambda h, c, k: {"invitations": [
        {"email": "m@example.com", "role": "member"}]}, False),
    "POST /api/v1/team-invitations/{id}/resend": (_invitation, lambda h, c, k: None, False),
    "POST /api/v1/webhooks": (None, lambda h, c, k: {"url": "https://new.example.com/in"}, False),
    "POST /api/v1/webhooks/{id}/rotate-secret": (_webhook, lambda h, c, k: None, False),
    "POST /api/v1/webhooks/{id}/test": (_webhook, lambda h, c, k: None, False),
    "POST /api/v1/webhooks/{id}/deliveries/{id}/retry": ("delivery", lambda h, c, k: None, False),
    "POST /api/v1/me/verify-email": (None, lambda h, c, k: None, True),
    "POST /api/v1/join-links": (None, lambda h, c, k: {"role": "member"}, False),
    "POST /api/v1/join-requests/{id}/approve": (_join_request, lambda h, c, k: None, False),
    "POST /api/v1/join-requests/{id}/deny": (_join_request, lambda h, c, k: None, False),
    "POST /api/v1/oidc-clients": (None, lambda h, c, k: {"name": "App", "redirectUris": ["https://app.example/cb"]},
                                  "system owner"),
}
# the other POSTs: public (no caller to keep a key for), or neither creating nor sending
NOT_IDEMPOTENT = {
    "POST /api/v1/auth/login", "POST /api/v1/setup", "POST /api/v1/auth/password-reset",
    "POST /api/v1/auth/password-reset/confirm", "POST /api/v1/auth/verify-email",
    "POST /api/v1/team-invitations/accept", "POST /api/v1/team-invitations/decline",  # public, by token
    # public, by token: a renewal request is limited per invitation (a repeat is 429, nothing more is sent);
    # a join link's use answers a repeat by its own rules (already a member, or already waiting)
    "POST /api/v1/team-invitations/request-renewal", "POST /api/v1/join-links/accept",
    "POST /api/v1/auth/logout", "POST /api/v1/auth/logout-all", "POST /api/v1/me/password",  # end or change
    "POST /api/v1/team/transfer-ownership",  # moves the owner role; a repeat changes nothing more
}


async def test_every_post_that_creates_or_sends_documents_and_takes_the_header(harness):
    import re

    document = (await harness.client().get("/openapi.json")).json()
    with_header, without = set(), set()
    for path, operations in document["paths"].items():
        if "post" not in operations or not path.startswith(API):
            continue
        name = f"POST {re.sub(r'{[^}]+}', '{id}', path)}"
        params = {p["name"] for p in operations["post"].get("parameters", []) if p["in"] == "header"}
        (with_header if "Idempotency-Key" in params else without).add(name)
    assert with_header == set(IDEMPOTENT)
    assert without == NOT_IDEMPOTENT


@pytest.mark.parametrize("route", sorted(IDEMPOTENT))
async def test_each_such_post_replays_its_first_answer(harness, acme, route):
    team, key = acme
    make, body, session_only = IDEMPOTENT[route]
    client = harness.client()
    path = route.split(" ", 1)[1]
    if make == "delivery":
        path = f"{API}/webhooks/{await _failed_delivery(harness, client, key)}/retry"
    elif make is not None:
        path = path.replace("{id}", await make(client, key))
    headers = key_headers(key)
    if session_only == "system owner":
        person = await make_user(harness.rt, "root@example.com", system_owner=True)
        client = harness.client()
        headers = await sign_in(client, person)
    elif session_only:
        person = await add_member(harness.rt, team.id, "admin@example.com", role="admin")
        client = harness.client()
        headers = {**await sign_in(client, person), "X-Team-Id": team.id}
    headers["Idempotency-Key"] = f"once:{route}"
    json_body = body(harness, client, key)
    first = await client.post(path, headers=headers, json=json_body)
    assert 200 <= first.status_code < 300, first.text
    before = await dump_database(harness)
    again = await client.post(path, headers=headers, json=json_body)
    assert again.status_code == first.status_code and again.headers["idempotent-replayed"] == "true"
    assert json.loads(again.content) == json.loads(first.content)
    assert await dump_database(harness) == before  # nothing acted twice
