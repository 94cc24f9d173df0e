"""argon2id alone, at the service's production cost, in as many processes as the service runs:
what bounds "accept as a new person"."""

from __future__ import annotations

import time
from multiprocessing import Pool

from argon2 import PasswordHasher

from teamgate.config import Settings


def _hash_for(seconds: float) -> int:
    settings = Settings(_env_file=None)
    hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib,
                            parallelism=settings.argon2_parallelism)
    done, until = 0, time.monotonic() + seconds
    while time.monotonic() < until:
        hasher.hash("a long bench password")
        done += 1
    return done


def argon2_alone(processes: int, seconds: float) -> float:
    """Hashes per second over `processes` processes."""
    with Pool(processes) as pool:
        counts = pool.map(_hash_for, [seconds] * processes)
    return sum(counts) / seconds
