"""Two secrets per invitation and an honest `emailVerified` (DESIGN 4 and 10).

The link token goes to whoever created the invitation; the mail token only into the email. Both
open the invitation, but only the mail token proves the mailbox: an account made with the link
token starts unverified, and the mailbox's owner takes such an account over by accepting a
mail-token invitation. Each refusal is checked for changing nothing.
"""

import asyncio

import pytest
from sqlalchemy import func, select

from teamgate.domain.tokens import hash_token
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import ApiKey, AuditEvent, Invitation, User
from teamgate.storage.repositories import invitations as repo
from teamgate.storage.scope import act_for
from tests.factories import (NEW_PERSON, add_member, invite, key_headers, make_api_key, make_team, mailed_token,
                             problem, sign_in)
from tests.recovery_helpers import ask_reset, confirm_reset, mailed_tokens

VICTIM = "victim@example.com"
OWNER_OF_MAILBOX = {"password": "the real owner's passphrase", "firstName": "Vera", "lastName": "Victim"}


async def accept(client, token, headers=None, **body):
    return await client.post("/api/v1/team-invitations/accept", headers=headers or {}, json={"token": token, **body})


async def validate(client, token):
    return await client.get(f"/api/v1/team-invitations/validate/{token}")


async def me(client):
    return await client.get("/api/v1/me")


async def login(harness, email, password):
    client = harness.client()
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return client, response


async def audit_actions(harness):
    async with harness.owner() as db:
        return [(a, d) for a, d in (await db.execute(select(AuditEvent.action, AuditEvent.data))).all()]


# --- both tokens open the invitation; only one proves the mailbox -------------------------------

async def test_the_creator_gets_the_link_token_and_the_email_carries_a_different_mail_token(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    created = await invite(harness.client(), key, VICTIM)
    mailed = await mailed_token(harness, VICTIM)

    assert mailed != created["token"] and created["acceptUrl"].endswith(created["token"])
    for token in (created["token"], mailed):
        assert (await validate(harness.client(), token)).status_code == 200
    async with harness.owner() as db:
        row = await db.scalar(select(Invitation))
    assert created["token"].encode() not in row.token_hash + row.link_token_hash  # only hashes are kept


async def test_an_account_made_with_the_link_token_starts_unverified_and_with_the_mail_token_verified(harness):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    by_link = await invite(harness.client(), key, "linked@example.com", sendEmail=False)
    await invite(harness.client(), key, "mailed@example.com")
    mailed = await mailed_token(harness, "mailed@example.com")

    linked_client, mailed_client = harness.client(), harness.client()
    linked = await accept(linked_client, by_link["token"], **NEW_PERSON)
    proven = await accept(mailed_client, mailed, **NEW_PERSON)

    assert linked.status_code == proven.status_code == 200, (linked.text, proven.text)
    assert linked.json()["user"]["emailVerified"] is False
    assert proven.json()["user"]["emailVerified"] is True
    assert (await me(linked_client)).json()["user"]["emailVerified"] is False
    _, signed_in = await login(harness, "mailed@example.com", NEW_PERSON["password"])
    assert signed_in.json()["user"]["emailVerified"] is True


async def test_a_signed_in_unverified_account_is_verified_by_accepting_with_the_mail_token(harness):
    alpha, beta = await make_team(harness.rt, "a@example.com"), await make_team(harness.rt, "b@example.com", name="Beta")
    alpha_key, beta_key = await make_api_key(harness.rt, alpha.id), await make_api_key(harness.rt, beta.id)
    by_link = await invite(harness.client(), alpha_key, VICTIM, sendEmail=False)
    person = harness.client()
    assert (await accept(person, by_link["token"], **NEW_PERSON)).json()["user"]["emailVerified"] is False
    csrf = {"X-CSRF-Token": (await me(person)).json()["csrfToken"]}

    await invite(harness.client(), beta_key, VICTIM)
    joined = await accept(person, await mailed_token(harness, VICTIM), headers=csrf)

    assert joined.status_code == 200, joined.text
    assert joined.json()["user"]["emailVerified"] is True


# --- the squatter: a self-made team, a link-token accept, and the real owner wins ---------------

async def squat(harness):
    return await squat_as(harness, VICTIM, "mallory@example.com")


async def squat_as(harness, victim, mallory_email):
    """An attacker makes a team, invites an address they do not own without email, and accepts
    with the link token: they hold an unverified account with that address, a session and a key."""
    den = await make_team(harness.rt, mallory_email, name="Den")
    mallory = harness.client()
    csrf = await sign_in(mallory, den.owner)
    created = (await mallory.post("/api/v1/team-invitations", headers=csrf,
                                  json={"email": victim, "role": "admin", "sendEmail": False})).json()
    squatter = harness.client()
    taken = await accept(squatter, created["token"], password="mallory's own password", firstName="Not",
                         lastName="Victim")
    assert taken.status_code == 200 and taken.json()["user"]["emailVerified"] is False
    squat_csrf = {"X-CSRF-Token": taken.json()["csrfToken"]}
    made = await squatter.post("/api/v1/api-keys", headers=squat_csrf, json={"name": "backdoor", "role": "admin"})
    assert made.status_code == 201, made.text
    return den, squatter, made.json()["key"]


async def test_the_mailbox_owner_takes_a_squatted_account_over_with_a_mail_token_invitation(harness):
    den, squatter, backdoor = await squat(harness)
    acme = await make_team(harness.rt, "boss@example.com", name="Acme")
    await invite(harness.client(), await make_api_key(harness.rt, acme.id), VICTIM)
    mailed = await mailed_token(harness, VICTIM)

    preview = (await validate(harness.client(), mailed)).json()
    assert preview["accountExists"] is False  # to the mailbox's owner the unverified account is no obstacle
    vera = harness.client()
    reclaimed = await accept(vera, mailed, **OWNER_OF_MAILBOX)

    assert reclaimed.status_code == 200, reclaimed.text
    body = reclaimed.json()
    assert body["user"]["emailVerified"] is True and body["user"]["firstName"] == "Vera"
    assert body["accountCreated"] is False
    assert (await me(squatter)).status_code == 401  # the squatter's session is dead
    assert (await login(harness, VICTIM, "mallory's own password"))[1].status_code == 401
    assert (await login(harness, VICTIM, OWNER_OF_MAILBOX["password"]))[1].status_code == 200
    assert (await harness.client().get("/api/v1/team", headers=key_headers(backdoor))).status_code == 401
    actions = await audit_actions(harness)
    assert ("account.reclaimed", {"via": "invitation", "sessionsEnded": 1, "apiKeysRevoked": 1,
                                  "invitationsRevoked": 0, "oauthGrantsRevoked": 0,
                                  "joinRequestsDenied": 0}) in actions
    assert any(a == "api_key.revoked" and d.get("reason") == "account_reclaimed" for a, d in actions)


async def test_a_link_token_cannot_take_an_account_over(harness):
    await squat(harness)
    acme = await make_team(harness.rt, "boss@example.com", name="Acme")
    created = await invite(harness.client(), await make_api_key(harness.rt, acme.id), VICTIM, sendEmail=False)

    refused = await accept(harness.client(), created["token"], **OWNER_OF_MAILBOX)

    problem(refused, 409, "account_exists")
    assert (await login(harness, VICTIM, "mallory's own password"))[1].status_code == 200  # nothing changed


async def test_a_verified_account_is_not_taken_over_by_a_mail_token_accept(harness):
    acme = await make_team(harness.rt, "boss@example.com", name="Acme")
    key = await make_api_key(harness.rt, acme.id)
    await invite(harness.client(), key, VICTIM)
    assert (await accept(harness.client(), await mailed_token(harness, VICTIM), **OWNER_OF_MAILBOX)).status_code == 200
    beta = await make_team(harness.rt, "b@example.com", name="Beta")
    await invite(harness.client(), await make_api_key(harness.rt, beta.id), VICTIM)

    refused = await accept(harness.client(), await mailed_token(harness, VICTIM), **NEW_PERSON)

    problem(refused, 409, "account_exists")
    assert (await login(harness, VICTIM, OWNER_OF_MAILBOX["password"]))[1].status_code == 200


# --- validate is no account oracle for whoever made the invitation -------------------------------

async def test_validate_tells_whether_an_account_exists_only_to_the_invitee(harness):
    acme = await make_team(harness.rt)
    key = await make_api_key(harness.rt, acme.id)
    person = await add_member(harness.rt, (await make_team(harness.rt, "o2@example.com", name="Other")).id, VICTIM)
    created = await invite(harness.client(), key, VICTIM)
    mailed = await mailed_token(harness, VICTIM)
    signed_in = harness.client()
    await sign_in(signed_in, person)

    assert (await validate(harness.client(), created["token"])).json()["accountExists"] is None
    assert (await validate(signed_in, created["token"])).json()["accountExists"] is True
    assert (await validate(harness.client(), mailed)).json()["accountExists"] is False  # unverified: reclaimable
    page = await harness.client().get(f"/invite?token={created['token']}")
    assert "Create your account" in page.text and "Sign in to accept" in page.text  # both paths, no answer


# --- resend: both tokens rotate, the resender becomes the inviter --------------------------------

async def test_resend_kills_both_old_tokens_and_returns_a_new_link_token(harness):
    acme = await make_team(harness.rt)
    key = await make_api_key(harness.rt, acme.id)
    admin = harness.client()
    created = await invite(admin, key, VICTIM)
    old_mail = await mailed_token(harness, VICTIM)
    resent = (await admin.post(f"/api/v1/team-invitations/{created['id']}/resend", headers=key_headers(key))).json()
    new_mail = await mailed_token(harness, VICTIM)

    for dead in (created["token"], old_mail):
        problem(await validate(harness.client(), dead), 404, "invitation_not_found")
        problem(await accept(harness.client(), dead, **NEW_PERSON), 404, "invitation_not_found")
    assert len({resent["token"], new_mail, created["token"], old_mail}) == 4
    assert (await accept(harness.client(), new_mail, **NEW_PERSON)).json()["user"]["emailVerified"] is True


async def test_whoever_resends_becomes_the_inviter_so_a_demoted_sender_does_not_kill_the_link(harness):
    acme = await make_team(harness.rt)
    dana = await add_member(harness.rt, acme.id, "dana@example.com", role="admin", first_name="Dana",
                            last_name="Admin")
    dana_client, owner_client = harness.client(), harness.client()
    dana_csrf, owner_csrf = await sign_in(dana_client, dana), await sign_in(owner_client, acme.owner)
    created = (await dana_client.post("/api/v1/team-invitations", headers=dana_csrf,
                                      json={"email": VICTIM, "role": "admin"})).json()
    resent = await owner_client.post(f"/api/v1/team-invitations/{created['id']}/resend", headers=owner_csrf)
    assert resent.status_code == 200, resent.text
    assert resent.json()["invitedBy"]["id"] == acme.owner.id
    demoted = await owner_client.patch(f"/api/v1/team-members/{dana.id}", headers=owner_csrf, json={"role": "member"})
    assert demoted.status_code == 200, demoted.text

    preview = await validate(harness.client(), resent.json()["token"])
    assert preview.status_code == 200 and preview.json()["invitedBy"]["name"] == "Olivia Owner"
    assert (await accept(harness.client(), resent.json()["token"], **NEW_PERSON)).status_code == 200


# --- a token that a resend rotated acts no more, even mid-flight -----------------------------------

async def test_the_conditional_update_refuses_a_token_that_is_no_longer_current(harness):
    """The rule itself, below HTTP: the update that accepts names the token presented."""
    acme = await make_team(harness.rt)
    created = await invite(harness.client(), await make_api_key(harness.rt, acme.id), VICTIM)
    now = harness.rt.clock.now()
    async with unit_of_work(harness.rt.sessions) as db:
        await act_for(db, team_id=acme.id)
        assert not await repo.transition(db, created["id"], from_statuses=("pending",), unexpired_at=now,
                                         presented_hash=hash_token("not-the-token"), status="accepted")
        assert await repo.transition(db, created["id"], from_statuses=("pending",), unexpired_at=now,
                                     presented_hash=hash_token(created["token"]), status="accepted")


async def test_accept_with_the_old_token_racing_a_resend_never_both_succeed(harness):
    acme = await make_team(harness.rt)
    key = await make_api_key(harness.rt, acme.id)
    for round_ in range(5):
        email = f"racer{round_}@example.com"
        created = await invite(harness.client(), key, email)
        accepted, resent = await asyncio.gather(
            accept(harness.client(), created["token"], **NEW_PERSON),
            harness.client().post(f"/api/v1/team-invitations/{created['id']}/resend", headers=key_headers(key)))
        assert not (accepted.status_code == 200 and resent.status_code == 200), (accepted.text, resent.text)
        assert {accepted.status_code, resent.status_code} & {200}, (accepted.text, resent.text)


async def test_members_and_the_console_show_whose_address_is_unproven(harness):
    acme = await make_team(harness.rt)
    key = await make_api_key(harness.rt, acme.id)
    by_link = await invite(harness.client(), key, VICTIM, sendEmail=False)
    assert (await accept(harness.client(), by_link["token"], **NEW_PERSON)).status_code == 200

    listed = (await harness.client().get("/api/v1/team-members", headers=key_headers(key))).json()["data"]
    owner_client = harness.client()
    await sign_in(owner_client, acme.owner)
    console = await owner_client.get("/console")

    assert {m["email"]: m["emailVerified"] for m in listed} == {"owner@example.com": False, VICTIM: False}
    assert console.text.count(">unverified</span>") == 2


async def test_someone_signed_in_opening_another_persons_emailed_link_sees_it_without_harm(harness):
    """Looking up the invitee's account must not move the viewer's transaction off their own
    session (on PostgreSQL its last-seen write would then find no row)."""
    acme = await make_team(harness.rt)
    await invite(harness.client(), await make_api_key(harness.rt, acme.id), VICTIM)
    mailed = await mailed_token(harness, VICTIM)
    viewer = harness.client()
    await sign_in(viewer, acme.owner)
    harness.clock.advance(minutes=10)  # the session's last-seen time is due for its write

    assert (await validate(viewer, mailed)).json()["accountExists"] is None
    assert (await viewer.get(f"/invite?token={mailed}")).status_code == 200
    assert (await me(viewer)).status_code == 200


async def test_an_account_made_with_the_link_token_is_emailed_a_link_that_verifies_it(harness):
    acme = await make_team(harness.rt)
    by_link = await invite(harness.client(), await make_api_key(harness.rt, acme.id), VICTIM, sendEmail=False)
    person = harness.client()
    accepted = await accept(person, by_link["token"], **NEW_PERSON)
    assert accepted.json()["user"]["emailVerified"] is False

    [mail] = await harness.send_mail()
    assert mail.recipient == VICTIM and "/verify-email?token=" in mail.text
    token = mail.text.split("/verify-email?token=", 1)[1].split()[0]
    verified = await person.post("/api/v1/auth/verify-email", json={"token": token},
                                 headers={"X-CSRF-Token": accepted.json()["csrfToken"]})

    assert verified.status_code == 200, verified.text
    assert (await me(person)).json()["user"]["emailVerified"] is True


async def test_a_password_reset_reclaims_a_squatted_account_and_revokes_what_the_squatter_made(harness):
    den, squatter, backdoor = await squat(harness)
    await harness.send_mail()  # the squatter's verification email went to the real mailbox, unused
    assert (await ask_reset(harness.client(), VICTIM)).status_code == 202
    [token] = await mailed_tokens(harness, to=VICTIM)

    vera = harness.client()
    reset = await confirm_reset(vera, token, OWNER_OF_MAILBOX["password"])

    assert reset.status_code == 200, reset.text
    assert reset.json()["user"]["emailVerified"] is True
    assert (await me(squatter)).status_code == 401
    assert (await harness.client().get("/api/v1/team", headers=key_headers(backdoor))).status_code == 401
    assert ("account.reclaimed", {"via": "password_reset", "sessionsEnded": 1, "apiKeysRevoked": 1,
                                  "invitationsRevoked": 0, "oauthGrantsRevoked": 0,
                                  "joinRequestsDenied": 0}) in await audit_actions(harness)


async def test_a_key_of_another_team_whose_last_use_is_due_can_still_validate_a_link(harness):
    """The lookup moves the transaction to the invitation's team: what was written under the
    key's own team (its last use) must be written first, or PostgreSQL finds no row (a 500)."""
    acme, other = await make_team(harness.rt), await make_team(harness.rt, "o@example.com", name="Other")
    created = await invite(harness.client(), await make_api_key(harness.rt, acme.id), VICTIM)
    other_key = await make_api_key(harness.rt, other.id)
    assert (await harness.client().get("/api/v1/team", headers=key_headers(other_key))).status_code == 200
    harness.clock.advance(hours=2)  # the key's last-used time is due for its write

    response = await harness.client().get(f"/api/v1/team-invitations/validate/{created['token']}",
                                          headers=key_headers(other_key))

    assert response.status_code == 200, response.text


async def test_someone_signed_in_opening_another_accounts_reset_link_gets_the_page(harness):
    acme = await make_team(harness.rt)
    await add_member(harness.rt, acme.id, VICTIM)
    assert (await ask_reset(harness.client(), VICTIM)).status_code == 202
    [token] = await mailed_tokens(harness, to=VICTIM)
    viewer = harness.client()
    await sign_in(viewer, acme.owner)
    harness.clock.advance(minutes=10)  # the viewer's session is due for its last-seen write

    assert (await viewer.get(f"/reset-password?token={token}")).status_code == 200
    assert (await me(viewer)).status_code == 200


async def test_an_address_that_case_folding_would_merge_with_another_is_refused(harness):
    """`vera@straße.de` is another domain than `vera@strasse.de`, but folds to it: such an address
    could take the other's account, so it is never invited (nor given an account)."""
    acme = await make_team(harness.rt)
    key = await make_api_key(harness.rt, acme.id)
    for lookalike in ("vera@straße.de", "ſam@example.com", "ﬁle@example.com"):
        response = await harness.client().post("/api/v1/team-invitations", headers=key_headers(key),
                                               json={"email": lookalike, "role": "member"})
        assert problem(response, 422, "validation_error")["errors"][0]["field"] == "email"


async def test_invitations_the_squatter_sent_die_when_the_mailbox_owner_reclaims(harness):
    """A squatter who got into a real team with the copied link may have invited accomplices
    (without email, keeping the link): those links die with the squatter's hold on the account."""
    acme = await make_team(harness.rt, "boss@example.com", name="Acme")
    key = await make_api_key(harness.rt, acme.id)
    leaked = await invite(harness.client(), key, VICTIM, role="admin", sendEmail=False)
    squatter = harness.client()
    taken = await accept(squatter, leaked["token"], password="mallory's own password", firstName="Not",
                         lastName="Victim")
    csrf = {"X-CSRF-Token": taken.json()["csrfToken"]}
    accomplice = (await squatter.post("/api/v1/team-invitations", headers=csrf,
                                      json={"email": "mallory2@evil.example", "role": "admin",
                                            "sendEmail": False})).json()
    await harness.send_mail()
    assert (await ask_reset(harness.client(), VICTIM)).status_code == 202
    [token] = await mailed_tokens(harness, to=VICTIM)

    assert (await confirm_reset(harness.client(), token, OWNER_OF_MAILBOX["password"])).status_code == 200

    problem(await accept(harness.client(), accomplice["token"], **NEW_PERSON), 400, "invitation_revoked")
    assert any(a == "invitation.revoked" and d.get("reason") == "account_reclaimed"
               for a, d in await audit_actions(harness))


async def test_changing_the_password_of_an_unverified_account_leaves_reset_links_alive(harness):
    den, squatter, _ = await squat(harness)
    await harness.send_mail()
    assert (await ask_reset(harness.client(), VICTIM)).status_code == 202
    [token] = await mailed_tokens(harness, to=VICTIM)
    csrf = {"X-CSRF-Token": (await me(squatter)).json()["csrfToken"]}
    changed = await squatter.post("/api/v1/me/password", headers=csrf,
                                  json={"currentPassword": "mallory's own password", "newPassword": "another long one x"})
    assert changed.status_code == 204, changed.text

    assert (await confirm_reset(harness.client(), token, OWNER_OF_MAILBOX["password"])).status_code == 200


@pytest.mark.postgres_only
async def test_nothing_the_squatter_makes_while_the_account_changes_hands_survives(harness):
    """Requests signed in to the account hold it (shared) while they act; the takeover holds it
    exclusively, so each of them ends before it, or starts after it and finds its session gone."""
    for round_ in range(4):
        den, squatter, _ = await squat_as(harness, f"victim{round_}@example.com", f"mallory{round_}@example.com")
        await harness.send_mail()
        assert (await ask_reset(harness.client(), f"victim{round_}@example.com")).status_code == 202
        [token] = await mailed_tokens(harness, to=f"victim{round_}@example.com")
        csrf = {"X-CSRF-Token": (await me(squatter)).json()["csrfToken"]}

        reclaimed = asyncio.Event()

        async def keep_minting():
            while not reclaimed.is_set():
                await squatter.post("/api/v1/api-keys", headers=csrf, json={"name": "more", "role": "admin"})

        async def reclaim():
            assert (await confirm_reset(harness.client(), token, OWNER_OF_MAILBOX["password"])).status_code == 200
            reclaimed.set()

        await asyncio.gather(reclaim(), keep_minting(), keep_minting())

        async with harness.owner() as db:
            live = await db.scalar(select(func.count()).select_from(ApiKey).join(User, User.id == ApiKey.created_by_user_id)
                                   .where(User.email_normalized == f"victim{round_}@example.com",
                                          ApiKey.revoked_at.is_(None)))
        assert live == 0, f"round {round_}: {live} keys survived"
