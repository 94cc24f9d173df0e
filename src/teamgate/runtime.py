"""What services need besides the database session: settings, roles, clock, hashing, sealing,
email templates, rate limits, and the signal that email is waiting. It sits between services/
(which take it) and the adapters it is built from (storage, email, ratelimit); nothing in it
knows of services, the dispatcher, or HTTP."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from teamgate.config import Settings
from teamgate.domain.passwords import NO_PASSWORD
from teamgate.domain.roles import RoleCatalog
from teamgate.email.messages import Templates
from teamgate.ratelimit import RateLimits
from teamgate.storage.db import make_engine, session_factory

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Passwords:
    """argon2id hashing, off the event loop (each hash takes tens of milliseconds by design), at
    most one per CPU at a time across the `serve` processes: more would only share the same cores
    and evict each other's memory (19 MiB each by default) from the CPU caches, each hash slower
    than alone, and a burst of sign-ups cannot balloon the process. They run on threads of their
    own, as many as the slots: each thread's allocator keeps a hash's 19 MiB for its next one, so
    hashes spread over the shared thread pool left that much behind in every thread that ever
    hashed (the largest process grew from 150 to over 200 MB under the accept benchmark)."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib,
                                      parallelism=settings.argon2_parallelism)
        self._dummy = self._hasher.hash("not a real password")
        slots = max(1, (os.cpu_count() or 1) // settings.workers)
        self._threads = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="argon2")

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work)

    async def hash(self, password: str) -> str:
        return await self._run(lambda: self._hasher.hash(password))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Checks against a dummy hash when there is no account (or one without a password), so timing
        does not reveal which emails exist, or which accounts have no password."""
        usable = password_hash if password_hash and password_hash != NO_PASSWORD else None

        def check() -> bool:
            try:
                return self._hasher.verify(usable or self._dummy, password) and usable is not None
            except (VerificationError, InvalidHashError):
                return False

        return await self._run(check)


class Signal:
    """An in-process notice with any number of listeners. The outbox rings `Runtime.outbox_added`
    after a commit that queued email; each running dispatcher in this process listens, and sends
    at once instead of at its next poll. (Other processes' dispatchers find the rows by polling.)"""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def listen(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def ignore(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def ring(self) -> None:
        for callback in list(self._listeners):
            callback()


def outbox_cipher(secret: bytes) -> Fernet:
    """The key that seals outbox bodies, derived from the secret key for this one purpose."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"teamgate outbox v1").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    catalog: RoleCatalog
    passwords: Passwords
    cipher: Fernet
    limits: RateLimits
    templates: Templates
    clock: Clock = field(default_factory=SystemClock)
    outbox_added: Signal = field(default_factory=Signal)


def build_runtime(settings: Settings, *, clock: Clock | None = None, database_url: str | None = None) -> Runtime:
    """Everything services need; `database_url` overrides the service's (operator commands use the owner's)."""
    engine = make_engine(database_url or settings.database, pool_size=settings.database_pool_size)
    return Runtime(settings=settings, engine=engine, sessions=session_factory(engine),
                   catalog=RoleCatalog.load(settings.roles_file), passwords=Passwords(settings),
                   cipher=outbox_cipher(settings.secret), limits=RateLimits(settings),
                   templates=Templates(settings.templates_dir),
                   clock=clock or SystemClock())
