"""teamgate as it runs in production, for the benchmark: `teamgate serve` with several processes
on PostgreSQL (as the unprivileged service role), rate limits in Redis, metrics, JSON logs and
every check on, at their production settings, with the outbox (email and webhooks) sent by one
separate `teamgate worker` (issue 17: its CPU is counted apart from the service's). One limit is
raised: every request here comes from one address, so the per-address token limit would refuse
the benchmark itself; it still counts every request. Webhooks may go to plain http on loopback,
where the benchmark's receiver listens. And the per-inviter invitation limit, which a 500-row
bulk create would exceed by itself; it too still counts every row."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

from benchmarks.database import ADMIN, DATABASE, SERVICE_ROLE, recreate

TEAMGATE = str(Path(sys.executable).parent / "teamgate")
REDIS_DB = 1  # the benchmark's own, emptied at the start of every run


def environment(port: int, workers: int, scratch: Path) -> dict[str, str]:
    host = ADMIN.split("@", 1)[1]
    return {**os.environ,
            "TEAMGATE_DATABASE_URL": f"postgresql://{SERVICE_ROLE}@{host}/{DATABASE}",
            "TEAMGATE_MIGRATION_DATABASE_URL": f"{ADMIN}/{DATABASE}",
            "TEAMGATE_SECRET_KEY": "benchmark-secret-key-not-for-production-0123456789",
            "TEAMGATE_DATA_DIR": str(scratch), "TEAMGATE_PORT": str(port), "TEAMGATE_WORKERS": str(workers),
            "TEAMGATE_BASE_URL": f"http://127.0.0.1:{port}",
            "TEAMGATE_EMAIL_BACKEND": "file", "TEAMGATE_EMAIL_DIR": str(scratch / "mail"),
            "TEAMGATE_RATE_LIMIT_STORAGE": f"redis://127.0.0.1:6379/{REDIS_DB}", "TEAMGATE_LOG_FORMAT": "json",
            # every load comes from one address here; in production it comes from many
            "TEAMGATE_RATE_LIMIT_TOKEN_USE_PER_IP": "1000000000/hour",
            # "create + webhook" sends to a receiver in the benchmark's own process, on loopback
            "TEAMGATE_WEBHOOK_ALLOW_HTTP": "true", "TEAMGATE_WEBHOOK_ALLOW_PRIVATE": "true",
            # the bulk scenario makes 500 invitations at once for one inviter (300 an hour by default);
            # it still counts every row
            "TEAMGATE_RATE_LIMIT_INVITATIONS_PER_INVITER": "1000000/hour"}


class Service:
    def __init__(self, workers: int, port: int = 8765) -> None:
        self.workers, self.port = workers, port
        self.url = f"http://127.0.0.1:{port}"
        self.scratch = Path(tempfile.mkdtemp(prefix="teamgate-bench-"))
        self.env = environment(port, workers, self.scratch)
        self.process: subprocess.Popen | None = None  # teamgate serve
        self.worker: subprocess.Popen | None = None  # teamgate worker, sending the outbox

    def cli(self, *args: str, stdin: str | None = None) -> dict:
        done = subprocess.run([TEAMGATE, *args, "--json"], env=self.env, input=stdin, capture_output=True, text=True,
                              check=True)
        return json.loads(done.stdout)

    def prepare(self) -> dict[str, str]:
        """A fresh database, migrated, with a team and an admin key for the load and one for the
        scale pass. Returns their ids and keys."""
        recreate(DATABASE)
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
        subprocess.run([TEAMGATE, "migrate"], env=self.env, check=True, capture_output=True)
        self.cli("users", "create", "--email", "owner@bench.example", "--first-name", "Bench", "--last-name", "Owner",
                 "--password-stdin", stdin="bench owner passphrase\n")
        made = {}
        for name in ("load", "scale"):
            made[f"{name}_team"] = self.cli("teams", "create", "--name", name.title(),
                                            "--owner", "owner@bench.example")["id"]
            key = self.cli("api-keys", "create", "--team", made[f"{name}_team"], "--role", "admin", "--name", "bench")
            made[f"{name}_key"], made[f"{name}_key_id"] = key["key"], key["id"]
        return made

    def add_webhooks(self, keys: list[str], url: str) -> None:
        """One webhook endpoint (every event) in each team of `keys`, through the API as a product
        would make it."""

        async def add_all() -> None:
            gate = asyncio.Semaphore(8)
            async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:

                async def add(key: str) -> None:
                    async with gate:
                        made = await client.post("/api/v1/webhooks", headers={"X-API-Key": key},
                                                 json={"url": url, "description": "bench"})
                        made.raise_for_status()

                await asyncio.gather(*(add(key) for key in keys))

        asyncio.run(add_all())

    def start(self) -> None:
        self.log = (self.scratch / "serve.log").open("wb")
        self.process = subprocess.Popen([TEAMGATE, "serve", "--no-dispatcher"], env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        # batches of 100; it drains without waiting between batches, and looks again every second
        # once the outbox is empty (a separate worker is not woken by the API's commits)
        self.worker = subprocess.Popen([TEAMGATE, "worker", "--batch-size", "100", "--poll-seconds", "1"],
                                       env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"teamgate serve did not become ready; see {self.scratch / 'serve.log'}")

    def stop(self) -> None:
        for process in (self.process, self.worker):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)
