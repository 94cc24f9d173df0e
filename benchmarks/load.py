"""Load from wrk (Debian's package), with a Lua script per scenario; the service's and
PostgreSQL's CPU time is read around each run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks import system

LUA = Path(__file__).parent / "lua"
SCENARIOS = ("create", "create+webhook", "validate", "list", "accept")  # run in this order
# each scenario's script in lua/: its own, except create with a webhook endpoint in every team (other teams)
SCRIPTS = {"create+webhook": "create"}
ALL = (*SCENARIOS, "bulk")  # and the bulk create against single creates (benchmarks/bulk.py), by httpx


@dataclass
class Result:
    scenario: str
    clients: int
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    service_cpu_ms: float  # per request
    postgres_cpu_ms: float  # per request
    outbox: dict | None = None  # the create scenarios: what went out during and after the run (outbox.py)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    return found


def run(scenario: str, url: str, clients: int, seconds: float, service_pid: int, **env: str) -> Result:
    threads = min(2, clients)
    service_pids = system.descendants(service_pid)
    before = system.cpu_seconds(service_pids), system.cpu_seconds(system.postgres_pids())
    done = subprocess.run(
        [wrk_path(), "-t", str(threads), "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s",
         "-s", str(LUA / f"{SCRIPTS.get(scenario, scenario)}.lua"), url],
        capture_output=True, text=True, check=True,
        env={**os.environ, "BENCH_LUA_DIR": str(LUA), "BENCH_THREADS": str(threads), **env})
    after = system.cpu_seconds(service_pids), system.cpu_seconds(system.postgres_pids())
    figures = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if not figures:
        raise RuntimeError(f"wrk printed no figures:\n{done.stdout}\n{done.stderr}")
    summary = figures[-1]
    requests = max(1, summary["requests"])
    return Result(scenario=scenario, clients=clients, requests=summary["requests"],
                  seconds=summary["duration_us"] / 1e6, non_2xx=summary["non_2xx"],
                  socket_errors=summary["socket_errors"], p50_ms=summary["p50_us"] / 1000,
                  p99_ms=summary["p99_us"] / 1000, service_cpu_ms=(after[0] - before[0]) * 1000 / requests,
                  postgres_cpu_ms=(after[1] - before[1]) * 1000 / requests)
