"""The address-proof rules below HTTP: which token proves the mailbox, what accepting with each
makes of the account, and what taking an unverified account over ends (DESIGN 10)."""

import pytest
from sqlalchemy import select

from teamgate import errors
from teamgate.services import accounts, invitation_links
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import ApiKey, Membership, Session, User
from teamgate.storage.scope import act_for
from tests.factories import count_rows, invite, mailed_token, make_api_key, make_team, make_user, sign_in

NEW = {"password": "a long new password", "first_name": "New", "last_name": "Person"}


async def accept(harness, token, **extra):
    async with unit_of_work(harness.rt.sessions) as db:
        return await invitation_links.accept(db, harness.rt, token=token, signed_in=None, **{**NEW, **extra})


async def user(harness, email) -> User:
    async with harness.owner() as db:
        return await db.scalar(select(User).where(User.email_normalized == email))


async def test_only_the_mail_token_proves_the_mailbox(harness, client):
    team = await make_team(harness.rt)
    created = await invite(client, await make_api_key(harness.rt, team.id), "ann@example.com")
    mailed = await mailed_token(harness, "ann@example.com")

    async with unit_of_work(harness.rt.sessions) as db:
        by_link = await invitation_links._usable(db, harness.rt, created["token"])
        by_mail = await invitation_links._usable(db, harness.rt, mailed)

    assert by_link.invitation.id == by_mail.invitation.id
    assert (by_link.proves_mailbox, by_mail.proves_mailbox) == (False, True)


async def test_accepting_with_the_link_token_makes_an_unverified_account(harness, client):
    team = await make_team(harness.rt)
    created = await invite(client, await make_api_key(harness.rt, team.id), "ann@example.com", sendEmail=False)

    done = await accept(harness, created["token"])

    assert done.account_created and not done.user.email_verified
    assert (await user(harness, "ann@example.com")).email_verified_at is None


async def test_accepting_with_the_mail_token_makes_a_verified_account(harness, client):
    team = await make_team(harness.rt)
    await invite(client, await make_api_key(harness.rt, team.id), "ann@example.com")

    done = await accept(harness, await mailed_token(harness, "ann@example.com"))

    assert done.account_created and done.user.email_verified
    assert (await user(harness, "ann@example.com")).email_verified_at == harness.clock.now()


async def test_taking_over_ends_sessions_and_the_keys_the_account_made_but_keeps_memberships(harness, client):
    team = await make_team(harness.rt)
    squatter = team.owner  # made by an operator: unverified
    await sign_in(harness.client(), squatter)
    async with unit_of_work(harness.rt.sessions) as db:
        await act_for(db, team_id=team.id)
        db.add(ApiKey(id="key_x", team_id=team.id, name="made by the account", role="admin", prefix="tgk_",
                      secret_hash=b"x" * 32, created_by_user_id=squatter.id, created_at=harness.clock.now()))

    async with unit_of_work(harness.rt.sessions) as db:
        await act_for(db, user_id=squatter.id)
        account = await db.get(User, squatter.id)
        await accounts.take_over(db, harness.rt, account, password_hash=await harness.rt.passwords.hash("new one"),
                                 first_name="Real", last_name="Owner", via="test")

    after = await user(harness, squatter.email)
    assert after.email_verified and (after.first_name, after.last_name) == ("Real", "Owner")
    assert await count_rows(harness, Session, Session.user_id == squatter.id) == 0
    assert await count_rows(harness, ApiKey, ApiKey.revoked_at.is_(None)) == 0
    async with harness.owner() as db:
        assert await db.scalar(select(Membership.role).where(Membership.user_id == squatter.id)) == "owner"


async def test_a_verified_account_is_never_taken_over_by_accept(harness, client):
    team = await make_team(harness.rt)
    await make_user(harness.rt, "ann@example.com")
    async with harness.owner() as db:
        (await db.scalar(select(User).where(User.email_normalized == "ann@example.com"))).email_verified_at = \
            harness.clock.now()
    await invite(client, await make_api_key(harness.rt, team.id), "ann@example.com")

    with pytest.raises(errors.AccountExists):
        await accept(harness, await mailed_token(harness, "ann@example.com"))
