"""`python -m benchmarks.instructions`: the instructions one request costs the service, counted by
valgrind (callgrind), which a loaded machine does not disturb the way it disturbs timings.

The app runs in this process behind httpx's ASGI transport (no uvicorn, no sockets), on
PostgreSQL as the service role with every check on, rate limits in Redis. After a warm-up of
each scenario, instrumentation is switched on for `--requests` requests in a row and off again;
callgrind's total over that stretch, divided by the requests, is the figure. The driver's own
work (httpx building requests) is in it, the same before and after a change.

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python -m benchmarks.instructions --only create
    python -m benchmarks.instructions --report /tmp/cg.<pid>.*   # instructions per request
    callgrind_annotate /tmp/cg.<pid>.1   # the C functions; the Python ones are in py-spy's profile

Run under valgrind, it measures; run without it, it only checks that the requests succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import subprocess
from pathlib import Path

import httpx

from benchmarks.database import DATABASE, drop, seed_invitations, seed_teams, tokens
from benchmarks.service import Service


def _callgrind(command: str) -> None:
    """Instrumentation on or off, and a dump, through callgrind_control (a no-op without valgrind)."""
    subprocess.run(["callgrind_control", command, str(os.getpid())], capture_output=True, check=False)


async def _drive(service: Service, made: dict, keys: list[str], only: list[str], requests: int) -> None:
    os.environ.update(service.env)
    from teamgate.app import create_app  # reads the settings from the environment just set

    app = create_app(run_dispatcher=False)
    gc.collect()  # as `serve` does (app.app_from_environment)
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
    validate = tokens("A", range(1, 10_001))
    made_requests = {
        "create": lambda n: ("POST", "/api/v1/team-invitations",
                             {"json": {"email": f"instr-{n}@bench.example", "role": "member"},
                              "headers": {"X-API-Key": keys[n % len(keys)]}}),
        "validate": lambda n: ("GET", f"/api/v1/team-invitations/validate/{validate[n % len(validate)]}", {}),
        "list": lambda n: ("GET", "/api/v1/team-invitations?limit=50", {"headers": {"X-API-Key": made["load_key"]}}),
    }
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=service.url) as client:
        serial = 0
        for name in only:
            make = made_requests[name]
            for measuring in (False, True):
                if measuring:
                    gc.collect()  # every stretch starts from the same heap: no full collection left over
                    _callgrind("-z")  # zero the counters, then count this stretch only
                    _callgrind("--instr=on")
                for _ in range(requests if measuring else 100):
                    serial += 1
                    method, path, options = make(serial)
                    response = await client.request(method, path, **options)
                    if response.status_code >= 300:
                        raise RuntimeError(f"{name}: {response.status_code} {response.text}")
                if measuring:
                    _callgrind("--instr=off")
                    _callgrind(f"--dump={name}")
            print(f"{name}: {requests} requests measured", flush=True)


def report(dumps: list[str], requests: int) -> None:
    """Each dump's scenario (its trigger) and its instructions per request."""
    for path in sorted(dumps):
        text = Path(path).read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: dump (\w+)$", text, re.M)
        totals = re.search(r"^totals: (\d+)$", text, re.M)
        if trigger and totals:
            print(f"{trigger.group(1):<10} {int(totals.group(1)) / requests / 1e6:7.2f} M instructions per request")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=lambda names: names.split(","), default=["create", "validate", "list"])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--report", nargs="+", metavar="DUMP", help="print the figures of callgrind's dumps")
    args = parser.parse_args()
    if args.report:
        report(args.report, args.requests)
        return
    service = Service(workers=1)
    try:
        made = service.prepare()
        seed_invitations(made["load_team"], made["load_key_id"], "A", 1, 10_000)
        keys = seed_teams(1_000)
        asyncio.run(_drive(service, made, keys, args.only, args.requests))
    finally:
        service.stop()
        drop(DATABASE)


if __name__ == "__main__":
    main()
