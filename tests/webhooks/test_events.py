"""The DESIGN 11 events, emitted by the services in the change's own transaction, arriving at a
real receiver with verified signatures: each with the object as the API shows it, never a token."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

from standardwebhooks import Webhook

from tests.api import test_address_proof as proof
from tests.api.test_address_proof import OWNER_OF_MAILBOX, VICTIM
from tests.email.test_delivery import FlakySender
from tests.factories import (
    NEW_PERSON,
    PASSWORD,
    Person,
    add_member,
    cli_env,
    key_headers,
    mailed_token,
    make_api_key,
    make_team,
    sign_in,
)
from tests.live import TEAMGATE
from tests.recovery_helpers import ask_reset, confirm_reset, mailed_tokens
from tests.web.test_console_sends_at_once import csrf_of
from tests.webhooks.helpers import Caller, endpoint, make_due, team_caller

URL = "/team-invitations"


def verified(secret: str, hit) -> dict:
    """The library's signature over the hit, which must be among those sent. Not Webhook.verify:
    it refuses a timestamp five minutes from the real clock, and some tests move theirs by days."""
    sent_at = datetime.fromtimestamp(int(hit.headers["webhook-timestamp"]), tz=UTC)
    signature = Webhook(secret).sign(hit.headers["webhook-id"], sent_at, hit.body)
    assert signature in hit.headers["webhook-signature"].split()
    return json.loads(hit.body)


async def events(h, receiver, secret: str) -> list[dict]:
    """Send what is due, then every event the receiver got, each signature verified, in the order
    they were made (deliveries of one batch may arrive in any order; the frozen clock ties them)."""
    await make_due(h)
    await h.dispatcher.drain()
    return [verified(secret, hit) for hit in receiver.hits]


def types(got: list[dict]) -> list[str]:
    return sorted(e["type"] for e in got)


def one(got: list[dict], type: str) -> dict:
    [event] = [e for e in got if e["type"] == type]
    return event


def no_token_in(receiver, *tokens: str) -> None:
    for hit in receiver.hits:
        for token in tokens:
            assert token.encode() not in hit.body


def issued_as_shown(body: dict) -> dict:
    """An issued invitation's API JSON without what only the issuing response carries."""
    return {k: v for k, v in body.items() if k not in ("token", "acceptUrl")}


async def shown(caller: Caller, invitation_id: str) -> dict:
    response = await caller.get(f"{URL}/{invitation_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def started(h, receivers) -> tuple[Caller, object, str]:
    receiver = await receivers()
    caller = await team_caller(h)
    return caller, receiver, (await endpoint(caller, receiver.url))["secret"]


class TestInvitationEvents:
    async def test_created_delivered_resent_and_declined_carry_the_api_json_and_no_token(self, local, receivers):
        caller, receiver, secret = await started(local, receivers)
        created = await caller.post(URL, json={"email": "ann@example.com", "role": "member"})
        assert created.status_code == 201, created.text
        first_mail = await mailed_token(local, "ann@example.com")  # sends the email: delivered
        resent = await caller.post(f"{URL}/{created.json()['id']}/resend", json={})
        assert resent.status_code == 200, resent.text
        link = resent.json()["token"]
        second_mail = await mailed_token(local, "ann@example.com")  # delivered again
        assert (await local.client().post(f"/api/v1{URL}/decline", json={"token": link})).status_code == 200

        got = await events(local, receiver, secret)
        assert types(got) == sorted(["invitation.created", "invitation.delivered", "invitation.resent",
                                     "invitation.delivered", "invitation.declined"])
        assert one(got, "invitation.created")["data"] == issued_as_shown(created.json())
        assert one(got, "invitation.created")["actor"]["type"] == "api_key"
        assert one(got, "invitation.created")["timestamp"].endswith("Z")
        for delivered in (e for e in got if e["type"] == "invitation.delivered"):
            assert delivered["data"]["delivery"]["status"] == "sent" and "actor" not in delivered
        assert one(got, "invitation.resent")["data"] == issued_as_shown(resent.json())
        assert one(got, "invitation.declined")["data"] == await shown(caller, created.json()["id"])
        assert one(got, "invitation.declined")["actor"] == {"type": "invitee", "id": None}
        no_token_in(receiver, created.json()["token"], link, first_mail, second_mail)

    async def test_accept_emits_accepted_and_membership_created(self, local, receivers):
        caller, receiver, secret = await started(local, receivers)
        created = (await caller.post(URL, json={"email": "bob@example.com", "role": "member"})).json()
        mail = await mailed_token(local, "bob@example.com")
        accepted = await local.client().post(f"/api/v1{URL}/accept", json={"token": mail, **NEW_PERSON})
        assert accepted.status_code == 200, accepted.text

        got = await events(local, receiver, secret)
        assert types(got) == ["invitation.accepted", "invitation.created", "invitation.delivered",
                              "membership.created"]
        assert one(got, "invitation.accepted")["data"] == await shown(caller, created["id"])
        [member] = [m for m in (await caller.get("/team-members")).json()["data"] if m["email"] == "bob@example.com"]
        assert one(got, "membership.created")["data"] == member
        assert one(got, "invitation.accepted")["actor"] == {"type": "user", "id": member["userId"]}
        assert one(got, "membership.created")["actor"] == {"type": "user", "id": member["userId"]}
        no_token_in(receiver, created["token"], mail)

    async def test_cancel_emits_revoked_and_a_refused_create_sends_nothing(self, local, receivers):
        caller, receiver, secret = await started(local, receivers)
        created = (await caller.post(URL, json={"email": "cy@example.com", "role": "member",
                                                "sendEmail": False})).json()
        refused = await caller.post(URL, json={"email": "cy@example.com", "role": "member"})
        assert refused.status_code == 409 and refused.json()["code"] == "invitation_pending"
        assert (await caller.client.delete(f"/api/v1{URL}/{created['id']}", headers=caller.headers)).status_code in (
            200, 204)
        got = await events(local, receiver, secret)
        assert types(got) == ["invitation.created", "invitation.revoked"]
        revoked = one(got, "invitation.revoked")["data"]
        assert revoked == await shown(caller, created["id"]) and revoked["status"] == "revoked"

    async def test_expiry_by_upkeep_and_by_a_new_invitation_emit_expired(self, local, receivers):
        local.clock.advance(days=-2)  # on PostgreSQL the database's clock bounds what is overdue: start in the past
        caller, receiver, secret = await started(local, receivers)
        old = (await caller.post(URL, json={"email": "di@example.com", "role": "member", "sendEmail": False,
                                            "expiresInDays": 1})).json()
        other = (await caller.post(URL, json={"email": "ed@example.com", "role": "member", "sendEmail": False,
                                              "expiresInDays": 1})).json()
        local.clock.advance(days=2)
        again = await caller.post(URL, json={"email": "di@example.com", "role": "member", "sendEmail": False})
        assert again.status_code == 201, again.text
        await local.dispatcher.upkeep()
        got = await events(local, receiver, secret)
        expired = [e["data"]["id"] for e in got if e["type"] == "invitation.expired"]
        assert sorted(expired) == sorted([old["id"], other["id"]])
        assert all(e["data"]["status"] == "expired" for e in got if e["type"] == "invitation.expired")

    async def test_a_final_delivery_failure_emits_delivery_failed_once(self, local, receivers):
        local.rt.settings.email_max_attempts = 2
        local.dispatcher.sender = FlakySender(failures=100)
        caller, receiver, secret = await started(local, receivers)
        await caller.post(URL, json={"email": "fay@example.com", "role": "member"})
        for _ in range(3):
            await local.dispatcher.drain()
            local.clock.advance(hours=2)
        got = await events(local, receiver, secret)
        assert types(got) == ["invitation.created", "invitation.delivery_failed"]
        assert one(got, "invitation.delivery_failed")["data"]["delivery"]["status"] == "failed"


class TestMembershipEvents:
    async def test_role_change_removal_and_ownership_transfer(self, local, receivers):
        caller, receiver, secret = await started(local, receivers)
        gus = await add_member(local.rt, caller.team_id, "gus@example.com")
        hal = await add_member(local.rt, caller.team_id, "hal@example.com")
        changed = await caller.client.patch(f"/api/v1/team-members/{gus.id}", headers=caller.headers,
                                            json={"role": "admin"})
        assert changed.status_code == 200, changed.text
        assert (await caller.client.delete(f"/api/v1/team-members/{hal.id}", headers=caller.headers)
                ).status_code == 204
        owner = local.client()
        [team_owner] = [m for m in (await caller.get("/team-members")).json()["data"] if m["isOwner"]]
        csrf = await sign_in(owner, Person(id=team_owner["userId"], email=team_owner["email"], password=PASSWORD))
        transferred = await owner.post("/api/v1/team/transfer-ownership", headers=csrf, json={"userId": gus.id})
        assert transferred.status_code == 200, transferred.text

        got = await events(local, receiver, secret)
        assert types(got) == ["membership.deleted", "membership.updated", "membership.updated",
                              "team.ownership_transferred"]
        updated = {e["data"]["userId"]: e for e in got if e["type"] == "membership.updated"}
        assert updated[gus.id]["data"] == changed.json()
        assert updated[gus.id]["actor"]["type"] == "api_key"
        [former] = [m for m in (await caller.get("/team-members")).json()["data"] if m["userId"] == team_owner["userId"]]
        assert updated[team_owner["userId"]]["data"] == former and former["role"] == "admin"  # the next role down
        assert updated[team_owner["userId"]]["actor"] == {"type": "user", "id": team_owner["userId"]}
        deleted = one(got, "membership.deleted")["data"]
        assert deleted["userId"] == hal.id and deleted["email"] == "hal@example.com" and deleted["role"] == "member"
        assert one(got, "team.ownership_transferred")["data"] == transferred.json()
        assert one(got, "team.ownership_transferred")["actor"] == {"type": "user", "id": team_owner["userId"]}


class TestPageActions:
    async def test_a_console_invite_and_cancel_emit_created_and_revoked_with_the_person_as_actor(self, local,
                                                                                                receivers):
        receiver = await receivers()
        team = await make_team(local.rt)
        caller = Caller(team.id, local.client(), key_headers(await make_api_key(local.rt, team.id)))
        secret = (await endpoint(caller, receiver.url))["secret"]
        browser = local.client()
        login = await browser.get("/login")
        await browser.post("/login", data={"email": team.owner.email, "password": team.owner.password,
                                           "csrf": csrf_of(login.text)})
        invited = await browser.post("/console/invitations", data={
            "csrf": csrf_of((await browser.get("/console")).text), "email": "page@example.com", "role": "member"})
        assert invited.status_code == 200, invited.text
        [invitation] = (await caller.get(URL)).json()["data"]
        cancelled = await browser.post(f"/console/invitations/{invitation['id']}/cancel",
                                       data={"csrf": csrf_of(invited.text)})
        assert cancelled.status_code == 200, cancelled.text

        got = [e for e in await events(local, receiver, secret) if e["type"] != "invitation.delivered"]
        assert types(got) == ["invitation.created", "invitation.revoked"]
        assert all(e["actor"] == {"type": "user", "id": team.owner.id} for e in got)
        assert one(got, "invitation.revoked")["data"] == await shown(caller, invitation["id"])


class TestTakeover:
    async def test_the_invitations_a_squatter_sent_are_revoked_with_an_event_when_the_mailbox_owner_reclaims(
            self, local, receivers):
        caller, receiver, secret = await started(local, receivers)
        leaked = (await caller.post(URL, json={"email": VICTIM, "role": "admin", "sendEmail": False})).json()
        squatter = local.client()
        taken = await proof.accept(squatter, leaked["token"], password="mallory's own password", firstName="Not",
                                   lastName="Victim")
        accomplice = (await squatter.post(f"/api/v1{URL}", headers={"X-CSRF-Token": taken.json()["csrfToken"]},
                                          json={"email": "mallory2@evil.example", "role": "admin",
                                                "sendEmail": False})).json()
        await local.send_mail()
        assert (await ask_reset(local.client(), VICTIM)).status_code == 202
        [token] = await mailed_tokens(local, to=VICTIM)
        assert (await confirm_reset(local.client(), token, OWNER_OF_MAILBOX["password"])).status_code == 200

        revoked = one(await events(local, receiver, secret), "invitation.revoked")
        assert revoked["data"] == await shown(caller, accomplice["id"]) and revoked["data"]["status"] == "revoked"
        no_token_in(receiver, leaked["token"], accomplice["token"], token)


class TestCommandLine:
    async def test_teamgate_invite_emits_created_with_the_member_it_acts_as(self, local, receivers, settings):
        caller, receiver, secret = await started(local, receivers)
        admin = await add_member(local.rt, caller.team_id, "ada@example.com", role="admin")
        [owner] = [m for m in (await caller.get("/team-members")).json()["data"] if m["isOwner"]]

        def invite_from_the_command_line(email: str, *options: str) -> str:
            done = subprocess.run([TEAMGATE, "invite", "--team", caller.team_id, "--email", email, "--role", "member",
                                   "--json", *options], env=cli_env(settings), capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)["id"]

        by_owner = invite_from_the_command_line("cli@example.com")  # as the team's owner, by default
        by_admin = invite_from_the_command_line("cli2@example.com", "--as", "ada@example.com", "--no-email")

        got = await events(local, receiver, secret)
        assert types(got) == ["invitation.created", "invitation.created", "invitation.delivered"]
        created = {e["data"]["id"]: e for e in got if e["type"] == "invitation.created"}
        assert created[by_owner]["actor"] == {"type": "user", "id": owner["userId"]}
        assert created[by_admin]["actor"] == {"type": "user", "id": admin.id}
        assert created[by_admin]["data"] == await shown(caller, by_admin)
        assert created[by_owner]["data"]["delivery"]["status"] == "queued"


class TestResendingAnExpiredInvitation:
    async def test_the_upkeep_emits_expired_then_the_resend_emits_resent(self, local, receivers):
        local.clock.advance(days=-3)  # on PostgreSQL the database's clock bounds what is overdue: start in the past
        caller, receiver, secret = await started(local, receivers)
        old = (await caller.post(URL, json={"email": "jo@example.com", "role": "member", "sendEmail": False,
                                            "expiresInDays": 1})).json()
        local.clock.advance(days=2)
        await local.dispatcher.upkeep()
        resent = await caller.post(f"{URL}/{old['id']}/resend", json={"sendEmail": False})
        assert resent.status_code == 200, resent.text

        got = await events(local, receiver, secret)
        assert types(got) == ["invitation.created", "invitation.expired", "invitation.resent"]
        assert one(got, "invitation.expired")["data"]["status"] == "expired"
        assert "actor" not in one(got, "invitation.expired")  # the upkeep: no one acted
        assert one(got, "invitation.resent")["data"] == issued_as_shown(resent.json())
        assert one(got, "invitation.resent")["data"]["status"] == "pending"

    async def test_a_newer_overdue_invitation_for_the_address_is_expired_with_an_event_and_an_audit_record(
            self, local, receivers):
        local.clock.advance(days=-3)
        caller, receiver, secret = await started(local, receivers)
        old = (await caller.post(URL, json={"email": "kim@example.com", "role": "member", "sendEmail": False,
                                            "expiresInDays": 1})).json()
        local.clock.advance(days=2)
        newer = (await caller.post(URL, json={"email": "kim@example.com", "role": "member", "sendEmail": False,
                                              "expiresInDays": 1})).json()  # the old one is expired on the spot
        local.clock.advance(days=1, minutes=1)  # the newer one is overdue too, not yet marked
        resent = await caller.post(f"{URL}/{old['id']}/resend", json={"sendEmail": False})
        assert resent.status_code == 200, resent.text

        got = await events(local, receiver, secret)
        assert types(got) == ["invitation.created", "invitation.created", "invitation.expired",
                              "invitation.expired", "invitation.resent"]
        expired = {e["data"]["id"]: e for e in got if e["type"] == "invitation.expired"}
        assert set(expired) == {old["id"], newer["id"]}
        assert expired[newer["id"]]["data"] == await shown(caller, newer["id"])
        assert expired[newer["id"]]["actor"]["type"] == "api_key"  # whoever resent
        audit = (await caller.get("/audit-events?action=invitation.expired")).json()["data"]
        assert sorted(e["target"]["id"] for e in audit) == sorted([old["id"], newer["id"]])

    async def test_an_overdue_invitation_resent_before_the_upkeep_marks_it_emits_resent_alone(self, local, receivers):
        caller, receiver, secret = await started(local, receivers)
        old = (await caller.post(URL, json={"email": "lu@example.com", "role": "member", "sendEmail": False,
                                            "expiresInDays": 1})).json()
        local.clock.advance(days=1, minutes=1)  # overdue; no expiry was recorded, so none is reported
        resent = await caller.post(f"{URL}/{old['id']}/resend", json={"sendEmail": False})
        assert resent.status_code == 200, resent.text

        got = await events(local, receiver, secret)
        assert types(got) == ["invitation.created", "invitation.resent"]
        assert one(got, "invitation.resent")["data"]["status"] == "pending"
