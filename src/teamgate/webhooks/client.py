"""Posting a signed webhook: one pooled httpx client per dispatcher, a 10 s limit, no redirects,
and the response read only up to a few KiB (kept as a short excerpt, never shown raw).

The connection goes to the address webhooks/addresses.py checked, not to a second lookup of
the name (DNS rebinding): the client's network backend connects a host name only to the address
checked for it in the sending task. The URL keeps the name, so the Host header, TLS (SNI and the
certificate check) and the connection pool (keyed by name) all stay the name's: a connection
verified for one host is never reused for another that shares its address."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from teamgate.webhooks.addresses import AddressRefused, resolve

log = logging.getLogger("teamgate.webhooks")
if importlib.util.find_spec("sniffio") is None:
    # httpcore tries to import it for every lock, event and semaphore it makes (several per
    # request); a failed import is not remembered and walks sys.path each time (~0.2 ms, most of
    # a webhook's CPU): remember the failure, as if it had been looked for once
    sys.modules["sniffio"] = None  # type: ignore[assignment]
READ_LIMIT = 4096
EXCERPT = 200
# host name -> the address checked for it, set by `post` for the task that sends
_CHECKED: ContextVar[dict[str, str] | None] = ContextVar("teamgate_webhook_checked_addresses", default=None)


class _CheckedAddressBackend(httpcore.AsyncNetworkBackend):
    """Opens connections only to the address checked for the host name in this task."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        address = (_CHECKED.get() or {}).get(host)
        if address is None:  # a host the sender did not check: never looked up here
            raise httpcore.ConnectError(f"no checked address for {host}")
        return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                             socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _transport() -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx takes no network backend of its own: its pool is replaced by the same pool with ours
    limits = httpx.Limits()
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=_CheckedAddressBackend())
    return transport


@dataclass(frozen=True)
class Result:
    status: int | None  # the receiver's HTTP status; None when no answer came
    error_code: str | None  # None: delivered (2xx)
    error: str | None  # a fixed sentence for people; never the exception's text
    excerpt: str = ""

    @property
    def delivered(self) -> bool:
        return self.error_code is None


class WebhookClient:
    def __init__(self, *, allow_private: bool, timeout: float = 10.0) -> None:
        self.allow_private = allow_private
        # no proxies from the environment: a proxy would connect wherever the name leads it
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                         transport=_transport())

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   checks: dict[tuple[str, int], asyncio.Future] | None = None) -> Result:
        """`checks`: the address checks of the batch this post is sent with, so that the posts of
        one batch to one host, sent together, share one lookup made as they are sent (no answer
        is kept past the batch: the next batch looks the host up again)."""
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")  # as the pool will name it: IDNA-encoded, no brackets
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            if checks is None:
                address = await resolve(host, port, allow_private=self.allow_private)
            else:
                if (host, port) not in checks:
                    checks[host, port] = asyncio.ensure_future(resolve(host, port, allow_private=self.allow_private))
                address = await asyncio.shield(checks[host, port])  # one post cancelled cancels no other's
        except AddressRefused as refused:
            return Result(None, refused.code, refused.message)
        request = self._client.build_request("POST", target, content=body, headers=headers)
        checked = _CHECKED.set({host: str(address)})
        try:
            response = await self._client.send(request, stream=True)
            try:
                excerpt = await _read_some(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            return Result(None, "timeout", "The endpoint did not answer within 10 seconds.")
        except httpx.HTTPError as error:
            log.info("webhook.send.error", extra={"error": type(error).__name__})
            return Result(None, "connection_failed", "The endpoint could not be reached.")
        finally:
            _CHECKED.reset(checked)
        if 200 <= response.status_code < 300:
            return Result(response.status_code, None, None, excerpt)
        if response.is_redirect:
            return Result(response.status_code, "redirect", "The endpoint answered with a redirect, "
                                                            "which webhooks do not follow.", excerpt)
        return Result(response.status_code, "http_status",
                      f"The endpoint answered with HTTP {response.status_code}.", excerpt)

    async def aclose(self) -> None:
        await self._client.aclose()


async def _read_some(response: httpx.Response) -> str:
    """At most READ_LIMIT bytes of the body, kept as a short printable excerpt."""
    read = b""
    async for chunk in response.aiter_raw():
        read += chunk
        if len(read) >= READ_LIMIT:
            break
    text = read[:READ_LIMIT].decode("utf-8", "replace")
    return "".join(c if c.isprintable() else " " for c in text)[:EXCERPT]
