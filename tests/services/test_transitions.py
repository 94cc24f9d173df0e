"""The services make the domain's transitions on stored rows, on both engines and without HTTP:
cancel (and its queued email), a create that finds an overdue invitation, and an operator's retry
of a failed email, each writing what the domain's move says and nothing more."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from teamgate import errors
from teamgate.domain.delivery import DeliveryStatus, OutboxStatus
from teamgate.domain.invitation import InvitationStatus
from teamgate.services import invitations, outbox
from teamgate.services.context import Actor, TeamContext, system_owner_role
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import Invitation, OutboxMessage
from teamgate.storage.scope import act_for
from tests.factories import make_team


async def as_operator(db, rt, team_id: str) -> TeamContext:
    await act_for(db, team_id=team_id)
    return TeamContext(actor=Actor.system(), team_id=team_id, role=system_owner_role(rt.catalog), is_owner=True)


async def create(rt, team_id: str, email: str, **options) -> str:
    async with unit_of_work(rt.sessions) as db:
        ctx = await as_operator(db, rt, team_id)
        return (await invitations.create(db, rt, ctx, email=email, role="member", **options)).invitation.id


async def stored(harness, model, row_id: str):
    async with harness.owner() as db:
        return await db.get(model, row_id)


async def message_of(harness, invitation_id: str) -> OutboxMessage:
    async with harness.owner() as db:
        return await db.scalar(select(OutboxMessage).where(OutboxMessage.invitation_id == invitation_id))


class TestCancel:
    async def test_cancel_revokes_stamps_and_drops_the_queued_email(self, harness):
        rt = harness.rt
        team = await make_team(rt)
        invitation_id = await create(rt, team.id, "ivy@example.com")
        async with unit_of_work(rt.sessions) as db:
            await invitations.cancel(db, rt, await as_operator(db, rt, team.id), invitation_id)

        invitation = await stored(harness, Invitation, invitation_id)
        assert invitation.status == InvitationStatus.REVOKED
        assert invitation.revoked_at == rt.clock.now()
        message = await message_of(harness, invitation_id)
        assert (message.status, message.body) == (OutboxStatus.CANCELLED, None)

    async def test_a_revoked_invitation_cannot_be_cancelled_or_resent(self, harness):
        rt = harness.rt
        team = await make_team(rt)
        invitation_id = await create(rt, team.id, "ivy@example.com", send_email=False)
        async with unit_of_work(rt.sessions) as db:
            await invitations.cancel(db, rt, await as_operator(db, rt, team.id), invitation_id)
        for again in (invitations.cancel, invitations.resend):
            async with unit_of_work(rt.sessions) as db:
                with pytest.raises(errors.InvitationNotPending):
                    await again(db, rt, await as_operator(db, rt, team.id), invitation_id)


class TestCreate:
    async def test_a_pending_invitation_blocks_a_second_until_it_is_overdue_then_it_expires(self, harness):
        rt = harness.rt
        team = await make_team(rt)
        first = await create(rt, team.id, "ivy@example.com", expires_in_days=1, send_email=False)
        with pytest.raises(errors.InvitationPending):
            await create(rt, team.id, "ivy@example.com", send_email=False)
        harness.clock.advance(days=1)  # the very instant it expires, it no longer blocks
        second = await create(rt, team.id, "ivy@example.com", send_email=False)

        assert (await stored(harness, Invitation, first)).status == InvitationStatus.EXPIRED
        created = await stored(harness, Invitation, second)
        assert (created.status, created.delivery_status) == (InvitationStatus.PENDING, DeliveryStatus.SKIPPED)


class TestRetry:
    async def _failed(self, harness, team_id: str) -> tuple[str, str]:
        invitation_id = await create(harness.rt, team_id, "ivy@example.com")
        message = await message_of(harness, invitation_id)
        async with harness.owner() as db:
            await db.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(
                status=OutboxStatus.FAILED, attempts=5, last_error="refused", last_error_code="smtp_refused"))
            await db.execute(update(Invitation).where(Invitation.id == invitation_id).values(
                delivery_status=DeliveryStatus.FAILED, delivery_attempts=5, delivery_last_error="refused",
                delivery_last_error_code="smtp_refused"))
        return invitation_id, message.id

    async def test_a_failed_email_is_queued_again_with_a_fresh_set_of_attempts(self, harness):
        rt = harness.rt
        invitation_id, message_id = await self._failed(harness, (await make_team(rt)).id)
        async with harness.owner() as db:  # an operator's command, connected as the owner (cli.opened)
            result = await outbox.retry(db, rt, Actor.system(), ids=[message_id])

        assert result.retried == [message_id] and result.skipped == {}
        message = await stored(harness, OutboxMessage, message_id)
        assert (message.status, message.attempts, message.last_error, message.last_error_code) == (
            OutboxStatus.QUEUED, 0, None, None)
        invitation = await stored(harness, Invitation, invitation_id)
        assert (invitation.delivery_status, invitation.delivery_attempts, invitation.delivery_last_error,
                invitation.delivery_last_error_code) == (DeliveryStatus.QUEUED, 0, None, None)

    async def test_only_a_failed_email_is_retried(self, harness):
        rt = harness.rt
        invitation_id = await create(rt, (await make_team(rt)).id, "ivy@example.com")
        message_id = (await message_of(harness, invitation_id)).id
        async with harness.owner() as db:  # an operator's command, connected as the owner (cli.opened)
            result = await outbox.retry(db, rt, Actor.system(), ids=[message_id])
        assert result.retried == []
        assert result.skipped == {message_id: "it is queued, not failed"}

    async def test_an_email_whose_invitation_is_overdue_is_left_alone(self, harness):
        rt = harness.rt
        _, message_id = await self._failed(harness, (await make_team(rt)).id)
        harness.clock.advance(days=7)  # the default lifetime: expired from this instant
        async with harness.owner() as db:  # an operator's command, connected as the owner (cli.opened)
            result = await outbox.retry(db, rt, Actor.system(), ids=[message_id])
        assert result.skipped == {message_id: "its invitation is no longer pending; resend the invitation instead"}
        assert (await stored(harness, OutboxMessage, message_id)).status == OutboxStatus.FAILED
