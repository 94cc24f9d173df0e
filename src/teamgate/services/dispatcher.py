"""Sends what the outbox holds, after the commit that queued it, with retries and backoff.

Three steps, so that no transaction stays open while a mail server is slow:
1. claim: in one short transaction, take due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
   several dispatchers on several hosts never take the same row) and mark them `sending` under
   a lease with a fresh claim id;
2. send the batch, outside any transaction, on one SMTP connection;
3. record each outcome in one short transaction, only where the claim still holds: the sent
   emails of every team in one statement (a definer function on PostgreSQL, migration 0015), the
   others each with its own error, within its team's walls.
Asked to stop, it finishes the message in hand, records what it sent and hands the rest of the
batch back (queued, due now) for another dispatcher. One that dies mid-batch leaves its rows
`sending`; when the lease runs out they are due again (at-least-once: a crash after the server
accepted a message can repeat it).

An invitation email to an address that has had `TEAMGATE_RATE_LIMIT_EMAILS_PER_RECIPIENT_ALL_TEAMS`
from all teams together waits (queued, its attempt not counted) until the window has room: the
cap across teams delays, it never refuses, so one team cannot stop another's invitations.

A failure is recorded as a reason code and a fixed sentence (email/failures.py), never the
exception's text, which names the mail server and the operator's set-up; that goes to the log.

Webhook deliveries are outbox messages too (kind `webhook`): claimed in the same batches, sent
concurrently on one pooled HTTP client per dispatcher (services/webhook_delivery.py), and
recorded in their own short transaction.

Every `TEAMGATE_UPKEEP_INTERVAL_SECONDS` it also runs the upkeep job (services/upkeep.py).

While it runs it listens to `Runtime.outbox_added`, which the outbox rings after any commit that
queued a message (services/outbox.py): email made by a request, a page or a command in this
process goes out at once, not at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from cryptography.fernet import InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import metrics
from teamgate.domain import delivery
from teamgate.domain.emails import normalize_email
from teamgate.email.failures import classify, failure
from teamgate.email.messages import Outgoing
from teamgate.email.senders import Outcome, Sender
from teamgate.runtime import Runtime
from teamgate.services import events, upkeep, webhook_delivery
from teamgate.services.webhooks import KIND as WEBHOOK
from teamgate.storage.db import unit_of_work
from teamgate.storage.repositories import outbox as repo
from teamgate.storage.scope import act_for
from teamgate.webhooks.client import WebhookClient

log = logging.getLogger("teamgate.email")


def backoff(attempts: int) -> timedelta:
    """Exponential (30 s, 1 min, 2 min ... capped at 1 h) with jitter, so retries do not stampede."""
    base = min(3600, 30 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class Claimed:
    id: str
    team_id: str | None
    attempts: int
    invitation_id: str | None
    message: Outgoing | None  # None when the body cannot be opened (the secret key changed)


class Dispatcher:
    def __init__(self, rt: Runtime, sender: Sender, *, batch_size: int = 20, poll_seconds: float = 5.0,
                 lease: timedelta | None = None) -> None:
        self.rt = rt
        self.sender = sender
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.lease = lease or timedelta(seconds=rt.settings.outbox_lease_seconds)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._next_upkeep = 0.0  # monotonic time; the first loop runs it at once
        self._webhooks: WebhookClient | None = None  # made at the first webhook, closed by stop()

    @property
    def webhook_client(self) -> WebhookClient:
        if self._webhooks is None:
            self._webhooks = WebhookClient(allow_private=self.rt.settings.webhook_allow_private)
        return self._webhooks

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Claim, send and record one batch of due messages; returns how many were attempted."""
        claim_id = secrets.token_hex(16)
        claimed, hooks = await self._claim_all(claim_id)
        if hooks:
            results = await webhook_delivery.send(self.webhook_client, self.rt, hooks)
            async with unit_of_work(self.rt.sessions) as db:
                await webhook_delivery.record(db, self.rt, claim_id, hooks, results)
        if claimed:
            deferred = await self._over_recipient_cap(claimed)
            sendable = [c for c in claimed if c.message is not None and c.id not in deferred]
            sent = await self.sender.send_many([c.message for c in sendable if c.message is not None],
                                               stop=self._stopping)
            # shorter than the batch if we were stopped
            outcomes = dict(zip([c.id for c in sendable], sent, strict=False))
            await self._record(claim_id, claimed, outcomes, deferred)
        return len(claimed) + len(hooks)

    async def _over_recipient_cap(self, claimed: list[Claimed]) -> dict[str, datetime]:
        """Invitation emails whose address is over the cap across all teams, and when to try them again."""
        now, deferred = self.rt.clock.now(), {}
        capped = [c for c in claimed if c.message is not None and c.invitation_id is not None]  # account emails
        waits = await self.rt.limits.recipient_delays(  # have limits of their own; all in one round trip
            [normalize_email(c.message.recipient) for c in capped if c.message is not None])
        for c, wait in zip(capped, waits, strict=True):
            if wait:
                deferred[c.id] = now + timedelta(seconds=wait)
                log.info("email.send.deferred", extra={"message_id": c.id, "seconds": round(wait)})
        return deferred

    async def drain(self) -> int:
        total = 0
        while not self._stopping.is_set() and (count := await self.run_once()):
            total += count
        return total

    async def _claim(self, claim_id: str) -> list[Claimed]:
        """The email part of a claim (webhook deliveries claimed with it wait for their lease to run out)."""
        return (await self._claim_all(claim_id))[0]

    async def _claim_all(self, claim_id: str) -> tuple[list[Claimed], list[webhook_delivery.Job]]:
        """Due emails, and due webhook deliveries with what sending them needs."""
        now = self.rt.clock.now()
        async with unit_of_work(self.rt.sessions) as db:
            rows = await repo.claim_due(db, now, self.batch_size, claim_id, now + self.lease)
            emails = [Claimed(r.id, r.team_id, r.attempts, r.invitation_id, self._open(r))
                      for r in rows if r.kind != WEBHOOK]
            hooks = await webhook_delivery.prepare(db, self.rt, [r for r in rows if r.kind == WEBHOOK])
            return emails, hooks

    def _open(self, row: repo.ClaimedRow) -> Outgoing | None:
        """Decrypt a claimed row's body."""
        try:
            body = json.loads(self.rt.cipher.decrypt(row.body or b""))
        except (InvalidToken, ValueError):
            return None
        return Outgoing(id=row.id, recipient=row.recipient, subject=row.subject, text=body["text"], html=body["html"])

    async def _record(self, claim_id: str, claimed: list[Claimed], outcomes: dict[str, Outcome],
                      deferred: dict[str, datetime] | None = None) -> None:
        now, deferred = self.rt.clock.now(), deferred or {}
        sent = [c for c in claimed if c.message is not None and c.id not in deferred and c.id in outcomes
                and outcomes[c.id] is None]
        done = {c.id for c in sent}
        async with unit_of_work(self.rt.sessions) as db:
            # the sent emails of every team (nearly all of a batch) in one statement across the teams'
            # walls, with what their teams' endpoints want (repositories/outbox.py, migration 0015)
            recorded = await repo.record_sent(db, [c.id for c in sent], claim_id, now) if sent else None
            self._sent(sent)
            # the rest, each with its own error, within its team's walls: account mail (no team)
            # first, while the transaction acts for no team: only then may it be updated (migration 0006)
            rest = sorted((c for c in claimed if c.id not in done), key=lambda c: (c.team_id is not None,
                                                                                c.team_id or ""))
            for team_id, group in groupby(rest, key=lambda c: c.team_id):
                await act_for(db, team_id=team_id)
                for c in group:
                    if c.id in deferred:
                        await repo.release(db, c.id, claim_id, deferred[c.id])
                    elif c.message is not None and c.id not in outcomes:  # never attempted: we are stopping
                        await repo.release(db, c.id, claim_id, now)
                    else:
                        await self._record_one(db, claim_id, c, self._outcome(c, outcomes.get(c.id), now))
            if recorded is not None:
                await self._delivered(db, sent, recorded)

    def _sent(self, sent: list[Claimed]) -> None:
        """A batch's sent emails: one log line and one count for all of them."""
        if sent:
            log.info("email.send.ok", extra={"count": len(sent), "message_ids": [c.id for c in sent]})
            metrics.EMAILS.labels(delivery.OutboxStatus.SENT).inc(len(sent))

    async def _delivered(self, db: AsyncSession, sent: list[Claimed], recorded: repo.RecordedSent) -> None:
        """`invitation.delivered` for the recorded invitation emails (not those another dispatcher
        has now), each team's within its walls; a team whose endpoints want none costs nothing."""
        by_team: dict[str, list[str]] = {}
        for c in sent:  # an invitation's email always has its team
            if c.id in recorded.ids and c.invitation_id and c.team_id in recorded.endpoint_events:
                by_team.setdefault(c.team_id, []).append(c.invitation_id)
        for team_id, invitation_ids in sorted(by_team.items()):
            await events.deliveries_recorded(db, self.rt, team_id=team_id, invitation_ids=invitation_ids,
                                             status=delivery.DeliveryStatus.SENT,
                                             endpoint_events=recorded.endpoint_events[team_id])

    async def _record_one(self, db: AsyncSession, claim_id: str, c: Claimed, values: dict) -> None:
        """A message that was not sent: retried later or failed, each with its own error."""
        if not await repo.finish(db, c.id, claim_id, **values):
            return  # our lease ran out and another dispatcher has the message now
        if c.invitation_id:
            status = delivery.delivery_of(values["status"])
            await repo.mirror_delivery(db, c.invitation_id, delivery_status=status,
                                       delivery_attempts=c.attempts, delivery_last_error=values["last_error"],
                                       delivery_last_error_code=values["last_error_code"],
                                       delivery_sent_at=values.get("sent_at"))
            if c.team_id is not None:  # an invitation's email always has its team
                await events.delivery_recorded(db, self.rt, team_id=c.team_id, invitation_id=c.invitation_id,
                                               status=status)

    def _outcome(self, c: Claimed, error: Outcome, now) -> dict:
        """A message that was not sent (the sent ones are recorded together, see `_record`)."""
        if c.message is None:
            log.error("email.send.unreadable", extra={"message_id": c.id})
            reason = failure("unreadable")
            return {"status": delivery.unreadable(), "last_error": reason.message, "last_error_code": reason.code}
        assert error is not None  # a sent one is in `_record`'s batch statement, not here
        status = delivery.after_failure(c.attempts, self.rt.settings.email_max_attempts)
        final = status is delivery.OutboxStatus.FAILED
        reason = classify(error)
        metrics.EMAILS.labels(status if final else "retry").inc()
        # the raw text is for operators only; the SMTP client never puts the password in it
        log.warning("email.send.failed", extra={"message_id": c.id, "attempts": c.attempts, "final": final,
                                                "reason": reason.code,
                                                "error": f"{type(error).__name__}: {error}"[:300]})
        return {"status": status, "last_error": reason.message,
                "last_error_code": reason.code, "next_attempt_at": now + backoff(c.attempts)}

    async def run_forever(self) -> None:
        """Until stop(): drain, then sleep until woken by a commit or the poll interval passes."""
        self.rt.outbox_added.listen(self.wake)
        try:
            await self._loop()
        finally:
            self.rt.outbox_added.ignore(self.wake)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.drain()
                if time.monotonic() >= self._next_upkeep and not self._stopping.is_set():
                    self._next_upkeep = time.monotonic() + self.rt.settings.upkeep_interval_seconds
                    await self.upkeep()
            except Exception:  # a database or network hiccup must not end the loop; rows stay due
                log.exception("email.dispatch.error")
            with contextlib.suppress(TimeoutError):  # no wake-up before the poll: look anyway
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()

    async def upkeep(self) -> upkeep.Done:
        """Expire overdue invitations, then remind those about to expire (each in batches, each
        batch its own transaction), then purge."""
        expired = await self._in_batches(upkeep.expire_overdue)
        reminded = await self._in_batches(upkeep.send_reminders)
        async with unit_of_work(self.rt.sessions) as db:
            outbox_purged, sessions_purged, answers_purged = await upkeep.purge(db, self.rt)
            grants_purged = await upkeep.purge_grants(db, self.rt)
        done = upkeep.Done(expired=expired, outbox_purged=outbox_purged, sessions_purged=sessions_purged,
                           grants_purged=grants_purged, reminded=reminded, answers_purged=answers_purged)
        if expired or reminded or outbox_purged or sessions_purged or grants_purged or answers_purged:
            log.info("upkeep.done", extra={"expired": expired, "reminded": reminded, "outbox_purged": outbox_purged,
                                           "sessions_purged": sessions_purged, "grants_purged": grants_purged,
                                           "answers_purged": answers_purged})
        return done

    async def _in_batches(self, step) -> int:
        total = 0
        while True:
            async with unit_of_work(self.rt.sessions) as db:
                batch = await step(db, self.rt)
            total += batch
            if batch < upkeep.BATCH or self._stopping.is_set():
                return total

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run_forever(), name="teamgate-dispatcher")

    def request_stop(self) -> None:
        """Ask the loop to stop after the batch in hand (safe from a signal handler)."""
        self._stopping.set()
        self._wake.set()

    async def stop(self) -> None:
        """Finish the batch in hand, then stop: nothing sent is left unrecorded."""
        self.request_stop()
        if self._task:
            await self._task
            self._task = None
        if self._webhooks is not None:
            await self._webhooks.aclose()
            self._webhooks = None
