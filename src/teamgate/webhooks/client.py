"""Posting a signed webhook: one pooled httpx client per dispatcher, a 10 s limit, no redirects,
and the response read only up to a few KiB (kept as a short excerpt, never shown raw).

The connection goes to the address webhooks/addresses.py checked, not to a second lookup of
the name: the URL's host is replaced by that address, while the Host header and TLS (SNI and
certificate checks) still use the name."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from teamgate.webhooks.addresses import AddressRefused, resolve

log = logging.getLogger("teamgate.webhooks")
READ_LIMIT = 4096
EXCERPT = 200


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
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Result:
        target = httpx.URL(url)
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            address = await resolve(target.host, port, allow_private=self.allow_private)
        except AddressRefused as refused:
            return Result(None, refused.code, refused.message)
        host_header = target.host if target.port is None else f"{target.host}:{target.port}"
        request = self._client.build_request(
            "POST", target.copy_with(host=str(address)), content=body, headers={**headers, "host": host_header},
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {})
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
