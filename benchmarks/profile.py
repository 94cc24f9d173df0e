"""`python -m benchmarks.profile`: one `teamgate serve` process under wrk, for trying a change.

Throughput on a machine shared with other work moves from run to run; the CPU a request costs
moves much less. So this prints, per scenario, the CPU milliseconds per request of the one
service process and of PostgreSQL (read from /proc, as the full run does), and with `--py-spy`
samples the process in a second run of the same load and prints where its time goes: the share
of samples inside each library (inclusive) and the functions most often on top (exclusive).

The process runs as `serve` does in production except that email is left to a `teamgate worker`
(`--no-dispatcher`, the shape issue 17 asks for): the worker's own cost is `benchmarks.worker`.
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import load
from benchmarks.database import DATABASE, drop, seed_invitations, seed_teams, tokens
from benchmarks.service import Service

LIBRARIES = ("sqlalchemy", "asyncpg", "fastapi", "starlette", "pydantic", "pydantic_core", "uvicorn", "httptools",
             "redis", "limits", "jinja2", "cryptography", "argon2", "prometheus_client", "email_validator", "logging",
             "json", "asyncio", "teamgate")


def _library(frame: str) -> str | None:
    """py-spy's raw frames read `function (path/to/module.py:line)`."""
    path = "/" + frame.rsplit("(", 1)[-1]
    for name in LIBRARIES:
        if f"/{name}/" in path or f"/{name}.py" in path:
            return name
    return None


def summarise(raw: Path, top: int = 25) -> str:
    """Shares of samples: per library, with any of its frames on the stack (inclusive) and as the
    innermost library on it (exclusive); teamgate's own functions (inclusive); leaf functions."""
    inclusive: collections.Counter[str] = collections.Counter()
    exclusive: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")  # py-spy leaves out idle samples (the loop waiting in epoll) unless told
        total += n
        named = [lib for f in frames if (lib := _library(f))]
        for name in set(named):
            inclusive[name] += n
        exclusive[named[-1] if named else "other"] += n
        for frame in {f.split(" (")[0] + " (" + f.rsplit("/", 1)[-1].split(":")[0] + ")"
                      for f in frames if _library(f) == "teamgate"}:
            ours[frame] += n
        leaves[frames[-1]] += n
    if not total:
        return "no samples"
    lines = [f"{total} busy samples", "library: inclusive, exclusive (innermost)"]
    lines += [f"  {name:<18} {100 * n / total:5.1f}%  {100 * exclusive[name] / total:5.1f}%"
              for name, n in inclusive.most_common()]
    lines.append(f"  {'(none)':<18}        {100 * exclusive['other'] / total:5.1f}%")
    lines.append("teamgate functions (inclusive):")
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in ours.most_common(top)]
    lines.append("leaf functions (exclusive):")
    lines += [f"  {100 * n / total:5.1f}%  {frame[:150]}" for frame, n in leaves.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=lambda names: names.split(","), default=["create", "validate", "list"],
                        help="comma-separated scenarios (default: create,validate,list)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=2, help="measured runs per scenario")
    parser.add_argument("--py-spy", dest="py_spy", type=Path, default=None,
                        help="folder for py-spy's raw samples, one file per scenario (a run of its own)")
    args = parser.parse_args()
    service = Service(workers=1)
    service.env["TEAMGATE_DISPATCHER"] = "false"
    scratch = Path(tempfile.mkdtemp(prefix="teamgate-profile-"))
    try:
        made = service.prepare()
        seed_invitations(made["load_team"], made["load_key_id"], "A", 1, 20_000)
        seed_invitations(made["load_team"], made["load_key_id"], "B", 1, 4_000)
        (scratch / "keys.txt").write_text("\n".join(seed_teams(1_000)))
        (scratch / "validate.txt").write_text("\n".join(tokens("A", random.sample(range(1, 20_001), 10_000))))
        (scratch / "accept.txt").write_text("\n".join(tokens("B", range(1, 4_001))))
        service.start()
        pid = service.process.pid
        env = {"create": {"BENCH_API_KEY": made["load_key"], "BENCH_KEYS": str(scratch / "keys.txt")},
               "validate": {"BENCH_TOKENS": str(scratch / "validate.txt")},
               "list": {"BENCH_API_KEY": made["load_key"]}, "accept": {"BENCH_TOKENS": str(scratch / "accept.txt")}}
        for name in ("create", "validate"):  # warm-up: imports, caches, the pool's connections
            load.run(name, service.url, args.clients, 3, pid, BENCH_TAG=f"warm{name}", **env[name])
        for name in args.only:
            for n in range(args.repeat):
                run = load.run(name, service.url, args.clients, args.seconds, pid,
                               BENCH_TAG=f"{name}{n}-{time.time_ns()}", **env[name])
                print(f"{name:<8} c={args.clients} {run.rps:7.0f} req/s  p50 {run.p50_ms:6.2f} ms  "
                      f"p99 {run.p99_ms:6.2f} ms  service {run.service_cpu_ms:5.2f} ms/req  "
                      f"PostgreSQL {run.postgres_cpu_ms:5.2f} ms/req  errors {run.non_2xx + run.socket_errors}",
                      flush=True)
            if args.py_spy:
                args.py_spy.mkdir(parents=True, exist_ok=True)
                raw = args.py_spy / f"{name}.txt"
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                spy = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--rate",
                                        "500", "--duration", str(round(args.seconds)), "--format", "raw",
                                        "--nonblocking", "--output", str(raw)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                load.run(name, service.url, args.clients, args.seconds, pid, BENCH_TAG=f"spy-{time.time_ns()}",
                         **env[name])
                spy.wait(timeout=60)
                print(f"\n{name}: py-spy\n{summarise(raw)}\n", flush=True)
    finally:
        service.stop()
        drop(DATABASE)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
