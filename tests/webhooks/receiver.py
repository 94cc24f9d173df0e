"""A real HTTP receiver on loopback for webhook tests: it records every request it gets and
answers with the statuses it is told (200 once they run out), a redirect where asked, and the
body it is given. `in_thread` runs one beside synchronous code (the browser tests)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    location: str | None = None  # the Location of a 3xx answer
    body: bytes = b"ok"  # what every answer says
    hits: list[Hit] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.hits.append(Hit(path, headers, body))
            status = self.answers.pop(0) if self.answers else 200
            extra = f"Location: {self.location}\r\n" if self.location and 300 <= status < 400 else ""
            reply = f"HTTP/1.1 {status} X\r\n{extra}Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
            writer.write(reply.encode() + self.body)
            await writer.drain()
        finally:
            writer.close()


@contextmanager
def in_thread(**options) -> Iterator[Receiver]:
    """A receiver serving from its own event loop in a thread, for tests that are not async."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    receiver = asyncio.run_coroutine_threadsafe(Receiver(**options).start(), loop).result(timeout=10)
    try:
        yield receiver
    finally:
        asyncio.run_coroutine_threadsafe(receiver.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
