"""The bulk create (DESIGN 14) beside single creates: one POST /team-invitations/bulk of 500 rows
against the same 500 invitations made by 500 POST /team-invitations, one after another on one
keep-alive connection (what a script does) and 16 at a time. Each measurement gets a team of its
own and unique addresses, so no row is refused; every invitation's email is sent, and each
measurement starts once the outbox is empty (the earlier ones' emails sent), so they do not overlap."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from benchmarks.database import DATABASE, psql
from benchmarks.service import Service

ROWS = 500
CONCURRENCY = 16


def run(service: Service, rounds: int) -> dict:
    """Median seconds of each way over `rounds`, and the bulk's ratio to each."""
    timings: dict[str, list[float]] = {"bulk": [], "singles_sequential": [], "singles_concurrent": []}
    for n in range(rounds):
        for way, measure in (("bulk", _bulk), ("singles_sequential", _sequential),
                             ("singles_concurrent", _concurrent)):
            key = _team_key(service, f"Bulk {way} {n}")
            bodies = [{"email": f"{way}-{n}-{i}@bulk.example", "role": "member"} for i in range(ROWS)]
            _wait_for_empty_outbox()
            timings[way].append(measure(service.url, key, bodies))
    medians = {way: statistics.median(seconds) for way, seconds in timings.items()}
    return {"rows": ROWS, "rounds": rounds, "concurrency": CONCURRENCY,
            **{f"{way}_s": round(seconds, 3) for way, seconds in medians.items()},
            "ratio_to_sequential": round(medians["bulk"] / medians["singles_sequential"], 3),
            "ratio_to_concurrent": round(medians["bulk"] / medians["singles_concurrent"], 3)}


def _team_key(service: Service, name: str) -> str:
    team = service.cli("teams", "create", "--name", name, "--owner", "owner@bench.example")["id"]
    return service.cli("api-keys", "create", "--team", team, "--role", "admin", "--name", "bulk")["key"]


def _bulk(url: str, key: str, bodies: list[dict]) -> float:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120) as client:
        started = time.perf_counter()
        response = client.post("/api/v1/team-invitations/bulk", json={"invitations": bodies})
        elapsed = time.perf_counter() - started
    summary = response.json()["summary"]
    if response.status_code != 200 or summary["created"] != ROWS:
        raise RuntimeError(f"the bulk create did not create every row: {response.status_code} {summary}")
    return elapsed


def _sequential(url: str, key: str, bodies: list[dict]) -> float:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        started = time.perf_counter()
        statuses = [client.post("/api/v1/team-invitations", json=body).status_code for body in bodies]
        elapsed = time.perf_counter() - started
    _all_created(statuses)
    return elapsed


def _concurrent(url: str, key: str, bodies: list[dict]) -> float:
    async def main() -> tuple[float, list[int]]:
        slots = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=30, limits=limits) as client:

            async def one(body: dict) -> int:
                async with slots:
                    return (await client.post("/api/v1/team-invitations", json=body)).status_code

            started = time.perf_counter()
            statuses = await asyncio.gather(*(one(body) for body in bodies))
            return time.perf_counter() - started, list(statuses)

    elapsed, statuses = asyncio.run(main())
    _all_created(statuses)
    return elapsed


def _all_created(statuses: list[int]) -> None:
    if refused := [s for s in statuses if s != 201]:
        raise RuntimeError(f"{len(refused)} single creates were refused: {sorted(set(refused))}")


def _wait_for_empty_outbox() -> None:
    """Until the dispatchers have sent everything queued (read as the owner), 10 minutes at most."""
    for _ in range(1200):
        if psql(DATABASE, "SELECT count(*) FROM outbox_messages WHERE status IN ('queued', 'sending')") == "0":
            return
        time.sleep(0.5)
    raise RuntimeError("the outbox did not empty in 10 minutes")
