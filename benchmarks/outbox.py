"""For the create scenarios: what the worker sent during a run and after it.

A create's email (and, with an endpoint, its webhooks: invitation.created, then
invitation.delivered once the email is sent) go out after its commit, so under load part of
that work happens after wrk stops. The table's CPU figures cover the run alone, as for every
scenario; this also waits for the outbox to empty (so the backlog does not load the next
scenario) and gives the CPU per create counted until then, the worker's apart: its CPU per
message sent (an email; with an endpoint, an email and two webhook deliveries per create).
Before each create scenario the outbox is empty: the one before it was drained too."""

from __future__ import annotations

import time
from dataclasses import dataclass

from benchmarks import system
from benchmarks.database import DATABASE, psql
from benchmarks.receiver import Receiver
from benchmarks.service import Service


@dataclass(frozen=True)
class Counts:
    emails: int
    webhooks: int
    service_cpu: float
    worker_cpu: float
    postgres_cpu: float


def counts(service: Service, receiver: Receiver | None) -> Counts:
    mail = service.scratch / "mail"
    return Counts(emails=sum(1 for _ in mail.iterdir()) if mail.exists() else 0,
                  webhooks=receiver.count if receiver else 0,
                  service_cpu=system.cpu_seconds(system.descendants(service.process.pid)),
                  worker_cpu=system.cpu_seconds([service.worker.pid]),
                  postgres_cpu=system.cpu_seconds(system.postgres_pids()))


def waiting() -> int:
    """Outbox messages (emails and webhooks) not yet sent, read as the tables' owner."""
    return int(psql(DATABASE, "SELECT count(*) FROM outbox_messages WHERE status IN ('queued', 'sending')"))


def drained(service: Service, receiver: Receiver | None, before: Counts, most: float = 180) -> dict:
    """Wait (at most `most` s) until the outbox is empty, twice in a row half a second apart (a
    create still in flight when wrk stopped may commit in between). The CPU is per create made,
    counted by their emails (each create sends one), the creates still in flight included."""
    ended, started = counts(service, receiver), time.monotonic()
    empty_once = False
    while time.monotonic() - started < most:
        if waiting() == 0:
            if empty_once:
                break
            empty_once = True
        else:
            empty_once = False
        time.sleep(0.5)
    now = counts(service, receiver)
    creates = max(1, now.emails - before.emails)
    return {"emails_in_run": ended.emails - before.emails, "emails": now.emails - before.emails,
            "webhooks_in_run": ended.webhooks - before.webhooks, "webhooks": now.webhooks - before.webhooks,
            "drained_after_s": round(time.monotonic() - started, 1),
            "service_cpu_ms": round((now.service_cpu - before.service_cpu) * 1000 / creates, 2),
            "worker_cpu_ms": round((now.worker_cpu - before.worker_cpu) * 1000 / creates, 2),
            "worker_cpu_ms_per_message": round((now.worker_cpu - before.worker_cpu) * 1000 / max(
                1, now.emails - before.emails + now.webhooks - before.webhooks), 2),
            "postgres_cpu_ms": round((now.postgres_cpu - before.postgres_cpu) * 1000 / creates, 2)}
