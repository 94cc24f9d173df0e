"""Real `teamgate` processes for the tests that need them: `teamgate serve` (browsers, logs) on a
free loopback port with its own data directory and mail folder, and `teamgate worker` on the
test's database (several at once, killed or stopped); everything each prints kept in a file."""

from __future__ import annotations

import asyncio
import email
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from email import policy
from pathlib import Path

import httpx

TEAMGATE = str(Path(sys.executable).parent / "teamgate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """`teamgate serve` on SQLite with the file email backend, unless `env` says otherwise."""

    def __init__(self, root: Path, *, env: dict[str, str] | None = None) -> None:
        port = free_port()
        self.root, self.url = root, f"http://127.0.0.1:{port}"
        self.mail = root / "mail"
        root.mkdir(parents=True, exist_ok=True)
        self.output = root / "output.log"
        self.env = {**os.environ, "TEAMGATE_DATA_DIR": str(root / "data"), "TEAMGATE_EMAIL_BACKEND": "file",
                    "TEAMGATE_EMAIL_DIR": str(self.mail), "TEAMGATE_BASE_URL": self.url,
                    "TEAMGATE_SECRET_KEY": "live-tests-secret-key-not-for-production", "TEAMGATE_ARGON2_MEMORY_KIB": "1024",
                    "TEAMGATE_ARGON2_TIME_COST": "1", "TEAMGATE_PRODUCT_NAME": "teamgate"}
        self.env.pop("TEAMGATE_DATABASE_URL", None)
        self.env.update(env or {})
        with self.output.open("wb") as out:
            self.process = subprocess.Popen([TEAMGATE, "serve", "--port", str(port)], env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT)
        for _ in range(400):  # bounded wait for the port
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"teamgate serve did not start:\n{self.output.read_text()}")

    def cli(self, *args: str, stdin: str | None = None) -> dict:
        done = subprocess.run([TEAMGATE, *args, "--json"], env=self.env, input=stdin, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def emails_to(self, recipient: str) -> list[str]:
        """Text bodies of the messages sent to `recipient`, oldest first."""
        found = []
        for path in sorted(self.mail.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if message["To"] == recipient:
                found.append(message.get_body(("plain",)).get_content())
        return found

    def printed(self) -> str:
        """Everything the process wrote to stdout and stderr so far (its logs, the access log)."""
        return self.output.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


class Worker:
    """`teamgate worker` with `env` (see tests/factories.cli_env): polls often, prints to a file
    (a pipe nobody reads would stop a worker that logs a lot)."""

    _numbers = itertools.count(1)

    def __init__(self, root: Path, env: dict[str, str], *, batch_size: int = 20, poll_seconds: float = 0.2) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.output = root / f"worker-{next(self._numbers)}.log"
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [TEAMGATE, "worker", "--batch-size", str(batch_size), "--poll-seconds", str(poll_seconds)],
                env=env, stdout=out, stderr=subprocess.STDOUT)

    def printed(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM: it finishes the batch in hand and exits; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL: it dies wherever it is, recording nothing more."""
        self.process.kill()
        self.process.wait(timeout=30)


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 90,
                     what: str = "the condition") -> None:
    """Poll `check` until it holds; fail after `seconds` (a bound against hanging, not a timing)."""
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {seconds} s")
