"""`python -m benchmarks.worker`: what a `teamgate worker` spends per email and per webhook event.

A real worker process (file email backend, on PostgreSQL as the service role, rate limits in
Redis) is started on an empty outbox and left to settle; then invitations are created through
the app in this process, `--count` per scenario, each queuing one email (`emails`) or, with
`sendEmail: false` and a webhook endpoint on a local receiver, one `invitation.created` delivery
(`webhooks`). With `--teams N` the invitations are spread round-robin over N teams (each with its
own endpoint), as the full benchmark's creates are over its 1,000: a batch then holds many
teams' messages. The worker finds them at its next poll and sends them; its CPU time (from /proc)
from before the first is queued to when the outbox is empty, over the count, is the figure.
The receiver runs in a process of its own, so its CPU is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from benchmarks import system
from benchmarks.database import ADMIN, DATABASE, drop, seed_teams
from benchmarks.profile import summarise
from benchmarks.service import TEAMGATE, Service

RECEIVER = """
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 512  # a batch arrives at once: none refused at connect (a refusal is retried in 5 min)
Server(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
"""

async def _waiting() -> int:
    conn = await asyncpg.connect(f"{ADMIN}/{DATABASE}")
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox_messages WHERE status IN ('queued', 'sending')")
    finally:
        await conn.close()


async def _outcomes() -> str:
    conn = await asyncpg.connect(f"{ADMIN}/{DATABASE}")
    try:
        rows = await conn.fetch("SELECT kind, status, sum(attempts) AS attempts, count(*) FROM outbox_messages "
                                "GROUP BY kind, status ORDER BY kind, status")
        return ", ".join(f"{r['kind']} {r['status']} {r['count']} ({r['attempts']} attempts)" for r in rows)
    finally:
        await conn.close()


def _settle(pid: int, quiet: float = 1.5) -> float:
    """Wait until the worker is idle (under 5% of a core: its polls); returns its CPU seconds then."""
    last = system.cpu_seconds([pid])
    while True:
        time.sleep(quiet)
        now = system.cpu_seconds([pid])
        if now - last < 0.05 * quiet:
            return now
        last = now


async def _enqueue(service: Service, keys: list[str], scenario: str, count: int, hook_url: str) -> None:
    os.environ.update(service.env)
    from teamgate.app import create_app  # the settings come from the environment just set

    app = create_app(run_dispatcher=False)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=service.url) as client:
        if scenario == "webhooks":
            for key in keys:
                made = await client.post("/api/v1/webhooks", headers={"X-API-Key": key},
                                         json={"url": hook_url, "events": ["invitation.created"]})
                made.raise_for_status()
        for n in range(count):
            headers = {"X-API-Key": keys[n % len(keys)]}
            response = await client.post("/api/v1/team-invitations", headers=headers, json={
                "email": f"{scenario}-{n}-{time.time_ns()}@bench.example", "role": "member",
                "sendEmail": scenario == "emails"})
            response.raise_for_status()


def _instructions(folder: Path, scenario: str) -> int:
    """The total of callgrind's dump for `scenario` (its trigger names it)."""
    for dump in folder.glob("worker.*.*"):
        text = dump.read_text(errors="replace")
        if f"desc: Trigger: dump {scenario}\n" in text:
            return int(text.split("\ntotals: ", 1)[1].split()[0])
    raise RuntimeError(f"no callgrind dump for {scenario} in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--only", type=lambda names: names.split(","), default=["emails", "webhooks"])
    parser.add_argument("--teams", type=int, default=1, help="spread the invitations over this many teams")
    parser.add_argument("--port", type=int, default=8765, help="the receiver listens on the next one")
    parser.add_argument("--callgrind", type=Path, default=None,
                        help="run the worker under valgrind's callgrind and print its instructions per message "
                             "(a loaded machine moves CPU times, not instruction counts); dumps go to this folder")
    parser.add_argument("--py-spy", dest="py_spy", type=Path, default=None,
                        help="folder for py-spy's raw samples of the worker, one file per scenario")
    args = parser.parse_args()
    service = Service(workers=1, port=args.port)
    service.env.update({"TEAMGATE_WEBHOOK_ALLOW_HTTP": "true", "TEAMGATE_WEBHOOK_ALLOW_PRIVATE": "true",
                        "TEAMGATE_RATE_LIMIT_INVITATIONS_PER_TEAM": "1000000/hour",
                        "TEAMGATE_RATE_LIMIT_INVITATIONS_PER_INVITER": "1000000/hour"})
    port = service.port + 1
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    worker = None
    try:
        made = service.prepare()
        keys = [made["load_key"]] if args.teams <= 1 else seed_teams(args.teams, "Q")
        under = []
        if args.callgrind:
            args.callgrind.mkdir(parents=True, exist_ok=True)
            under = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={args.callgrind}/worker.%p"]
        poll = "5" if args.callgrind else "0.5"  # under valgrind an idle poll costs as much as a few sends
        worker = subprocess.Popen([*under, TEAMGATE, "worker", "--batch-size", str(args.batch_size), "--poll-seconds",
                                   poll], env=service.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for scenario in args.only:
            before = _settle(worker.pid, quiet=5 if args.callgrind else 1.5)
            if args.callgrind:
                subprocess.run(["callgrind_control", "-z", str(worker.pid)], capture_output=True, check=True)
            started = time.monotonic()
            spy = None
            if args.py_spy:
                args.py_spy.mkdir(parents=True, exist_ok=True)
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                spy = subprocess.Popen([py_spy, "record", "--pid", str(worker.pid), "--rate", "200", "--format", "raw",
                                        "--output", str(args.py_spy / f"{scenario}.txt")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            asyncio.run(_enqueue(service, keys, scenario, args.count, f"http://127.0.0.1:{port}/hook"))
            while asyncio.run(_waiting()):
                time.sleep(0.2)
            spent = _settle(worker.pid, quiet=5 if args.callgrind else 1.5) - before
            if args.callgrind:
                subprocess.run(["callgrind_control", f"--dump={scenario}", str(worker.pid)], capture_output=True,
                               check=True)
                print(f"{scenario:<9} {_instructions(args.callgrind, scenario) / args.count / 1e6:6.2f} M instructions "
                      "each", flush=True)
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
                spy.wait(timeout=60)
                print(summarise(args.py_spy / f"{scenario}.txt", top=15), flush=True)
            print(f"{scenario:<9} {args.count} sent in {time.monotonic() - started:5.1f} s (enqueueing included); "
                  f"worker CPU {spent * 1000 / args.count:6.3f} ms each; {asyncio.run(_outcomes())}", flush=True)
    finally:
        for process in (worker, receiver):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        service.stop()
        drop(DATABASE)


if __name__ == "__main__":
    main()
