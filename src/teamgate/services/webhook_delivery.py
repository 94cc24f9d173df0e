"""Sending webhook deliveries for the dispatcher (services/dispatcher.py), in its three steps:
`prepare` in the claim's transaction (the endpoint's URL and live secrets, the body opened),
`send` outside any transaction (signed at send time, so the timestamp is fresh on each retry),
`record` in one short transaction: delivered, retried on the schedule, or failed; an endpoint
failing for five days is disabled (audit event)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate import metrics
from teamgate.domain import delivery
from teamgate.domain import webhooks as rules
from teamgate.runtime import Runtime
from teamgate.services import audit
from teamgate.services.context import Actor
from teamgate.storage.models import WebhookEndpoint
from teamgate.storage.repositories import outbox as outbox_repo
from teamgate.storage.repositories import webhooks as repo
from teamgate.storage.scope import act_for
from teamgate.webhooks import signing
from teamgate.webhooks.client import Result, WebhookClient

log = logging.getLogger("teamgate.webhooks")


@dataclass(frozen=True)
class Job:
    id: str
    team_id: str
    endpoint_id: str
    event_id: str
    attempts: int
    url: str | None  # None: nothing to send (see `refusal`)
    secrets: list[str]
    body: bytes
    refusal: Result | None = None  # why it is not sent at all


def _refused(row: outbox_repo.ClaimedRow, code: str, message: str) -> Job:
    return Job(row.id, row.team_id or "", row.recipient, row.event_id or row.id, row.attempts, None, [], b"",
               Result(None, code, message))


async def prepare(db: AsyncSession, rt: Runtime, rows: list[outbox_repo.ClaimedRow]) -> list[Job]:
    """Read each claimed delivery's endpoint within its team's walls, and open what is sealed."""
    now, jobs = rt.clock.now(), []
    opened: dict[str, list[str]] = {}  # endpoint id -> its live secrets, opened once per batch
    for row in rows:
        await act_for(db, team_id=row.team_id)
        endpoint = await repo.endpoint(db, row.recipient)
        if endpoint is None or endpoint.disabled_at is not None:
            jobs.append(_refused(row, "endpoint_disabled", "The endpoint is disabled; enable it and retry."))
            continue
        try:
            body = rt.cipher.decrypt(row.body or b"")
            if (live := opened.get(endpoint.id)) is None:
                live = opened[endpoint.id] = _live_secrets(rt, endpoint, now)
        except InvalidToken:
            jobs.append(_refused(row, "unreadable", "The delivery could not be opened (the secret key changed)."))
            continue
        jobs.append(Job(row.id, endpoint.team_id, endpoint.id, row.event_id or row.id, row.attempts, endpoint.url,
                        live, body))
    return jobs


def _live_secrets(rt: Runtime, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    live = [rt.cipher.decrypt(endpoint.secret).decode()]
    if endpoint.previous_secret and rules.previous_secret_live(endpoint.previous_secret_expires_at, now):
        live.append(rt.cipher.decrypt(endpoint.previous_secret).decode())
    return live


async def send(client: WebhookClient, rt: Runtime, jobs: list[Job]) -> dict[str, Result]:
    """All at once: each waits at most the client's timeout, so a slow receiver holds up no other."""

    checks: dict = {}  # one address check per host for the batch, made as it is sent

    async def one(job: Job) -> Result:
        if job.refusal is not None or job.url is None:
            return job.refusal or Result(None, "unreadable", "Nothing to send.")
        headers = signing.headers(job.event_id, job.body, job.secrets, rt.clock.now())
        return await client.post(job.url, job.body, headers, checks)

    results = await asyncio.gather(*(one(job) for job in jobs))
    return {job.id: result for job, result in zip(jobs, results, strict=True)}


async def record(db: AsyncSession, rt: Runtime, claim_id: str, jobs: list[Job], results: dict[str, Result]) -> None:
    """The delivered ones (nearly all) of every team in one statement; the others within each
    team's walls, those with the same outcome in one statement; the endpoints' streaks follow
    each result."""
    now = rt.clock.now()
    delivered = [job for job in jobs if results[job.id].delivered]
    if delivered:
        streaks = await outbox_repo.record_delivered(
            db, [(job.id, results[job.id].status, results[job.id].excerpt or None) for job in delivered], claim_id, now)
        for job in delivered:
            if job.id not in streaks:  # our lease ran out and another dispatcher has the delivery now
                continue
            if streaks[job.id] is not None:  # a streak to clear: the endpoint, within its team's walls
                await act_for(db, team_id=job.team_id)
                if (endpoint := await repo.endpoint(db, job.endpoint_id)) is not None:
                    _follow(db, rt, endpoint, results[job.id], now)
            _counted(job, results[job.id], final=True)
    rest = [job for job in jobs if not results[job.id].delivered]
    for team_id, group in groupby(sorted(rest, key=lambda j: j.team_id), key=lambda j: j.team_id):
        await act_for(db, team_id=team_id)
        alike: dict[tuple, list[Job]] = {}
        for job in group:
            values = outcome(job.attempts, results[job.id], now)
            alike.setdefault(tuple(sorted(values.items())), []).append(job)
        for key, same in alike.items():
            values = dict(key)
            recorded = await outbox_repo.finish_many(db, [j.id for j in same], claim_id, **values)
            for job in same:
                if job.id in recorded:  # else our lease ran out and another dispatcher has the delivery now
                    await _recorded(db, rt, job, results[job.id], values, now)


async def _recorded(db: AsyncSession, rt: Runtime, job: Job, result: Result, values: dict[str, Any],
                    now: datetime) -> None:
    endpoint = await repo.endpoint(db, job.endpoint_id)  # read once per endpoint: the session keeps it
    if endpoint is not None and job.refusal is None:
        _follow(db, rt, endpoint, result, now)
    _counted(job, result, final=values["status"] != delivery.OutboxStatus.QUEUED)


def _counted(job: Job, result: Result, *, final: bool) -> None:
    label = "delivered" if result.delivered else "failed" if final else "retry"
    metrics.WEBHOOKS.labels(label).inc()
    log.info("webhook.send." + label, extra={"message_id": job.id, "event_id": job.event_id,
                                             "attempts": job.attempts, "status": result.status,
                                             "reason": result.error_code})


def outcome(attempts: int, result: Result, now: datetime) -> dict[str, Any]:
    """The delivery's columns after an attempt: delivered (body erased), queued after the
    schedule's wait, or failed once the schedule is spent."""
    seen = {"last_response_status": result.status, "last_response_excerpt": result.excerpt or None}
    if result.delivered:
        return {**delivery.sent(now), **seen}
    wait = rules.retry_after(attempts) if result.error_code not in ("endpoint_disabled", "unreadable") else None
    status = delivery.OutboxStatus.QUEUED if wait is not None else delivery.OutboxStatus.FAILED
    return {"status": status, "next_attempt_at": now + wait if wait is not None else now,
            "last_error": result.error, "last_error_code": result.error_code, **seen}


def _follow(db: AsyncSession, rt: Runtime, endpoint: WebhookEndpoint, result: Result, now: datetime) -> None:
    """The endpoint's failing streak: cleared by a delivery, started by a failure, and five days
    of it disable the endpoint."""
    if result.delivered:
        endpoint.failing_since = None
        return
    endpoint.failing_since = rules.failing_since_after_failure(endpoint.failing_since, now)
    if endpoint.disabled_at is None and rules.should_disable(endpoint.failing_since, now):
        endpoint.disabled_at = now
        repo.forget(db)
        audit.record(db, rt, Actor.system(), "webhook.disabled", team_id=endpoint.team_id, target_type="webhook",
                     target_id=endpoint.id, failingSince=endpoint.failing_since.isoformat())
        log.warning("webhook.disabled", extra={"webhook_id": endpoint.id})
