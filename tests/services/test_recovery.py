"""The recovery service on its own, on both engines: the entry point other services call
(`send_verification`), what a reset request writes, and that a link's purpose is part of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from teamgate import errors
from teamgate.services import recovery
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import AccountToken, OutboxMessage, User
from teamgate.storage.scope import act_for
from tests.factories import count_rows, make_user
from tests.recovery_helpers import RESET_LINK, VERIFY_LINK, mailed_tokens, mark_verified

EMAIL = "lea@example.com"


class TestSendVerification:
    async def test_it_queues_one_sealed_email_with_a_link_and_stores_only_the_hash(self, harness):
        person = await make_user(harness.rt, EMAIL)
        async with unit_of_work(harness.rt.sessions) as db:
            await act_for(db, user_id=person.id)
            await recovery.send_verification(db, harness.rt, await db.get(User, person.id))
        async with harness.owner() as db:
            message = (await db.scalars(select(OutboxMessage))).one()
            token = (await db.scalars(select(AccountToken))).one()
        assert (message.recipient, message.kind, message.team_id) == (EMAIL, "verify_email", None)
        assert b"verify-email" not in message.body  # sealed
        assert token.purpose == "verify_email" and token.expires_at == harness.clock.now() + timedelta(hours=48)
        [sent] = await mailed_tokens(harness, VERIFY_LINK, to=EMAIL)
        assert len(sent) == 43

    async def test_a_second_one_kills_the_first_link(self, harness):
        person = await make_user(harness.rt, EMAIL)
        for _ in range(2):
            async with unit_of_work(harness.rt.sessions) as db:
                await act_for(db, user_id=person.id)
                await recovery.send_verification(db, harness.rt, await db.get(User, person.id))
        first, second = await mailed_tokens(harness, VERIFY_LINK)
        async with unit_of_work(harness.rt.sessions) as db:
            with pytest.raises(errors.TokenInvalid):
                await recovery.confirm_verification(db, harness.rt, token=first, signed_in=None)
        async with unit_of_work(harness.rt.sessions) as db:
            await act_for(db, user_id=person.id)
            me = await db.get(User, person.id)
            user = await recovery.confirm_verification(db, harness.rt, token=second, signed_in=me)
            assert user.email_verified

    async def test_it_does_nothing_for_a_verified_address(self, harness):
        person = await make_user(harness.rt, EMAIL)
        await mark_verified(harness, person.id)
        async with unit_of_work(harness.rt.sessions) as db:
            await act_for(db, user_id=person.id)
            await recovery.send_verification(db, harness.rt, await db.get(User, person.id))
        assert await count_rows(harness, OutboxMessage) == 0


class TestRequestPasswordReset:
    async def test_an_unknown_address_writes_nothing(self, harness):
        async with unit_of_work(harness.rt.sessions) as db:
            assert await recovery.request_password_reset(db, harness.rt, email="ghost@example.com") is False
            assert await recovery.request_password_reset(db, harness.rt, email="bad\x00@example.com") is False
        assert await count_rows(harness, AccountToken) == 0 and await count_rows(harness, OutboxMessage) == 0

    async def test_a_known_address_in_any_case_gets_a_link_that_only_resets(self, harness):
        await make_user(harness.rt, EMAIL)
        async with unit_of_work(harness.rt.sessions) as db:
            assert await recovery.request_password_reset(db, harness.rt, email="  LEA@Example.com ") is True
        [token] = await mailed_tokens(harness, RESET_LINK, to=EMAIL)
        async with unit_of_work(harness.rt.sessions) as db:
            with pytest.raises(errors.TokenInvalid):
                await recovery.confirm_verification(db, harness.rt, token=token, signed_in=None)
        async with unit_of_work(harness.rt.sessions) as db:
            signed_in = await recovery.confirm_password_reset(db, harness.rt, token=token,
                                                              password="a long fresh passphrase")
            assert signed_in.user.email_verified and signed_in.token
