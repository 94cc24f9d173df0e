"""Sends what the outbox holds, after the commit that queued it, with retries and backoff.

A batch is claimed in one transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
dispatchers share the table without sending a message twice), sent, and recorded there.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from sqlalchemy import update

from teamgate.email.outbox import open_body
from teamgate.email.senders import Sender
from teamgate.runtime import Runtime
from teamgate.storage.db import unit_of_work
from teamgate.storage.models import Invitation, OutboxMessage
from teamgate.storage.repositories import outbox as outbox_repo

log = logging.getLogger("teamgate.email")


def backoff(attempts: int) -> timedelta:
    """Exponential (30 s, 1 min, 2 min ... capped at 1 h) with jitter, so retries do not stampede."""
    base = min(3600, 30 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


class Dispatcher:
    def __init__(self, rt: Runtime, sender: Sender, *, batch_size: int = 20, poll_seconds: float = 5.0) -> None:
        self.rt = rt
        self.sender = sender
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Send one batch of due messages; returns how many were attempted."""
        async with unit_of_work(self.rt.sessions) as db:
            rows = await outbox_repo.claim_due(db, self.rt.clock.now(), self.batch_size)
            for row in rows:
                await self._deliver(db, row)
            return len(rows)

    async def drain(self) -> int:
        total = 0
        while count := await self.run_once():
            total += count
        return total

    async def _deliver(self, db, row: OutboxMessage) -> None:
        row.attempts += 1
        try:
            await self.sender.send(open_body(self.rt, row))
        except Exception as exc:  # any failure of the transport is retried, never lost
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            row.status = "failed" if row.attempts >= self.rt.settings.email_max_attempts else "queued"
            row.next_attempt_at = self.rt.clock.now() + backoff(row.attempts)
            log.warning("email.send.failed", extra={"message_id": row.id, "attempts": row.attempts})
        else:
            row.status, row.sent_at, row.body, row.last_error = "sent", self.rt.clock.now(), None, None
            log.info("email.send.ok", extra={"message_id": row.id})
        if row.invitation_id:
            await db.execute(update(Invitation).where(Invitation.id == row.invitation_id).values(
                delivery_status=row.status, delivery_attempts=row.attempts, delivery_last_error=row.last_error,
                delivery_sent_at=row.sent_at).execution_options(synchronize_session=False))

    async def run_forever(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:  # the loop must survive a database hiccup; the rows stay queued
                log.exception("email.dispatch.error")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run_forever(), name="teamgate-dispatcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
