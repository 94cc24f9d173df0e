"""GET /metrics: Prometheus' text format. It holds counts and timings, never a secret or a
person's data; still, expose it only to your monitoring (see docs/deploy.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from teamgate import metrics
from teamgate.storage.db import unit_of_work
from teamgate.storage.repositories import upkeep as upkeep_repo

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    rt = request.app.state.rt
    try:  # its own transaction, not the request's: a database that is down must not fail the answer
        async with unit_of_work(rt.sessions) as db:
            figures = await upkeep_repo.outbox_figures(db)
        now = rt.clock.now()
        outbox = {kind.value: (f.waiting, (now - f.oldest).total_seconds() if f.oldest else None, f.failed)
                  for kind, f in figures.items()}
    except Exception:  # noqa: BLE001 - the database is down: still report what this process knows
        outbox = None
    body, content_type = metrics.exposition(outbox)
    return Response(body, media_type=content_type)
