"""Join links through the API (DESIGN 14), on both engines: made by those who manage invitations,
shown once, used by new and signed-in people; capped uses counted atomically (three at once on a
link with two uses admit two), expiry and deletion answered 410, allowed domains that need a
verified address, the approval queue, and seats counted with invitations and join requests."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from teamgate.storage.models import AuditEvent, JoinRequest
from tests.factories import add_member, dump_database, invite, key_headers, make_api_key, problem, sign_in
from tests.join_helpers import (
    LINKS,
    REQUESTS,
    memberships,
    newcomer,
    team_admin,
    use,
    user_count,
    uses_of,
    verify_address,
)


class TestMakingLinks:
    async def test_a_link_is_shown_once_and_kept_only_as_its_hash(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(maxUses=5, expiresInDays=3, allowedDomains=["Example.COM"], requiresApproval=True)
        assert made["url"] == f"http://127.0.0.1:8000/join?token={made['token']}"
        assert (made["status"], made["uses"], made["maxUses"]) == ("active", 0, 5)
        assert made["allowedDomains"] == ["example.com"] and made["requiresApproval"] is True
        assert made["createdBy"]["type"] == "api_key"
        listed = (await admin.client.get(LINKS, headers=admin.headers)).json()["data"]
        assert [x["id"] for x in listed] == [made["id"]]
        assert "token" not in listed[0] and "url" not in listed[0]
        assert made["token"].encode() not in await dump_database(harness)

    async def test_the_role_is_at_most_the_makers_and_never_the_owner(self, harness):
        admin = await team_admin(harness)
        member_key = key_headers(await make_api_key(harness.rt, admin.team_id, role="member"))
        problem(await admin.client.post(LINKS, headers=member_key, json={"role": "member"}), 403, "forbidden")
        problem(await admin.client.post(LINKS, headers=admin.headers, json={"role": "owner"}), 403, "role_not_allowed")
        problem(await admin.client.post(LINKS, headers=admin.headers, json={"role": "boss"}), 422, "validation_error")
        assert (await admin.client.post(LINKS, headers=admin.headers, json={"role": "admin"})).status_code == 201

    @pytest.mark.parametrize("fields", [{"maxUses": 0}, {"expiresInDays": 31}, {"allowedDomains": ["not a domain"]},
                                        {"allowedDomains": ["ann@example.com"]}, {"token": "mine"}])
    async def test_bad_fields_are_refused_and_nothing_is_made(self, harness, fields):
        admin = await team_admin(harness)
        problem(await admin.client.post(LINKS, headers=admin.headers, json={"role": "member", **fields}), 422,
                "validation_error")
        assert (await admin.client.get(LINKS, headers=admin.headers)).json()["data"] == []

    async def test_another_teams_admin_cannot_delete_our_link(self, harness):
        ours = await team_admin(harness)
        theirs = await team_admin(harness, owner_email="other@example.com", name="Globex")
        made = await ours.link()
        problem(await theirs.client.delete(f"{LINKS}/{made['id']}", headers=theirs.headers), 404, "not_found")
        assert (await use(harness.client(), made["token"], **newcomer("ann@example.com"))).status_code == 200


class TestUsingALink:
    async def test_a_new_person_joins_unverified_signed_in_and_is_sent_a_verification_link(self, harness):
        admin = await team_admin(harness)
        made = await admin.link()
        person = harness.client()
        response = await use(person, made["token"], **newcomer("Ann@Example.com", "Ann"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["outcome"], body["role"], body["accountCreated"], body["joinRequest"]) == (
            "joined", "member", True, None)
        assert body["user"]["emailVerified"] is False
        assert "Ann@example.com" in await admin.members()
        me = await person.get("/api/v1/me")
        assert me.json()["activeTeamId"] == admin.team_id
        [mail] = await harness.send_mail()
        assert mail.recipient == "Ann@example.com" and "/verify-email?token=" in mail.text
        assert await uses_of(harness, made["id"]) == 1
        async with harness.owner() as db:
            actions = set(await db.scalars(select(AuditEvent.action).where(AuditEvent.team_id == admin.team_id)))
        assert {"join_link.used", "member.added", "user.created"} <= actions

    async def test_a_signed_in_person_joins_with_the_token_alone(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(role="admin")
        person = harness.client()
        sam = await add_member(harness.rt, (await team_admin(harness, owner_email="o2@example.com")).team_id,
                               "sam@example.com")
        csrf = await sign_in(person, sam)
        given_more = await person.post("/api/v1/join-links/accept", headers=csrf,
                                       json={"token": made["token"], "email": "sam@example.com"})
        problem(given_more, 422, "validation_error")
        response = await person.post("/api/v1/join-links/accept", headers=csrf, json={"token": made["token"]})
        assert response.status_code == 200, response.text
        assert (response.json()["outcome"], response.json()["role"], response.json()["accountCreated"]) == (
            "joined", "admin", False)
        again = await person.post("/api/v1/join-links/accept", headers=csrf, json={"token": made["token"]})
        problem(again, 409, "already_member")
        assert await uses_of(harness, made["id"]) == 1

    async def test_a_link_with_two_uses_admits_two_and_refuses_the_third(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(maxUses=2)
        for n in range(2):
            assert (await use(harness.client(), made["token"], **newcomer(f"p{n}@example.com"))).status_code == 200
        users = await user_count(harness)
        third = problem(await use(harness.client(), made["token"], **newcomer("p2@example.com")), 410,
                        "join_link_expired")
        assert third["state"] == "used_up"
        assert await user_count(harness) == users  # nothing of the refused use stays
        assert (await uses_of(harness, made["id"]), await memberships(harness, admin.team_id)) == (2, 3)
        listed = (await admin.client.get(LINKS, headers=admin.headers)).json()["data"]
        assert listed[0]["status"] == "used_up"

    async def test_three_people_at_once_on_a_link_with_two_uses_two_get_in(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(maxUses=2)

        responses = await asyncio.gather(*(use(harness.client(), made["token"], **newcomer(f"r{n}@example.com"))
                                           for n in range(3)))

        assert sorted(r.status_code for r in responses) == [200, 200, 410]
        assert (await uses_of(harness, made["id"]), await memberships(harness, admin.team_id)) == (2, 3)

    async def test_an_expired_a_deleted_and_an_unknown_link_are_refused(self, harness):
        admin = await team_admin(harness)
        old, gone = await admin.link(expiresInDays=1), await admin.link()
        deleted = await admin.client.delete(f"{LINKS}/{gone['id']}", headers=admin.headers)
        assert deleted.status_code == 200 and deleted.json()["status"] == "deleted"
        harness.clock.advance(days=1, seconds=1)
        assert problem(await use(harness.client(), old["token"], **newcomer("a@example.com")), 410,
                       "join_link_expired")["state"] == "expired"
        assert problem(await use(harness.client(), gone["token"], **newcomer("b@example.com")), 410,
                       "join_link_expired")["state"] == "deleted"
        problem(await use(harness.client(), "no-such-token", **newcomer("c@example.com")), 404, "join_link_not_found")
        problem(await harness.client().get(f"{LINKS}/validate/{old['token']}"), 410, "join_link_expired")
        assert (await admin.client.get(LINKS, headers=admin.headers)).json()["data"][0]["status"] == "expired"

    async def test_a_link_whose_maker_left_the_team_no_longer_admits(self, harness):
        admin = await team_admin(harness)
        maker = await add_member(harness.rt, admin.team_id, "maker@example.com", role="admin")
        person = harness.client()
        made = await person.post(LINKS, headers=await sign_in(person, maker), json={"role": "member"})
        assert made.status_code == 201, made.text
        removed = await admin.client.delete(f"/api/v1/team-members/{maker.id}", headers=admin.headers)
        assert removed.status_code == 204, removed.text
        problem(await use(harness.client(), made.json()["token"], **newcomer("a@example.com")), 410,
                "join_link_expired")

    async def test_an_address_with_an_account_must_sign_in_first(self, harness):
        admin = await team_admin(harness)
        made = await admin.link()
        problem(await use(harness.client(), made["token"], **newcomer("OWNER@example.com")), 409, "account_exists")
        assert await uses_of(harness, made["id"]) == 0

    async def test_the_preview_tells_what_the_link_offers_and_changes_nothing(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"], requiresApproval=True)
        before = await dump_database(harness)
        preview = await harness.client().get(f"{LINKS}/validate/{made['token']}")
        assert preview.status_code == 200, preview.text
        assert preview.json()["team"]["name"] == "Acme" and preview.json()["allowedDomains"] == ["example.com"]
        assert await dump_database(harness) == before


class TestAllowedDomains:
    async def test_an_address_elsewhere_is_refused_and_nothing_is_counted(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        refused = problem(await use(harness.client(), made["token"], **newcomer("eve@elsewhere.example")), 403,
                          "email_domain_not_allowed")
        assert refused["allowedDomains"] == ["example.com"]
        problem(await use(harness.client(), made["token"], **newcomer("eve@sub.example.com")), 403,
                "email_domain_not_allowed")
        assert await uses_of(harness, made["id"]) == 0

    async def test_a_new_person_joins_once_the_verification_link_is_used(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        person = harness.client()
        response = await use(person, made["token"], **newcomer("ann@example.com"))
        assert response.status_code == 202, response.text
        body = response.json()
        assert (body["outcome"], body["joinRequest"]["status"]) == ("pending_verification", "unverified")
        assert "ann@example.com" not in await admin.members()
        assert [r["email"] for r in await admin.requests("unverified")] == ["ann@example.com"]
        problem(await admin.decide(body["joinRequest"]["id"], "approve"), 409, "join_request_not_pending")

        verified = await verify_address(harness, person, "ann@example.com", body["csrfToken"])

        assert verified.status_code == 200, verified.text
        assert "ann@example.com" in await admin.members()
        assert (await admin.requests("approved"))[0]["decidedBy"] is None  # the link let them in, nobody decided

    async def test_a_signed_in_unverified_person_waits_for_the_link_too(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        other = await team_admin(harness, owner_email="o2@example.com", name="Globex")
        sam = await add_member(harness.rt, other.team_id, "sam@example.com")
        person = harness.client()
        csrf = await sign_in(person, sam)
        response = await person.post("/api/v1/join-links/accept", headers=csrf, json={"token": made["token"]})
        assert response.status_code == 202 and response.json()["outcome"] == "pending_verification"
        again = await person.post("/api/v1/join-links/accept", headers=csrf, json={"token": made["token"]})
        assert again.status_code == 202 and again.json()["joinRequest"]["id"] == response.json()["joinRequest"]["id"]
        assert await uses_of(harness, made["id"]) == 1  # asking again is not another use
        assert (await verify_address(harness, person, "sam@example.com", csrf["X-CSRF-Token"])).status_code == 200
        assert "sam@example.com" in await admin.members()


class TestApproval:
    async def test_a_person_waits_in_the_queue_until_approved(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(requiresApproval=True, role="admin")
        response = await use(harness.client(), made["token"], **newcomer("ann@example.com"))
        assert (response.status_code, response.json()["outcome"]) == (202, "pending_approval")
        [waiting] = await admin.requests()
        assert (waiting["email"], waiting["role"], waiting["status"]) == ("ann@example.com", "admin", "pending")
        assert "ann@example.com" not in await admin.members()

        approved = await admin.decide(waiting["id"], "approve")

        assert approved.status_code == 200, approved.text
        assert (approved.json()["status"], approved.json()["decidedBy"]["type"]) == ("approved", "api_key")
        assert "ann@example.com" in await admin.members()
        assert await admin.requests() == []
        mails = [m for m in await harness.send_mail() if m.recipient == "ann@example.com"]
        assert any("was approved" in m.text for m in mails)
        problem(await admin.decide(waiting["id"], "approve"), 409, "join_request_not_pending")
        problem(await admin.decide(waiting["id"], "deny"), 409, "join_request_not_pending")

    async def test_a_denied_person_stays_out(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(requiresApproval=True)
        await use(harness.client(), made["token"], **newcomer("eve@example.com"))
        [waiting] = await admin.requests()
        denied = await admin.decide(waiting["id"], "deny")
        assert (denied.status_code, denied.json()["status"]) == (200, "denied")
        assert "eve@example.com" not in await admin.members()
        assert [r["id"] for r in await admin.requests("denied")] == [waiting["id"]]

    async def test_only_those_who_manage_invitations_decide_and_only_in_their_team(self, harness):
        admin = await team_admin(harness)
        other = await team_admin(harness, owner_email="o2@example.com", name="Globex")
        made = await admin.link(requiresApproval=True)
        await use(harness.client(), made["token"], **newcomer("ann@example.com"))
        [waiting] = await admin.requests()
        member_key = key_headers(await make_api_key(harness.rt, admin.team_id, role="member"))
        problem(await admin.client.post(f"{REQUESTS}/{waiting['id']}/approve", headers=member_key), 403, "forbidden")
        problem(await other.decide(waiting["id"], "approve"), 404, "not_found")
        problem(await admin.client.get(REQUESTS, headers=member_key), 403, "forbidden")
        assert await other.requests() == []

    async def test_an_approver_cannot_let_in_above_their_own_role(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(requiresApproval=True, role="admin")
        await use(harness.client(), made["token"], **newcomer("ann@example.com"))
        [waiting] = await admin.requests()
        lowly = await add_member(harness.rt, admin.team_id, "lowly@example.com", role="member")
        person = harness.client()
        problem(await person.post(f"{REQUESTS}/{waiting['id']}/approve", headers=await sign_in(person, lowly)), 403,
                "forbidden")

    async def test_with_allowed_domains_and_approval_the_request_waits_for_both(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"], requiresApproval=True)
        person = harness.client()
        body = (await use(person, made["token"], **newcomer("ann@example.com"))).json()
        assert body["outcome"] == "pending_verification"
        assert await admin.requests() == []
        await verify_address(harness, person, "ann@example.com", body["csrfToken"])
        [waiting] = await admin.requests()
        assert waiting["id"] == body["joinRequest"]["id"]
        assert (await admin.decide(waiting["id"], "approve")).status_code == 200
        assert "ann@example.com" in await admin.members()


class TestSeats:
    async def test_seats_count_members_pending_invitations_and_join_requests_together(self, harness):
        admin = await team_admin(harness, seat_limit=3)  # the owner holds one
        await invite(admin.client, admin.headers["X-API-Key"], "invited@example.com")
        made = await admin.link(requiresApproval=True)
        assert (await use(harness.client(), made["token"], **newcomer("asker@example.com"))).status_code == 202

        problem(await use(harness.client(), made["token"], **newcomer("late@example.com")), 409, "seat_limit_reached")
        refused = await admin.client.post("/api/v1/team-invitations", headers=admin.headers,
                                          json={"email": "later@example.com", "role": "member"})
        problem(refused, 409, "seat_limit_reached")
        assert await uses_of(harness, made["id"]) == 1  # the refused use was not counted

        [waiting] = await admin.requests()
        assert (await admin.decide(waiting["id"], "deny")).status_code == 200  # its seat is free again
        assert (await use(harness.client(), made["token"], **newcomer("late@example.com"))).status_code == 202

    async def test_approving_turns_the_held_seat_into_a_membership(self, harness):
        admin = await team_admin(harness, seat_limit=2)
        made = await admin.link(requiresApproval=True)
        await use(harness.client(), made["token"], **newcomer("ann@example.com"))
        [waiting] = await admin.requests()
        assert (await admin.decide(waiting["id"], "approve")).status_code == 200
        assert await memberships(harness, admin.team_id) == 2


async def test_a_refused_use_leaves_the_database_as_it_was(harness):
    admin = await team_admin(harness)
    made = await admin.link(maxUses=1, allowedDomains=["example.com"])
    before = await dump_database(harness)
    for body in (newcomer("eve@elsewhere.example"), {**newcomer("ann@example.com"), "password": "short"},
                 {**newcomer("ann@example.com"), "role": "admin"}):
        response = await use(harness.client(), made["token"], **body)
        assert 400 <= response.status_code < 500, response.text
    assert await dump_database(harness) == before
    async with harness.owner() as db:
        assert list(await db.scalars(select(JoinRequest.id))) == []
