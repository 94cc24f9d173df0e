"""The reference ceiling: ../shared/bench's "create invitation" transaction run by pgbench, with no
HTTP and no application, on the same PostgreSQL. No service on this machine can beat it."""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
from pathlib import Path

from benchmarks.database import ADMIN, recreate

DATABASE = "teamgate_bench_ceiling"


def bench_dir() -> Path:
    """The shared reference scripts (kept beside the project, not in it)."""
    for candidate in (Path(__file__).resolve().parents[2] / "shared" / "bench",
                      Path(__file__).resolve().parents[1] / "shared" / "bench"):
        if (candidate / "invite.sql").exists():
            return candidate
    raise SystemExit("cannot find shared/bench/invite.sql next to the project")


def prepare() -> None:
    recreate(DATABASE)
    for script in ("schema.sql", "seed.sql"):
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{ADMIN}/{DATABASE}", "-f",
                        str(bench_dir() / script)], check=True, capture_output=True)


def run(clients: int, seconds: float, tag: str) -> dict:
    """Transactions per second (pgbench, prepared statements), and the p50 and p99 latency from
    pgbench's log of every transaction (its third field: the latency in microseconds)."""
    with tempfile.TemporaryDirectory(prefix="teamgate-pgbench-") as logs:
        done = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(max(1, round(seconds))),
             "-l", "--log-prefix", f"{logs}/tx", "-D", f"tag={tag}", "-f", str(bench_dir() / "invite.sql"),
             f"{ADMIN}/{DATABASE}"], check=True, capture_output=True, text=True)
        latencies = sorted(int(line.split()[2]) for log in Path(logs).iterdir() for line in log.open())
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    if found is None or not latencies:
        raise RuntimeError(f"pgbench printed no tps or logged nothing:\n{done.stdout}\n{done.stderr}")
    percentiles = statistics.quantiles(latencies, n=100)
    return {"tps": float(found.group(1)), "p50_ms": round(percentiles[49] / 1000, 2),
            "p99_ms": round(percentiles[98] / 1000, 2)}
