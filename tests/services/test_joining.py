"""The join-link services on stored rows, both engines, without HTTP: who may make and decide,
what a proven address does to the requests that waited for it (join, or wait for a person when
the link was withdrawn, its maker can no longer grant, or no seat is left), what an account
takeover does to the requests its previous holder made, and how seats are counted."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from teamgate import errors
from teamgate.services import join_links, join_requests, joining, seats
from teamgate.services.context import Actor
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import AuditEvent, JoinRequest, Team, User
from teamgate.storage.scope import act_for
from tests.factories import DIRECTOR_ROLES, add_member, invite, make_team
from tests.join_helpers import newcomer, team_admin, use
from tests.recovery_helpers import confirm_reset, reset_token
from tests.services.test_role_rules import act


async def waiting_request(harness, token: str, email: str) -> dict:
    """A new person who used the link and waits; returns the request as the API showed it."""
    response = await use(harness.client(), token, **newcomer(email))
    assert response.status_code == 202, response.text
    return response.json()["joinRequest"]


async def prove_address(harness, user_id: str) -> list[JoinRequest]:
    """What using a verification link does once it has marked the address verified."""
    rt = harness.rt
    async with unit_of_work(rt.sessions) as db:
        await act_for(db, user_id=user_id)
        user = await db.get(User, user_id)
        user.email_verified_at = rt.clock.now()
        return await join_requests.address_proven(db, rt, user, Actor(kind="user", id=user.id, name=user.name,
                                                                      user=user))


async def status_of(harness, request_id: str) -> str:
    async with harness.owner() as db:
        return await db.scalar(select(JoinRequest.status).where(JoinRequest.id == request_id))


class TestAProvenAddress:
    async def test_lets_the_person_in_when_nobody_need_decide(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        request = await waiting_request(harness, made["token"], "ann@example.com")
        [moved] = await prove_address(harness, request["userId"])
        assert moved.status == "approved" and moved.decided_by_user_id is None
        assert "ann@example.com" in await admin.members()

    async def test_puts_the_request_in_the_queue_when_the_link_was_withdrawn_meanwhile(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        request = await waiting_request(harness, made["token"], "ann@example.com")
        assert (await admin.client.delete(f"/api/v1/join-links/{made['id']}", headers=admin.headers)).status_code == 200
        await prove_address(harness, request["userId"])
        assert await status_of(harness, request["id"]) == "pending"
        assert "ann@example.com" not in await admin.members()

    async def test_puts_the_request_in_the_queue_when_the_maker_can_no_longer_grant(self, harness):
        admin = await team_admin(harness)
        maker = await add_member(harness.rt, admin.team_id, "maker@example.com", role="admin")
        issued = await act(harness.rt, admin.team_id, maker.id, lambda db, ctx: join_links.create(
            db, harness.rt, ctx, role="admin", allowed_domains=["example.com"]))
        request = await waiting_request(harness, issued.token, "ann@example.com")
        assert (await admin.client.patch(f"/api/v1/team-members/{maker.id}", headers=admin.headers,
                                         json={"role": "member"})).status_code == 200
        await prove_address(harness, request["userId"])
        assert await status_of(harness, request["id"]) == "pending"

    async def test_puts_the_request_in_the_queue_when_the_seat_limit_was_lowered(self, harness):
        admin = await team_admin(harness, seat_limit=5)
        made = await admin.link(allowedDomains=["example.com"])
        request = await waiting_request(harness, made["token"], "ann@example.com")
        async with harness.owner() as db:
            await db.execute(update(Team).where(Team.id == admin.team_id).values(seat_limit=1))
        await prove_address(harness, request["userId"])
        assert await status_of(harness, request["id"]) == "pending"
        with pytest.raises(errors.SeatLimitReached):
            await act(harness.rt, admin.team_id, admin.owner_id,
                      lambda db, ctx: join_requests.approve(db, harness.rt, ctx, request["id"]))

    async def test_moves_nothing_that_was_denied_meanwhile(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        request = await waiting_request(harness, made["token"], "ann@example.com")
        assert (await admin.decide(request["id"], "deny")).status_code == 200  # an unverified one may be denied
        assert await prove_address(harness, request["userId"]) == []
        assert await status_of(harness, request["id"]) == "denied"

    async def test_goes_on_in_every_team_that_waited_each_within_its_own_walls(self, harness):
        first = await team_admin(harness)
        second = await team_admin(harness, owner_email="o2@example.com", name="Globex")
        one = await first.link(allowedDomains=["example.com"])
        two = await second.link(allowedDomains=["example.com"], requiresApproval=True)
        person = harness.client()
        body = (await use(person, one["token"], **newcomer("ann@example.com"))).json()
        again = await person.post("/api/v1/join-links/accept", json={"token": two["token"]},
                                  headers={"X-CSRF-Token": body["csrfToken"]})
        assert again.status_code == 202, again.text
        moved = await prove_address(harness, body["user"]["id"])
        assert sorted(r.status for r in moved) == ["approved", "pending"]
        assert "ann@example.com" in await first.members()
        assert [r["email"] for r in await second.requests()] == ["ann@example.com"]


class TestAnAccountTakenOver:
    async def test_denies_what_the_previous_holder_asked_to_join(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(requiresApproval=True)
        request = await waiting_request(harness, made["token"], "victim@example.com")  # a squatter, unverified
        token = await reset_token(harness, harness.client(), "victim@example.com")  # the mailbox's owner
        assert (await confirm_reset(harness.client(), token)).status_code == 200
        assert await status_of(harness, request["id"]) == "denied"
        async with harness.owner() as db:
            reclaimed = await db.scalar(select(AuditEvent).where(AuditEvent.action == "account.reclaimed"))
            denied = await db.scalar(select(AuditEvent).where(AuditEvent.action == "join_request.denied"))
        assert reclaimed.data["joinRequestsDenied"] == 1
        assert (denied.actor_type, denied.data["reason"]) == ("system", "account_reclaimed")


@pytest.fixture
async def agency(harness_with):
    """A director above the agency admins: a request for the director's role is above an admin."""
    harness = await harness_with(roles=DIRECTOR_ROLES)
    team = await make_team(harness.rt)
    dora = await add_member(harness.rt, team.id, "dora@example.com", role="director")
    ada = await add_member(harness.rt, team.id, "ada@example.com", role="agency_admin")
    return harness, team, dora, ada


class TestRolesInTheQueue:
    async def test_an_admin_can_neither_make_a_link_above_itself_nor_decide_a_request_above_itself(self, agency):
        harness, team, dora, ada = agency
        with pytest.raises(errors.RoleNotAllowed):
            await act(harness.rt, team.id, ada.id, lambda db, ctx: join_links.create(
                db, harness.rt, ctx, role="director"))
        issued = await act(harness.rt, team.id, dora.id, lambda db, ctx: join_links.create(
            db, harness.rt, ctx, role="director", requires_approval=True))
        request = await waiting_request(harness, issued.token, "ann@example.com")
        for decide in (join_requests.approve, join_requests.deny):
            with pytest.raises(errors.RoleNotAllowed):
                await act(harness.rt, team.id, ada.id, lambda db, ctx, decide=decide: decide(
                    db, harness.rt, ctx, request["id"]))
        with pytest.raises(errors.RoleNotAllowed):
            await act(harness.rt, team.id, ada.id, lambda db, ctx: join_links.delete(
                db, harness.rt, ctx, issued.link.id))
        approved = await act(harness.rt, team.id, dora.id, lambda db, ctx: join_requests.approve(
            db, harness.rt, ctx, request["id"]))
        assert (approved.request.status, approved.membership.role) == ("approved", "director")


class TestSeatsCounted:
    async def test_members_pending_invitations_and_open_requests_each_count(self, harness):
        admin = await team_admin(harness)
        await invite(admin.client, admin.headers["X-API-Key"], "invited@example.com")
        made = await admin.link(requiresApproval=True)
        await waiting_request(harness, made["token"], "asker@example.com")
        verify = await admin.link(allowedDomains=["example.com"])
        await waiting_request(harness, verify["token"], "unproven@example.com")
        async with unit_of_work(harness.rt.sessions) as db:
            await act_for(db, team_id=admin.team_id)
            used = await seats.used(db, harness.rt, admin.team_id)
        assert (used.members, used.pending_invitations, used.open_join_requests, used.total) == (1, 1, 2, 4)


class TestUsingByService:
    async def test_a_use_refused_for_its_domain_counts_nothing(self, harness):
        admin = await team_admin(harness)
        made = await admin.link(allowedDomains=["example.com"])
        with pytest.raises(errors.EmailDomainNotAllowed):
            async with unit_of_work(harness.rt.sessions) as db:
                await joining.use(db, harness.rt, token=made["token"], signed_in=None, **{
                    "email": "eve@evil.example", "password": "a long new password", "first_name": "Eve",
                    "last_name": "Evil"})
        listed = (await admin.client.get("/api/v1/join-links", headers=admin.headers)).json()["data"]
        assert listed[0]["uses"] == 0
