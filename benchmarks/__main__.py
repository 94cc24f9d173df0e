"""`python -m benchmarks [--quick]`: teamgate beside the PostgreSQL ceiling, in one run.

1. the ceiling: ../shared/bench's transaction under pgbench at 16 and 64 clients;
2. `teamgate serve` as in production, loaded by wrk at the same concurrencies: create
   invitation (API key), the same with one webhook endpoint in every team (sent to a receiver
   in this process), validate token, list invitations (page of 50), accept as a new person;
3. per scenario: requests/s, p50/p99, the ratio to the ceiling, CPU ms per request in the
   service and in PostgreSQL; argon2 alone with as many processes, beside accept;
4. the scale pass: validate and list with 1k, 100k and 1M invitations in the team;
5. the results as JSON and Markdown in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import bulk, ceiling, load, outbox, report, system
from benchmarks.database import DATABASE, drop, seed_invitations, seed_teams, tokens
from benchmarks.hashing import argon2_alone
from benchmarks.load import ALL, SCENARIOS
from benchmarks.receiver import Receiver
from benchmarks.service import Service

CLIENTS = (16, 64)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per scenario, smaller scale pass")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="teamgate serve processes")
    parser.add_argument("--no-scale", action="store_true", help="skip the scale pass")
    parser.add_argument("--only", type=lambda names: names.split(","), default=list(ALL),
                        help="comma-separated scenarios to run (default: all)")
    args = parser.parse_args()
    if unknown := set(args.only) - set(ALL):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}; choose from {', '.join(ALL)}")
    seconds, warmup = (4, 2) if args.quick else (20, 5)
    scales = (1_000, 10_000, 100_000) if args.quick else (1_000, 100_000, 1_000_000)
    started = datetime.now(UTC)
    results: dict = {"started": started.isoformat(timespec="seconds"), "quick": args.quick, "workers": args.workers,
                     "seconds": seconds, "only": args.only, "machine": {"cpus": os.cpu_count()}}

    print("ceiling: pgbench on ../shared/bench ...", flush=True)
    ceiling.prepare()
    results["ceiling"] = {}
    for clients in CLIENTS:
        ceiling.run(clients, warmup, "warmup")
        results["ceiling"][clients] = ceiling.run(clients, seconds, f"c{clients}")
        c = results["ceiling"][clients]
        print(f"  c={clients}: {c['tps']:.0f} tps  p50 {c['p50_ms']:.2f} ms  p99 {c['p99_ms']:.2f} ms", flush=True)
    drop(ceiling.DATABASE)

    service = Service(args.workers)
    scratch = Path(tempfile.mkdtemp(prefix="teamgate-bench-tokens-"))
    receiver = Receiver().start() if "create+webhook" in args.only else None
    try:
        made = service.prepare()
        accept_pool = 400 * seconds  # more than accept can use in a run, per concurrency
        seed_invitations(made["load_team"], made["load_key_id"], "A", 1, 20_000)
        seed_invitations(made["load_team"], made["load_key_id"], "B", 1, accept_pool * len(CLIENTS))
        team_keys = scratch / "keys.txt"
        team_keys.write_text("\n".join(seed_teams(1_000)))
        hooked_keys = scratch / "hooked-keys.txt"  # other teams, each with one webhook endpoint
        hooked = seed_teams(1_000, "W") if receiver else []
        hooked_keys.write_text("\n".join(hooked))
        validate_tokens = scratch / "validate.txt"
        validate_tokens.write_text("\n".join(tokens("A", random.sample(range(1, 20_001), 10_000))))
        service.start()
        pid = service.process.pid
        url = service.url
        key_env = {"BENCH_API_KEY": made["load_key"], "BENCH_KEYS": str(team_keys)}

        if receiver:
            service.add_webhooks(hooked, receiver.url)
        print(f"teamgate serve: {args.workers} processes; warming up ...", flush=True)
        load.run("create", url, 16, warmup, pid, BENCH_TAG="warmup", **key_env)
        load.run("validate", url, 16, warmup, pid, BENCH_TOKENS=str(validate_tokens))
        outbox.drained(service, receiver, outbox.counts(service, receiver))  # the warm-up's emails, before any create
        scenarios = []
        for n, clients in enumerate(CLIENTS):
            accept_tokens = scratch / f"accept{clients}.txt"
            accept_tokens.write_text("\n".join(tokens("B", range(1 + n * accept_pool, 1 + (n + 1) * accept_pool))))
            scenario_env = {"create": dict(BENCH_TAG=f"c{clients}-{time.time_ns()}", **key_env),
                            "create+webhook": {"BENCH_TAG": f"w{clients}-{time.time_ns()}",
                                               "BENCH_KEYS": str(hooked_keys), "BENCH_API_KEY": made["load_key"]},
                            "validate": {"BENCH_TOKENS": str(validate_tokens)}, "list": key_env,
                            "accept": {"BENCH_TOKENS": str(accept_tokens)}}
            for name in [chosen for chosen in SCENARIOS if chosen in args.only]:
                before = outbox.counts(service, receiver) if name.startswith("create") else None
                run = load.run(name, url, clients, seconds, pid, **scenario_env[name])
                print(f"  {run.scenario:<14} c={clients:<3} {run.rps:8.0f} req/s  p50 {run.p50_ms:7.2f} ms  "
                      f"p99 {run.p99_ms:7.2f} ms  errors {run.non_2xx + run.socket_errors}", flush=True)
                if before is not None:
                    run.outbox = outbox.drained(service, receiver, before)
                    print(f"  {'':<14} {report.drained(run.outbox)}", flush=True)
                scenarios.append(run)
        results["scenarios"] = [report.scenario_row(r, results["ceiling"][r.clients]) for r in scenarios]
        if "bulk" in args.only:
            print(f"bulk: {bulk.ROWS} invitations in one request against {bulk.ROWS} single creates ...", flush=True)
            results["bulk"] = bulk.run(service, rounds=1 if args.quick else 3)
            b = results["bulk"]
            print(f"  bulk {b['bulk_s']:.2f} s; singles one after another {b['singles_sequential_s']:.2f} s "
                  f"({b['ratio_to_sequential']:.0%}), {b['concurrency']} at a time {b['singles_concurrent_s']:.2f} s "
                  f"({b['ratio_to_concurrent']:.0%})", flush=True)
        results["rss_mb"] = max(system.rss_mb(p) for p in system.descendants(pid))
        results["argon2_alone_per_s"] = argon2_alone(args.workers, seconds)
        print(f"  argon2 alone, {args.workers} processes: {results['argon2_alone_per_s']:.1f} hashes/s; "
              f"largest process {results['rss_mb']:.0f} MB", flush=True)

        if not args.no_scale:
            results["scale"] = scale_pass(made, scales, seconds, url, pid, scratch)
    finally:
        service.stop()
        if receiver:
            receiver.stop()
        drop(DATABASE)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    json_path, md_path = report.write(results)
    print(f"\nwrote {json_path} and {md_path}\n")
    print(md_path.read_text())


def scale_pass(made: dict, scales: tuple[int, ...], seconds: float, url: str, pid: int, scratch: Path) -> list:
    """Validate and list in a team holding ever more invitations (seeded in bulk, not by the API)."""
    rows, seeded = [], 0
    for size in scales:
        print(f"scale: {size:,} invitations in the team ...", flush=True)
        seed_invitations(made["scale_team"], made["scale_key_id"], "C", seeded + 1, size)
        seeded = size
        sample = scratch / f"scale{size}.txt"
        sample.write_text("\n".join(tokens("C", random.sample(range(1, size + 1), min(size, 10_000)))))
        validate = load.run("validate", url, 16, seconds, pid, BENCH_TOKENS=str(sample))
        listed = load.run("list", url, 16, seconds, pid, BENCH_API_KEY=made["scale_key"])
        rows.append({"invitations": size, "validate": report.brief(validate), "list": report.brief(listed)})
        print(f"  validate p50 {validate.p50_ms:.2f} p99 {validate.p99_ms:.2f} ms; "
              f"list p50 {listed.p50_ms:.2f} p99 {listed.p99_ms:.2f} ms", flush=True)
    return rows


if __name__ == "__main__":
    main()
