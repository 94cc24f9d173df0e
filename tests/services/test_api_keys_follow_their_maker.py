"""API keys act with at most their maker's current rights (DESIGN section 10), at the service level:
a person's keys die when the person leaves the team; when the person's role drops, each key that
would act above it is lowered to it, or revoked when it cannot manage keys; the audit trail says
why; and a key cannot make a key."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from teamgate import errors
from teamgate.services import api_keys, teams
from teamgate.services.context import Actor, TeamContext
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import ApiKey, AuditEvent, Membership, User
from teamgate.storage.scope import act_for
from tests.factories import DIRECTOR_ROLES, add_member, issue_api_key, make_team

# an owner whose successor (the highest role below it) cannot manage keys, but a lower one can
OPS_ROLES = """
[roles.owner]
rank = 100
owner = true
permissions = ["invitations:manage", "members:manage", "tasks:manage", "api_keys:manage", "audit:read", "team:read"]

[roles.lead]
rank = 50
permissions = ["invitations:manage", "members:manage", "tasks:manage", "audit:read", "team:read"]

[roles.ops]
rank = 40
permissions = ["api_keys:manage", "team:read"]
"""


async def as_member(db, rt, team_id: str, user_id: str) -> TeamContext:
    await act_for(db, team_id=team_id, user_id=user_id)
    user = await db.get(User, user_id)
    return await teams.context_for(db, rt, Actor(kind="user", id=user.id, name=user.name, user=user), team_id)


async def key_made_by(rt, team_id: str, maker_id: str, role: str, name: str) -> str:
    async with unit_of_work(rt.sessions) as db:
        ctx = await as_member(db, rt, team_id, maker_id)
        return (await api_keys.create(db, rt, ctx, name=name, role=role)).api_key.id


async def keys(harness, team_id: str) -> dict[str, tuple[str, bool]]:
    """Each key of the team by name: (role, live)."""
    async with harness.owner() as db:
        rows = await db.scalars(select(ApiKey).where(ApiKey.team_id == team_id))
        return {k.name: (k.role, k.revoked_at is None) for k in rows}


async def events(harness, team_id: str, *actions: str) -> list[dict]:
    async with harness.owner() as db:
        rows = await db.scalars(select(AuditEvent).where(AuditEvent.team_id == team_id, AuditEvent.action.in_(actions))
                                .order_by(AuditEvent.id))
        return [{"action": e.action, "target": e.target_id, **e.data} for e in rows]


async def test_removing_a_member_revokes_every_key_they_made_in_that_team_and_no_other(harness):
    rt = harness.rt
    team = await make_team(rt)
    ada = await add_member(rt, team.id, "ada@example.com", role="admin")
    admin_key = await key_made_by(rt, team.id, ada.id, "admin", "ada admin")
    member_key = await key_made_by(rt, team.id, ada.id, "member", "ada member")
    await key_made_by(rt, team.id, team.owner.id, "admin", "olivia's")
    await issue_api_key(rt, team.id, name="operator's")  # the CLI's: made by nobody, follows nobody
    elsewhere = await make_team(rt, "bob@example.com", name="Elsewhere")
    async with unit_of_work(rt.sessions) as db:  # Ada is an admin there too, with a key of her own
        await act_for(db, team_id=elsewhere.id)
        db.add(Membership(team_id=elsewhere.id, user_id=ada.id, role="admin", is_owner=False, created_at=rt.clock.now()))
    await key_made_by(rt, elsewhere.id, ada.id, "admin", "ada elsewhere")

    async with unit_of_work(rt.sessions) as db:
        await teams.remove(db, rt, await as_member(db, rt, team.id, team.owner.id), ada.id)

    assert await keys(harness, team.id) == {"ada admin": ("admin", False), "ada member": ("member", False),
                                            "olivia's": ("admin", True), "operator's": ("admin", True)}
    assert await keys(harness, elsewhere.id) == {"ada elsewhere": ("admin", True)}
    assert await events(harness, team.id, "api_key.revoked") == [
        {"action": "api_key.revoked", "target": admin_key, "name": "ada admin", "role": "admin",
         "reason": "creator_left", "creator": ada.id},
        {"action": "api_key.revoked", "target": member_key, "name": "ada member", "role": "member",
         "reason": "creator_left", "creator": ada.id}]


async def test_leaving_a_team_revokes_the_leavers_keys(harness):
    rt = harness.rt
    team = await make_team(rt)
    ada = await add_member(rt, team.id, "ada@example.com", role="admin")
    await key_made_by(rt, team.id, ada.id, "admin", "ada's")

    async with unit_of_work(rt.sessions) as db:
        await teams.remove(db, rt, await as_member(db, rt, team.id, ada.id), ada.id)

    assert await keys(harness, team.id) == {"ada's": ("admin", False)}
    assert [e["reason"] for e in await events(harness, team.id, "api_key.revoked")] == ["creator_left"]


async def test_a_maker_demoted_to_a_role_that_cannot_manage_keys_loses_the_keys_above_it(harness):
    rt = harness.rt
    team = await make_team(rt)
    ada = await add_member(rt, team.id, "ada@example.com", role="admin")
    await key_made_by(rt, team.id, ada.id, "admin", "above")
    await key_made_by(rt, team.id, ada.id, "member", "at")

    async with unit_of_work(rt.sessions) as db:
        await teams.change_role(db, rt, await as_member(db, rt, team.id, team.owner.id), ada.id, "member")

    # a member key does no more than Ada can do now, so it lives on; the admin key would
    assert await keys(harness, team.id) == {"above": ("admin", False), "at": ("member", True)}
    revoked = await events(harness, team.id, "api_key.revoked", "api_key.role_lowered")
    assert [(e["action"], e["name"], e["reason"], e["creator"]) for e in revoked] == [
        ("api_key.revoked", "above", "creator_demoted", ada.id)]


async def test_a_maker_demoted_to_a_role_that_manages_keys_has_the_keys_above_it_lowered(harness_with):
    harness = await harness_with(roles=DIRECTOR_ROLES)
    rt = harness.rt
    team = await make_team(rt)
    dan = await add_member(rt, team.id, "dan@example.com", role="director")
    lowered = await key_made_by(rt, team.id, dan.id, "director", "director key")
    await key_made_by(rt, team.id, dan.id, "agency_user", "user key")

    async with unit_of_work(rt.sessions) as db:
        await teams.change_role(db, rt, await as_member(db, rt, team.id, team.owner.id), dan.id, "agency_admin")

    assert await keys(harness, team.id) == {"director key": ("agency_admin", True), "user key": ("agency_user", True)}
    assert await events(harness, team.id, "api_key.revoked", "api_key.role_lowered") == [
        {"action": "api_key.role_lowered", "target": lowered, "name": "director key", "previous": "director",
         "role": "agency_admin", "reason": "creator_demoted", "creator": dan.id}]


async def test_a_promotion_leaves_the_makers_keys_alone(harness):
    rt = harness.rt
    team = await make_team(rt)
    mia = await add_member(rt, team.id, "mia@example.com", role="admin")
    await key_made_by(rt, team.id, mia.id, "member", "mia's")
    async with unit_of_work(rt.sessions) as db:
        await teams.change_role(db, rt, await as_member(db, rt, team.id, team.owner.id), mia.id, "admin")
    assert await keys(harness, team.id) == {"mia's": ("member", True)}
    assert await events(harness, team.id, "api_key.revoked", "api_key.role_lowered") == []


async def test_handing_over_ownership_revokes_the_former_owners_keys_its_new_role_could_not_make(harness_with):
    harness = await harness_with(roles=OPS_ROLES)
    rt = harness.rt
    team = await make_team(rt)
    heir = await add_member(rt, team.id, "heir@example.com", role="lead")
    ops_key = await key_made_by(rt, team.id, team.owner.id, "ops", "ops key")

    async with unit_of_work(rt.sessions) as db:
        await teams.transfer_ownership(db, rt, await as_member(db, rt, team.id, team.owner.id), heir.id)

    # the former owner is now `lead`, which cannot manage keys: a key with that right must not outlive it
    assert await keys(harness, team.id) == {"ops key": ("ops", False)}
    assert await events(harness, team.id, "api_key.revoked") == [
        {"action": "api_key.revoked", "target": ops_key, "name": "ops key", "role": "ops",
         "reason": "creator_demoted", "creator": team.owner.id}]


async def test_a_key_cannot_make_a_key_whatever_its_role(harness):
    rt = harness.rt
    team = await make_team(rt)
    admin_key = (await issue_api_key(rt, team.id, role="admin")).api_key
    async with unit_of_work(rt.sessions) as db:
        await act_for(db, team_id=team.id)
        actor = Actor(kind="api_key", id=admin_key.id, name=admin_key.name, api_key=admin_key)
        ctx = await teams.context_for(db, rt, actor, team.id)
        with pytest.raises(errors.Forbidden):
            await api_keys.create(db, rt, ctx, name="child", role="member")
    assert set(await keys(harness, team.id)) == {"backend"}
