"""The services apply the role rules of domain/roles.py to stored members, invitations and keys,
on both engines and without HTTP: at one's own rank allowed, above it refused, for each place
that asks (role change, removal, invitation create and cancel, key create and revoke, accept).

The agency catalog with a director above the admins (tests.factories.DIRECTOR_ROLES) gives a
rank above the actor that is not the owner's, so each rank check is reached on its own."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from teamgate import errors
from teamgate.services import api_keys, invitation_links, invitations, teams
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import Membership, User
from teamgate.storage.scope import act_for
from tests.factories import DIRECTOR_ROLES, add_member, issue_api_key, make_team


async def as_member(db, rt, team_id: str, user_id: str) -> TeamContext:
    await act_for(db, team_id=team_id, user_id=user_id)
    user = await db.get(User, user_id)
    return await teams.context_for(db, rt, Actor(kind="user", id=user.id, name=user.name, user=user), team_id)


async def act(rt, team_id: str, user_id: str, call):
    """Run `call(db, ctx)` as that member, in one unit of work."""
    async with unit_of_work(rt.sessions) as db:
        return await call(db, await as_member(db, rt, team_id, user_id))


async def role_of(harness, team_id: str, user_id: str) -> str | None:
    async with harness.owner() as db:
        return await db.scalar(select(Membership.role).where(Membership.team_id == team_id,
                                                             Membership.user_id == user_id))


@pytest.fixture
async def agency(harness_with):
    """A team whose creator is the director (no owner role), a second director, two admins, a user."""
    harness = await harness_with(roles=DIRECTOR_ROLES)
    rt = harness.rt
    team = await make_team(rt)
    people = {"dora": await add_member(rt, team.id, "dora@example.com", role="director"),
              "ada": await add_member(rt, team.id, "ada@example.com", role="agency_admin"),
              "abe": await add_member(rt, team.id, "abe@example.com", role="agency_admin"),
              "una": await add_member(rt, team.id, "una@example.com", role="agency_user")}
    return harness, team, {name: p.id for name, p in people.items()}


class TestChangingRoles:
    async def test_an_admin_may_give_a_role_of_its_own_rank(self, agency):
        harness, team, ids = agency
        await act(harness.rt, team.id, ids["ada"], lambda db, ctx: teams.change_role(
            db, harness.rt, ctx, ids["una"], "agency_admin"))
        assert await role_of(harness, team.id, ids["una"]) == "agency_admin"

    async def test_an_admin_may_change_a_peer(self, agency):
        harness, team, ids = agency
        await act(harness.rt, team.id, ids["ada"], lambda db, ctx: teams.change_role(
            db, harness.rt, ctx, ids["abe"], "agency_user"))
        assert await role_of(harness, team.id, ids["abe"]) == "agency_user"

    async def test_an_admin_may_not_give_a_role_above_its_own(self, agency):
        harness, team, ids = agency
        with pytest.raises(errors.RoleNotAllowed):
            await act(harness.rt, team.id, ids["ada"], lambda db, ctx: teams.change_role(
                db, harness.rt, ctx, ids["una"], "director"))
        assert await role_of(harness, team.id, ids["una"]) == "agency_user"

    async def test_an_admin_may_not_change_someone_who_outranks_it(self, agency):
        harness, team, ids = agency
        with pytest.raises(errors.RoleNotAllowed):
            await act(harness.rt, team.id, ids["ada"], lambda db, ctx: teams.change_role(
                db, harness.rt, ctx, ids["dora"], "agency_user"))
        assert await role_of(harness, team.id, ids["dora"]) == "director"

    async def test_the_owners_role_is_not_changed_even_by_a_peer(self, agency):
        harness, team, ids = agency
        with pytest.raises(errors.RoleNotAllowed, match="ownership transfer"):
            await act(harness.rt, team.id, ids["dora"], lambda db, ctx: teams.change_role(
                db, harness.rt, ctx, team.owner.id, "agency_admin"))


class TestRemovingMembers:
    async def test_an_admin_may_remove_a_peer(self, agency):
        harness, team, ids = agency
        await act(harness.rt, team.id, ids["ada"], lambda db, ctx: teams.remove(db, harness.rt, ctx, ids["abe"]))
        assert await role_of(harness, team.id, ids["abe"]) is None

    async def test_an_admin_may_not_remove_someone_who_outranks_it(self, agency):
        harness, team, ids = agency
        with pytest.raises(errors.RoleNotAllowed):
            await act(harness.rt, team.id, ids["ada"], lambda db, ctx: teams.remove(db, harness.rt, ctx, ids["dora"]))
        assert await role_of(harness, team.id, ids["dora"]) == "director"

    async def test_anyone_may_leave_but_the_owner(self, agency):
        harness, team, ids = agency
        await act(harness.rt, team.id, ids["una"], lambda db, ctx: teams.remove(db, harness.rt, ctx, ids["una"]))
        assert await role_of(harness, team.id, ids["una"]) is None
        with pytest.raises(errors.RoleNotAllowed, match="transfer ownership first"):
            await act(harness.rt, team.id, team.owner.id, lambda db, ctx: teams.remove(
                db, harness.rt, ctx, team.owner.id))

    async def test_only_the_owner_hands_over_ownership(self, agency):
        harness, team, ids = agency
        with pytest.raises(errors.Forbidden):
            await act(harness.rt, team.id, ids["dora"], lambda db, ctx: teams.transfer_ownership(
                db, harness.rt, ctx, ids["ada"]))


class TestInvitations:
    async def test_an_admin_may_invite_at_its_own_rank_but_not_above(self, agency):
        harness, team, ids = agency
        issued = await act(harness.rt, team.id, ids["ada"], lambda db, ctx: invitations.create(
            db, harness.rt, ctx, email="peer@example.com", role="agency_admin", send_email=False))
        assert issued.invitation.role == "agency_admin"
        with pytest.raises(errors.RoleNotAllowed, match=r"at or below your own \(agency_admin\)"):
            await act(harness.rt, team.id, ids["ada"], lambda db, ctx: invitations.create(
                db, harness.rt, ctx, email="boss@example.com", role="director", send_email=False))

    async def test_an_admin_may_not_cancel_an_invitation_above_its_rank_but_a_peer_may(self, agency):
        harness, team, ids = agency
        high = await act(harness.rt, team.id, ids["dora"], lambda db, ctx: invitations.create(
            db, harness.rt, ctx, email="boss@example.com", role="director", send_email=False))
        with pytest.raises(errors.RoleNotAllowed, match="above your own"):
            await act(harness.rt, team.id, ids["ada"], lambda db, ctx: invitations.cancel(
                db, harness.rt, ctx, high.invitation.id))
        cancelled = await act(harness.rt, team.id, team.owner.id, lambda db, ctx: invitations.cancel(
            db, harness.rt, ctx, high.invitation.id))
        assert cancelled.status == "revoked"

    async def test_an_invitation_dies_when_its_inviter_drops_below_its_role(self, agency):
        harness, team, ids = agency
        issued = await act(harness.rt, team.id, ids["ada"], lambda db, ctx: invitations.create(
            db, harness.rt, ctx, email="peer@example.com", role="agency_admin", send_email=False))
        async with unit_of_work(harness.rt.sessions) as db:
            assert (await invitation_links.describe(db, harness.rt, issued.token)).invitation.id == issued.invitation.id
        await act(harness.rt, team.id, team.owner.id, lambda db, ctx: teams.change_role(
            db, harness.rt, ctx, ids["ada"], "agency_user"))
        async with unit_of_work(harness.rt.sessions) as db:
            with pytest.raises(errors.InvitationRevoked):
                await invitation_links.describe(db, harness.rt, issued.token)


class TestApiKeys:
    async def test_an_admin_may_make_a_key_of_its_own_rank_but_not_above(self, agency):
        harness, team, ids = agency
        made = await act(harness.rt, team.id, ids["ada"], lambda db, ctx: api_keys.create(
            db, harness.rt, ctx, name="peer", role="agency_admin"))
        assert made.api_key.role == "agency_admin"
        with pytest.raises(errors.RoleNotAllowed):
            await act(harness.rt, team.id, ids["ada"], lambda db, ctx: api_keys.create(
                db, harness.rt, ctx, name="boss", role="director"))

    async def test_an_admin_may_revoke_a_key_of_its_rank_but_not_above(self, agency):
        harness, team, ids = agency
        peer = (await issue_api_key(harness.rt, team.id, role="agency_admin", name="peer")).api_key.id
        boss = (await issue_api_key(harness.rt, team.id, role="director", name="boss")).api_key.id
        revoked = await act(harness.rt, team.id, ids["ada"], lambda db, ctx: api_keys.revoke(db, harness.rt, ctx, peer))
        assert revoked.revoked_at is not None
        with pytest.raises(errors.RoleNotAllowed, match="above your own"):
            await act(harness.rt, team.id, ids["ada"], lambda db, ctx: api_keys.revoke(db, harness.rt, ctx, boss))
