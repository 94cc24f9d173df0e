"""The benchmark's own PostgreSQL databases (made fresh, dropped at the end) and its fast seeding."""

from __future__ import annotations

import asyncio
import os
import subprocess

import asyncpg

ADMIN = os.environ.get("TEAMGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("TEAMGATE_BENCH_DATABASE", "teamgate_bench")  # another name: two runs on one server
SERVICE_ROLE = "teamgate_bench_service"


def psql(database: str, sql: str) -> str:
    done = subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1", f"{ADMIN}/{database}", "-c", sql],
                          check=True, capture_output=True, text=True)
    return done.stdout.strip()


def recreate(name: str) -> None:
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{name}"')


def drop(name: str) -> None:
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_invitations(team_id: str, key_id: str, code: str, first: int, last: int) -> None:
    """Pending invitations `first`..`last` of `team_id`, sent by API key `key_id`, made in one
    statement. Invitation i's raw token is `{code}-{i}` (only its SHA-256 is stored, as the
    service does); ids keep our shape."""
    asyncio.run(_execute(f"""
        INSERT INTO invitations (id, team_id, email, email_normalized, role, task_ids, token_hash, status,
                                 expires_at, lifetime_seconds, invited_by_api_key_id, inviter_name, created_at,
                                 send_count, delivery_status, delivery_attempts)
        SELECT 'inv_{code}' || lpad(upper(to_hex(i)), 25, '0'), '{team_id}',
               'seed-{code.lower()}-' || i || '@bench.example', 'seed-{code.lower()}-' || i || '@bench.example',
               'member', '[]', sha256(convert_to('{code}-' || i, 'UTF8')), 'pending',
               now() + interval '30 days', 2592000, '{key_id}', 'Bench', now(), 0, 'skipped', 0
        FROM generate_series({first}, {last}) AS i;
        ANALYZE invitations;"""))


def seed_teams(count: int, code: str = "T") -> list[str]:
    """`count` teams, each with an admin API key, like the ceiling's 1,000 teams; returns the keys
    (only their SHA-256 is stored). `code` keeps several such sets apart."""
    secret = "'tgk_bench-' || i" if code == "T" else f"'tgk_bench-{code}-' || i"
    asyncio.run(_execute(f"""
        INSERT INTO teams (id, name, created_at)
        SELECT 'team_{code}' || lpad(upper(to_hex(i)), 25, '0'), 'Bench team {code}' || i, now()
        FROM generate_series(1, {count}) AS i;
        INSERT INTO api_keys (id, team_id, name, role, prefix, secret_hash, created_at)
        SELECT 'key_{code}' || lpad(upper(to_hex(i)), 25, '0'), 'team_{code}' || lpad(upper(to_hex(i)), 25, '0'),
               'bench', 'admin', 'tgk_benc', sha256(convert_to({secret}, 'UTF8')), now()
        FROM generate_series(1, {count}) AS i;
        ANALYZE teams; ANALYZE api_keys;"""))
    return [f"tgk_bench-{i}" if code == "T" else f"tgk_bench-{code}-{i}" for i in range(1, count + 1)]


def tokens(code: str, numbers) -> list[str]:
    return [f"{code}-{i}" for i in numbers]


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(f"{ADMIN}/{DATABASE}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
