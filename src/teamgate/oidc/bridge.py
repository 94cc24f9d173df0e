"""How Authlib's synchronous server meets teamgate's asynchronous storage.

Authlib's grants and endpoints call their storage hooks (find the client, save the code, spend
the refresh token, ...) synchronously, in the middle of their own logic, and teamgate's storage
is async SQLAlchemy. Loading everything a grant might need beforehand would mean guessing
Authlib's path through a request and replaying its decisions; instead each request runs Authlib
in a worker thread (`run`), and each hook hops back onto the event loop (`wait`) to await the
service call there, on the request's own session and in its one transaction. The session is
only ever used from the event loop, one call at a time, while the request's task waits for the
thread; so nothing is shared between threads but the values handed back and forth.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from teamgate.runtime import Runtime

T = TypeVar("T")


@dataclass
class Incoming:
    """What Authlib needs of an HTTP request, read on the event loop before the thread starts.
    `uri` is built from TEAMGATE_BASE_URL (the issuer), never from the Host header."""

    method: str
    uri: str
    headers: Mapping[str, str]  # case-insensitive (Starlette's): Authlib asks for `Authorization`
    args: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Call:
    """One request's handles, for the hooks Authlib calls in the worker thread."""

    db: AsyncSession
    rt: Runtime
    incoming: Incoming
    memo: dict[str, Any] = field(default_factory=dict)  # what one request looks up once (the signing key)


_current: ContextVar[Call] = ContextVar("teamgate_oidc_call")


async def run(call: Call, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run Authlib's `work` in a worker thread with `call` as the current request (the thread
    gets a copy of this context, so `current()` finds it there)."""
    reset = _current.set(call)
    try:
        return await anyio.to_thread.run_sync(partial(work, *args, **kwargs))
    finally:
        _current.reset(reset)


def current() -> Call:
    return _current.get()


def wait(service: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """From the worker thread: await `service(db, rt, *args, **kwargs)` on the event loop, on the
    request's session, and return its result."""
    call = current()

    async def hop() -> T:
        return await service(call.db, call.rt, *args, **kwargs)

    return anyio.from_thread.run(hop)
