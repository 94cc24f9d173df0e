"""Integrity held by the database itself, not only by the services: rows written past the
services hit the same walls."""

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from teamgate.domain.ids import new_id
from teamgate.domain.tokens import hash_token, new_token
from teamgate.storage.models import Invitation, Membership, Team, User
from tests.factories import make_team, make_user


def _user(now, email: str) -> User:
    return User(id=new_id("usr"), email=email, email_normalized=email.casefold(), first_name="A", last_name="B",
                password_hash="x", is_system_owner=False, created_at=now)


def _invitation(now, team_id: str, email: str, *, status: str = "pending", token_hash: bytes | None = None):
    return Invitation(id=new_id("inv"), team_id=team_id, email=email, email_normalized=email.casefold(), role="member",
                      task_ids=[], token_hash=token_hash or hash_token(new_token()), status=status,
                      expires_at=now + timedelta(days=7), lifetime_seconds=604800, inviter_name="x",
                      created_at=now, send_count=0, delivery_status="skipped", delivery_attempts=0)


async def _insert(harness, *rows) -> None:
    """Written as the tables' owner: past the services, and past row-level security."""
    async with harness.owner() as db:
        for row in rows:
            db.add(row)
            await db.flush()


async def test_two_accounts_cannot_share_a_folded_email(harness):
    now = harness.clock.now()
    await _insert(harness, _user(now, "Same@Example.com"))
    with pytest.raises(IntegrityError):
        await _insert(harness, _user(now, "same@example.com"))


async def test_a_person_is_a_member_of_a_team_once(harness):
    team = await make_team(harness.rt)
    with pytest.raises(IntegrityError):
        await _insert(harness, Membership(team_id=team.id, user_id=team.owner.id, role="member", is_owner=False,
                                             created_at=harness.clock.now()))


async def test_a_team_has_one_owner(harness):
    team = await make_team(harness.rt)
    other = await make_user(harness.rt, "second@example.com")
    with pytest.raises(IntegrityError):
        await _insert(harness, Membership(team_id=team.id, user_id=other.id, role="owner", is_owner=True,
                                             created_at=harness.clock.now()))


async def test_one_pending_invitation_per_team_and_email(harness):
    team = await make_team(harness.rt)
    now = harness.clock.now()
    await _insert(harness, _invitation(now, team.id, "x@example.com"))
    with pytest.raises(IntegrityError):
        await _insert(harness, _invitation(now, team.id, "X@example.com"))


async def test_closed_invitations_do_not_block_a_new_pending_one(harness):
    team = await make_team(harness.rt)
    now = harness.clock.now()
    await _insert(harness, _invitation(now, team.id, "x@example.com", status="revoked"),
                  _invitation(now, team.id, "x@example.com", status="expired"),
                  _invitation(now, team.id, "x@example.com"))


async def test_the_same_email_may_be_pending_in_two_teams(harness):
    first = await make_team(harness.rt, "one@example.com")
    second = await make_team(harness.rt, "two@example.com")
    now = harness.clock.now()
    await _insert(harness, _invitation(now, first.id, "x@example.com"), _invitation(now, second.id, "x@example.com"))


async def test_token_hashes_are_unique(harness):
    team = await make_team(harness.rt)
    now = harness.clock.now()
    digest = hash_token(new_token())
    await _insert(harness, _invitation(now, team.id, "a@example.com", token_hash=digest))
    with pytest.raises(IntegrityError):
        await _insert(harness, _invitation(now, team.id, "b@example.com", token_hash=digest))


async def test_memberships_need_an_existing_team(harness):
    user = await make_user(harness.rt, "lonely@example.com")
    with pytest.raises(IntegrityError):
        await _insert(harness, Membership(team_id="team_missing", user_id=user.id, role="member", is_owner=False,
                                             created_at=harness.clock.now()))


async def test_deleting_a_team_takes_its_rows_with_it(harness):
    team = await make_team(harness.rt)
    await _insert(harness, _invitation(harness.clock.now(), team.id, "gone@example.com"))
    async with harness.owner() as db:
        await db.delete(await db.get(Team, team.id))
    async with harness.owner() as db:
        assert await db.get(Membership, (team.id, team.owner.id)) is None
