"""`python -m benchmarks.statements`: the SQL each benchmarked request runs, one request of each
scenario, in the service's own process set-up (PostgreSQL as the service role, every check on).

Round trips are what the hot paths are made of; this is how to count them after a change.
"""

from __future__ import annotations

import asyncio
import os
import re

import httpx
from sqlalchemy import event

from benchmarks.database import DATABASE, drop, seed_invitations, tokens
from benchmarks.service import Service


def _one_line(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()[:160]


async def _trace(service: Service, made: dict) -> None:
    os.environ.update(service.env)
    from teamgate.app import create_app  # reads the settings from the environment just set

    app = create_app(run_dispatcher=False)
    seen: list[str] = []
    event.listen(app.state.rt.engine.sync_engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_: seen.append(_one_line(statement)))
    transport = httpx.ASGITransport(app=app)
    key = {"X-API-Key": made["load_key"]}
    requests = {
        "create": ("POST", "/api/v1/team-invitations", {"json": {"email": "traced@bench.example", "role": "member"},
                                                        "headers": key}),
        "validate": ("GET", f"/api/v1/team-invitations/validate/{tokens('A', [1])[0]}", {}),
        "list": ("GET", "/api/v1/team-invitations?limit=50", {"headers": key}),
        "accept": ("POST", "/api/v1/team-invitations/accept",
                   {"json": {"token": tokens("A", [2])[0], "password": "a long new password", "firstName": "T",
                             "lastName": "Raced"}}),
    }
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=service.url) as client:
        for name, (method, path, options) in requests.items():
            seen.clear()
            response = await client.request(method, path, **options)
            print(f"\n{name}: {response.status_code}, {len(seen)} statements")
            for statement in seen:
                print(f"  {statement}")


def main() -> None:
    service = Service(workers=1)
    try:
        made = service.prepare()
        seed_invitations(made["load_team"], made["load_key_id"], "A", 1, 10)
        asyncio.run(_trace(service, made))
    finally:
        service.stop()
        drop(DATABASE)


if __name__ == "__main__":
    main()
