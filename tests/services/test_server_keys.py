"""Server keys and the product's people (DESIGN 12), at the service level: keys stored only
hashed and dead once revoked; a key acts in a team only for a member, with exactly that member's
role (never a system owner's rights); accept on behalf follows every rule of accept; lookups by
external id."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from teamgate import errors
from teamgate.domain.passwords import NO_PASSWORD
from teamgate.domain.tokens import SERVER_KEY_PREFIX, hash_token
from teamgate.services import invitation_links, server_keys
from teamgate.services.context import Actor
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import AuditEvent, ServerKey, User
from tests.factories import (
    add_member,
    dump_database,
    invite,
    issue_server_key,
    make_api_key,
    make_team,
    make_user,
    revoke_server_key,
)


def key_actor(key: ServerKey) -> Actor:
    return Actor(kind="server_key", id=key.id, name=key.name, server_key=key)


async def authenticated(rt, secret: str) -> ServerKey | None:
    async with unit_of_work(rt.sessions) as db:
        return await server_keys.authenticate(db, rt, secret)


class TestKeys:
    async def test_a_key_is_shown_once_and_stored_only_as_its_hash(self, harness):
        issued = await issue_server_key(harness.rt, name="Partman")
        assert issued.secret.startswith(SERVER_KEY_PREFIX) and len(issued.secret) == len(SERVER_KEY_PREFIX) + 43
        assert issued.server_key.prefix == issued.secret[:8] and issued.server_key.id.startswith("srv_")
        stored = await dump_database(harness)
        assert issued.secret.encode() not in stored and issued.secret[8:].encode() not in stored
        assert hash_token(issued.secret) in stored

    async def test_only_a_live_key_authenticates(self, harness):
        issued = await issue_server_key(harness.rt)
        found = await authenticated(harness.rt, issued.secret)
        assert found is not None and found.id == issued.server_key.id and found.last_used_at == harness.clock.now()
        assert await authenticated(harness.rt, issued.secret + "x") is None
        assert await authenticated(harness.rt, "tgk_" + issued.secret[4:]) is None  # a team key's prefix
        assert await authenticated(harness.rt, issued.secret + "A" * 200) is None
        await revoke_server_key(harness.rt, issued.server_key.id)
        assert await authenticated(harness.rt, issued.secret) is None

    async def test_making_and_revoking_are_audited_and_revoking_twice_changes_nothing(self, harness):
        issued = await issue_server_key(harness.rt)
        await revoke_server_key(harness.rt, issued.server_key.id)
        await revoke_server_key(harness.rt, issued.server_key.id)
        async with harness.owner() as db:
            actions = list(await db.scalars(select(AuditEvent.action).where(
                AuditEvent.target_id == issued.server_key.id).order_by(AuditEvent.id)))
        assert actions == ["server_key.created", "server_key.revoked"]

    async def test_an_unknown_key_cannot_be_revoked_and_a_nameless_one_cannot_be_made(self, harness):
        with pytest.raises(errors.NotFound):
            await revoke_server_key(harness.rt, "srv_01JZZZZZZZZZZZZZZZZZZZZZZZ")
        with pytest.raises(errors.NotFound):
            await revoke_server_key(harness.rt, "not an id")
        for name in ("", "   ", "x" * 101, "bad\nname"):
            with pytest.raises(errors.ValidationFailed):
                await issue_server_key(harness.rt, name=name)


async def acting_as(rt, key: ServerKey, team_id: str | None, external_id: str | None):
    async with unit_of_work(rt.sessions) as db:
        return await server_keys.acting_context(db, rt, key_actor(key), team_id=team_id, external_id=external_id,
                                                use="GET /test")


class TestActing:
    async def test_the_key_acts_with_exactly_the_persons_role_in_that_team(self, harness):
        rt = harness.rt
        team = await make_team(rt, owner_external_id="u-olivia")
        await add_member(rt, team.id, "ada@example.com", role="admin", external_id="u-ada")
        await add_member(rt, team.id, "max@example.com", role="member", external_id="u-max")
        key = (await issue_server_key(rt)).server_key
        admin = await acting_as(rt, key, team.id, "u-ada")
        assert admin.role.name == "admin" and admin.can("invitations:manage") and not admin.is_owner
        assert admin.actor.user is not None and admin.actor.user.external_id == "u-ada"
        assert admin.actor.server_key is not None and admin.actor.server_key.id == key.id
        member = await acting_as(rt, key, team.id, "u-max")
        assert member.role.name == "member" and not member.can("invitations:manage")
        owner = await acting_as(rt, key, team.id, "u-olivia")
        assert owner.is_owner

    async def test_no_team_no_person_an_outsider_and_a_system_owner_are_refused(self, harness):
        rt = harness.rt
        team = await make_team(rt)
        other = await make_team(rt, "gus@globex.example", name="Globex", owner_external_id="u-gus")
        await make_user(rt, "root@example.com", system_owner=True, external_id="u-root")
        key = (await issue_server_key(rt)).server_key
        with pytest.raises(errors.BadRequest):
            await acting_as(rt, key, None, "u-gus")
        with pytest.raises(errors.Forbidden):
            await acting_as(rt, key, team.id, None)
        for external_id in ("u-gus", "u-root", "u-nobody", "u/../gus", ""):
            with pytest.raises((errors.NotFound, errors.Forbidden)):
                await acting_as(rt, key, team.id, external_id)
        assert (await acting_as(rt, key, other.id, "u-gus")).is_owner

    async def test_a_team_key_or_a_person_is_no_server_key(self, harness):
        rt = harness.rt
        team = await make_team(rt, owner_external_id="u-olivia")
        async with unit_of_work(rt.sessions) as db:
            with pytest.raises(errors.Forbidden):
                await server_keys.acting_context(db, rt, Actor(kind="api_key", id="key_x", name="k"),
                                                 team_id=team.id, external_id="u-olivia", use="x")
            with pytest.raises(errors.Forbidden):
                await server_keys.person(db, rt, Actor(kind="api_key", id="key_x", name="k"), "u-olivia", use="x")


def vouched(key: ServerKey, external_id: str = "u-grace", email: str = "grace@example.com",
            **names) -> invitation_links.Vouched:
    return invitation_links.Vouched(server_key=key, external_id=external_id, email=email, **names)


async def accept(rt, token: str, who: invitation_links.Vouched) -> invitation_links.Accepted:
    async with unit_of_work(rt.sessions) as db:
        return await invitation_links.accept(db, rt, token=token, signed_in=None, vouched=who)


class TestAcceptOnBehalf:
    async def test_a_new_person_is_verified_has_no_password_and_the_key_is_named_beside_them(self, harness):
        rt = harness.rt
        team = await make_team(rt)
        key = (await issue_server_key(rt)).server_key
        token = (await invite(harness.client(), await make_api_key(rt, team.id), "grace@example.com"))["token"]
        done = await accept(rt, token, vouched(key, first_name="Grace", last_name="Hopper"))
        assert done.account_created and done.user.external_id == "u-grace" and done.user.email_verified
        assert done.user.password_hash == NO_PASSWORD and done.membership.role == "member"
        assert not await rt.passwords.verify(NO_PASSWORD, NO_PASSWORD)
        async with harness.owner() as db:
            accepted = await db.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.accepted"))
        assert (accepted.actor_type, accepted.actor_id, accepted.actor_server_key_id) == ("user", done.user.id, key.id)
        assert accepted.data["onBehalf"] is True

    async def test_a_refusal_changes_nothing(self, harness):
        rt = harness.rt
        team = await make_team(rt)
        key = (await issue_server_key(rt)).server_key
        token = (await invite(harness.client(), await make_api_key(rt, team.id), "grace@example.com"))["token"]
        before = await dump_database(harness)
        for who, error in ((vouched(key, email="mallory@example.com"), errors.EmailMismatch),
                           (vouched(key, email="not an address"), errors.ValidationFailed),
                           (vouched(key, external_id="a/b"), errors.ValidationFailed),
                           (vouched(key, first_name=" "), errors.ValidationFailed),
                           (vouched(key, last_name="\u202eevil"), errors.ValidationFailed)):
            with pytest.raises(error):
                await accept(rt, token, who)
        assert await dump_database(harness) == before

    async def test_the_same_external_id_is_the_same_account_in_every_team(self, harness):
        rt = harness.rt
        key = (await issue_server_key(rt)).server_key
        users = set()
        for n, name in enumerate(("Acme", "Globex", "Initech")):
            team = await make_team(rt, f"owner{n}@example.com", name=name)
            token = (await invite(harness.client(), await make_api_key(rt, team.id), "grace@example.com"))["token"]
            users.add((await accept(rt, token, vouched(key))).user.id)
        assert len(users) == 1
        async with unit_of_work(rt.sessions) as db:
            person = await server_keys.person(db, rt, key_actor(key), "u-grace", use="GET /test")
        assert sorted(t.name for t, _, _ in person.memberships) == ["Acme", "Globex", "Initech"]
        assert all(permissions == frozenset({"team:read"}) for _, _, permissions in person.memberships)

    async def test_an_account_of_teamgates_own_is_linked_only_when_its_address_was_proven(self, harness):
        rt = harness.rt
        team = await make_team(rt)
        key = (await issue_server_key(rt)).server_key
        api_key = await make_api_key(rt, team.id)
        proven = await make_user(rt, "proven@example.com")
        async with harness.owner() as db:
            (await db.get(User, proven.id)).email_verified_at = harness.clock.now()
        unproven = await make_user(rt, "unproven@example.com")
        linked = await accept(rt, (await invite(harness.client(), api_key, "proven@example.com"))["token"],
                              vouched(key, "u-proven", "proven@example.com"))
        assert linked.user.id == proven.id and linked.user.external_id == "u-proven"
        assert linked.user.password_hash != NO_PASSWORD  # their own password stays
        taken = await accept(rt, (await invite(harness.client(), api_key, "unproven@example.com"))["token"],
                             vouched(key, "u-unproven", "unproven@example.com"))
        assert taken.user.id == unproven.id and taken.user.password_hash == NO_PASSWORD  # the squatter's is gone
        async with harness.owner() as db:
            reclaimed = await db.scalar(select(AuditEvent).where(AuditEvent.action == "account.reclaimed"))
        assert reclaimed.target_id == unproven.id and reclaimed.actor_server_key_id == key.id
