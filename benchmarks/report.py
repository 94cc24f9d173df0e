"""The run's figures as JSON (everything) and Markdown (the tables), one pair of files per run."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.load import ALL, Result

RESULTS = Path(__file__).parent / "results"


def brief(r: Result) -> dict:
    return {"rps": round(r.rps, 1), "p50_ms": round(r.p50_ms, 2), "p99_ms": round(r.p99_ms, 2),
            "errors": r.non_2xx + r.socket_errors}


def scenario_row(r: Result, ceiling: dict) -> dict:
    return {"scenario": r.scenario, "clients": r.clients, "requests": r.requests, **brief(r),
            "ratio_to_ceiling": round(r.rps / ceiling["tps"], 3),
            "p99_to_ceiling_p99": round(r.p99_ms / ceiling["p99_ms"], 2),
            "service_cpu_ms": round(r.service_cpu_ms, 2), "postgres_cpu_ms": round(r.postgres_cpu_ms, 2),
            **({"outbox": r.outbox} if r.outbox else {})}


def drained(o: dict) -> str:
    """A create scenario's outbox (benchmarks/outbox.py) in a sentence."""
    hooks = (f" and {o['webhooks_in_run']:,} of {o['webhooks']:,} webhooks" if o["webhooks"] else "")
    return (f"{o['emails_in_run']:,} of {o['emails']:,} emails{hooks} went out during the run, the outbox was "
            f"empty {o['drained_after_s']} s after it; counting that, {o['service_cpu_ms']:.2f} ms of service, "
            f"{o['worker_cpu_ms']:.2f} ms of worker ({o['worker_cpu_ms_per_message']:.2f} ms per message sent) and "
            f"{o['postgres_cpu_ms']:.2f} ms of PostgreSQL CPU per create")


def worker_per_message(scenarios: list[dict]) -> str | None:
    """The worker's CPU per email (the create scenarios) and per webhook delivery (what a create
    with an endpoint costs it beyond its email, over its deliveries), at c=16."""
    drained = {s["scenario"]: s["outbox"] for s in scenarios if s.get("outbox") and s["clients"] == 16}
    if "create" not in drained:
        return None
    per_email = drained["create"]["worker_cpu_ms_per_message"]
    line = f"The worker's CPU: {per_email:.2f} ms per email"
    if (hooked := drained.get("create+webhook")) and hooked["webhooks"]:
        per_webhook = (hooked["worker_cpu_ms"] * hooked["emails"] - per_email * hooked["emails"]) / hooked["webhooks"]
        line += f", {per_webhook:.2f} ms per webhook delivery"
    return line + " (c=16, counted until the outbox was empty)."


def markdown(results: dict) -> str:
    lines = [f"# teamgate benchmark, {results['started']}" + (" (quick)" if results["quick"] else ""), "",
             f"{results['machine']['cpus']} CPUs shared by PostgreSQL, teamgate ({results['workers']} processes) "
             f"and wrk; {results['seconds']} s per scenario after a warm-up.", "",
             "| ceiling (pgbench, ../shared/bench) | transactions/s | p50 ms | p99 ms |",
             "| --- | ---: | ---: | ---: |"]
    lines += [f"| c={c} | {run['tps']:,.0f} | {run['p50_ms']:.2f} | {run['p99_ms']:.2f} |"
              for c, run in results["ceiling"].items()]
    lines += ["", "| scenario | clients | requests/s | p50 ms | p99 ms | ratio to ceiling | p99 to ceiling's "
              "| service CPU ms/req | PostgreSQL CPU ms/req | errors |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {s['scenario']} | {s['clients']} | {s['rps']:,.0f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
              f"{s['ratio_to_ceiling']:.0%} | {s['p99_to_ceiling_p99']:.1f}x | {s['service_cpu_ms']:.2f} | "
              f"{s['postgres_cpu_ms']:.2f} | {s['errors']} |" for s in results["scenarios"]]
    lines += [""] + [f"- {s['scenario']} at c={s['clients']}: {drained(s['outbox'])}"
                     for s in results["scenarios"] if s.get("outbox")]
    if worker := worker_per_message(results["scenarios"]):
        lines += ["", worker]
    if bulk := results.get("bulk"):
        lines += ["", f"| {bulk['rows']} invitations | seconds (median of {bulk['rounds']}) | bulk's time as a share |",
                  "| --- | ---: | ---: |",
                  f"| one bulk create | {bulk['bulk_s']:.2f} | |",
                  f"| single creates, one after another | {bulk['singles_sequential_s']:.2f} | "
                  f"{bulk['ratio_to_sequential']:.0%} |",
                  f"| single creates, {bulk['concurrency']} at a time | {bulk['singles_concurrent_s']:.2f} | "
                  f"{bulk['ratio_to_concurrent']:.0%} |"]
    accepts = [s for s in results["scenarios"] if s["scenario"] == "accept"]
    best_accept = max((s["rps"] for s in accepts), default=0)
    lines += ["", f"argon2id alone in {results['workers']} processes: {results['argon2_alone_per_s']:.1f} hashes/s; "
              f"accept reaches {best_accept / results['argon2_alone_per_s']:.0%} of it. "
              f"Largest teamgate process: {results['rss_mb']:.0f} MB resident."]
    if results.get("scale"):
        lines += ["", "| invitations in the team | validate p50 / p99 ms | list p50 / p99 ms |",
                  "| ---: | ---: | ---: |"]
        lines += [f"| {row['invitations']:,} | {row['validate']['p50_ms']:.2f} / {row['validate']['p99_ms']:.2f} | "
                  f"{row['list']['p50_ms']:.2f} / {row['list']['p99_ms']:.2f} |" for row in results["scale"]]
    return "\n".join(lines) + "\n"


def write(results: dict) -> tuple[Path, Path]:
    RESULTS.mkdir(exist_ok=True)
    stem = results["started"].replace(":", "").replace("+0000", "Z")
    if results["quick"] or results["only"] != list(ALL):
        stem += "-partial"  # kept out of git: only full runs are on record
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path
