"""Prometheus metrics (prometheus-client) and the events that are counted and logged only once
their transaction has committed (a rolled-back accept counts nothing).

Several `serve` processes each expose their own /metrics; `serve --workers N` shares one port,
so its workers write to PROMETHEUS_MULTIPROC_DIR and any of them reports the sum.
"""

from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter("teamgate_http_requests_total", "HTTP requests answered, by route template and status",
                   ["method", "route", "status"])
LATENCY = Histogram("teamgate_http_request_duration_seconds", "Time to answer, by route template", ["method", "route"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
INVITATIONS = Counter("teamgate_invitations_total", "Invitation events committed", ["event"])
EMAILS = Counter("teamgate_emails_total", "Email delivery attempts, by outcome (sent, retry, failed)", ["outcome"])
WEBHOOKS = Counter("teamgate_webhooks_total", "Webhook delivery attempts, by outcome (delivered, retry, failed)",
                   ["outcome"])
RATE_LIMITED = Counter("teamgate_rate_limit_refusals_total", "Requests refused by an abuse limit", ["limit"])

INVITATION_EVENTS = {"invitation.created": "created", "invitation.accepted": "accepted",
                     "invitation.declined": "declined", "invitation.revoked": "revoked",
                     "invitation.expired": "expired", "invitation.resent": "resent"}
events_log = logging.getLogger("teamgate.events")


def committed(action: str, fields: dict) -> None:
    """Count and log `action` (a dotted audit action) whose transaction has committed (the audit
    trail calls it then, through storage/after_commit.py: a rolled-back accept counts nothing)."""
    if action in INVITATION_EVENTS:
        INVITATIONS.labels(INVITATION_EVENTS[action]).inc()
    events_log.info(action, extra=fields)


def exposition(outbox: dict[str, tuple[int, float | None, int]] | None) -> tuple[bytes, str]:
    """The text format: this process's (or all workers') metrics, plus the outbox figures read
    from the database just now, per kind of message (`email`, `webhook`): (waiting, age of the
    oldest waiting one in seconds, failed). None when they could not be read."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    if outbox is not None:
        waiting = GaugeMetricFamily("teamgate_outbox_waiting_messages",
                                    "Outbox messages queued or being sent, by kind (email, webhook)", labels=["kind"])
        oldest = GaugeMetricFamily("teamgate_outbox_oldest_waiting_age_seconds",
                                   "Age of the oldest message still waiting, by kind (0 when none)", labels=["kind"])
        failed = GaugeMetricFamily("teamgate_outbox_failed_messages",
                                   "Outbox messages that gave up, by kind (resend or retry them)", labels=["kind"])
        for kind, (count, age, gave_up) in sorted(outbox.items()):
            waiting.add_metric([kind], count)
            oldest.add_metric([kind], age or 0)
            failed.add_metric([kind], gave_up)
        extra = CollectorRegistry()
        extra.register(_Figures([waiting, oldest, failed]))
        body += generate_latest(extra)
    return body, CONTENT_TYPE_LATEST


class _Figures:
    def __init__(self, families) -> None:
        self.families = families

    def collect(self):
        return self.families
