"""The DESIGN 11 events, emitted from the services that make each change, in its transaction
(so the API, the pages, the CLI and upkeep all emit alike). Thin: the object as the API shows it
(services/payloads.py) handed to webhooks.emit."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.domain.delivery import DeliveryStatus
from teamgate.domain.webhooks import wants
from teamgate.runtime import Runtime
from teamgate.services import payloads, webhooks
from teamgate.services.context import Actor
from teamgate.storage.models import Invitation, JoinRequest, Membership, OutboxMessage, User, WebhookEndpoint
from teamgate.storage.repositories import invitations as invitations_repo
from teamgate.storage.repositories import outbox as outbox_repo
from teamgate.storage.scope import act_for


async def invitation(db: AsyncSession, rt: Runtime, type: str, row: Invitation, actor: Actor | None = None) -> None:
    await webhooks.emit(db, rt, team_id=row.team_id, type=type, data=payloads.invitation(row, rt.clock.now()),
                        actor=actor)


def invitation_deliveries(rt: Runtime, type: str, row: Invitation, endpoints: list[WebhookEndpoint],
                          actor: Actor | None = None) -> list[OutboxMessage]:
    """What `invitation` queues, built for the team's enabled `endpoints` and not yet added: a
    create writes them in the statement that inserts the invitation."""
    return webhooks.event_messages(rt, endpoints, type=type, data=payloads.invitation(row, rt.clock.now()), actor=actor)


async def member(db: AsyncSession, rt: Runtime, type: str, m: Membership, u: User,
                 actor: Actor | None = None) -> None:
    await webhooks.emit(db, rt, team_id=m.team_id, type=type, data=payloads.member(m, u), actor=actor)


async def join_request(db: AsyncSession, rt: Runtime, type: str, row: JoinRequest, actor: Actor | None = None) -> None:
    await webhooks.emit(db, rt, team_id=row.team_id, type=type, data=payloads.join_request(row), actor=actor)


# an invitation email's outcome, as the dispatcher records it; a retry to come emits nothing
_DELIVERY_EVENTS = {DeliveryStatus.SENT: "invitation.delivered", DeliveryStatus.FAILED: "invitation.delivery_failed"}


async def delivery_recorded(db: AsyncSession, rt: Runtime, *, team_id: str, invitation_id: str,
                            status: DeliveryStatus) -> None:
    """After the dispatcher mirrored a send's outcome onto the invitation: delivered, or failed for
    good (attempts used up, or a body that cannot be read)."""
    type = _DELIVERY_EVENTS.get(status)
    row = await invitations_repo.in_team(db, team_id, invitation_id) if type else None
    if type and row is not None:
        await invitation(db, rt, type, await invitations_repo.refresh(db, row))


async def deliveries_recorded(db: AsyncSession, rt: Runtime, *, team_id: str, invitation_ids: list[str],
                              status: DeliveryStatus, endpoint_events: list[list[str]] | None = None) -> None:
    """delivery_recorded for many invitations of one team (a dispatcher's batch), read in one
    statement. `endpoint_events`, the `events` lists of the team's enabled endpoints, when the
    caller has them already (the dispatcher's record returns them): then nothing at all is read
    when none of them wants the event; else the team's endpoints are read once to know."""
    type = _DELIVERY_EVENTS.get(status)
    if type is None or not invitation_ids:
        return
    if endpoint_events is not None:
        if not any(wants(events, type) for events in endpoint_events):
            return
    elif not await webhooks.wanted(db, team_id, type):
        return
    await act_for(db, team_id=team_id)
    rows = {row.id: row for row in await outbox_repo.invitations_in_team(db, team_id, invitation_ids)}
    for invitation_id in invitation_ids:  # one event per message sent, as they came
        if (row := rows.get(invitation_id)) is not None:
            await invitation(db, rt, type, row)
