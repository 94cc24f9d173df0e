"""The production shape, for real: two `teamgate serve` processes and two `teamgate worker`
processes on one PostgreSQL and one Redis (loopback), email through an SMTP server.

Invitations are made and accepted through both API processes alternately; every email arrives
exactly once; a rate limit counts across both processes; a session made on one works on the
other; and /metrics moves by exactly what happened."""

import asyncio
import re
import secrets
import signal
import subprocess

import httpx
import pytest

from tests.email.smtp_server import Inbox, start_server
from tests.factories import cli_env, make_api_key, make_team, make_user, metric_samples
from tests.live import TEAMGATE, Service

pytestmark = pytest.mark.postgres_only

INVITES = 10


def scrape(service: Service) -> dict[tuple, float]:
    return metric_samples(httpx.get(f"{service.url}/metrics").text)


def total(scrapes: list[dict], name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return sum(s.get(key, 0) for s in scrapes)


async def wait_for(condition, seconds: float = 60) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_two_api_processes_and_two_workers_share_one_postgresql_and_one_redis(harness, settings, tmp_path,
                                                                                  unused_tcp_port):
    team = await make_team(harness.rt)
    key = await make_api_key(harness.rt, team.id)
    run = secrets.token_hex(4)  # Redis outlives test runs: addresses of this run only, or its daily limits carry over
    prober = await make_user(harness.rt, f"prober-{run}@example.com")
    recipients = [f"person{n}-{run}@example.com" for n in range(INVITES)]
    inbox = Inbox()
    smtp = start_server(unused_tcp_port, inbox)
    env = cli_env(settings, TEAMGATE_EMAIL_BACKEND="smtp", TEAMGATE_SMTP_HOST="127.0.0.1",
                  TEAMGATE_SMTP_PORT=str(unused_tcp_port), TEAMGATE_RATE_LIMIT_STORAGE="redis://127.0.0.1:6379/0",
                  TEAMGATE_RATE_LIMIT_SIGN_IN_PER_ACCOUNT="5/minute", TEAMGATE_DISPATCHER="false")
    apis = [Service(tmp_path / f"api{n}", env=env) for n in range(2)]
    workers = [subprocess.Popen([TEAMGATE, "worker", "--batch-size", "3", "--poll-seconds", "0.2"], env=env,
                                stderr=subprocess.DEVNULL) for _ in range(2)]
    try:
        before = [scrape(api) for api in apis]

        # invitations made through both processes alternately; the workers send each email once
        made = [httpx.post(f"{apis[n % 2].url}/api/v1/team-invitations", headers={"X-API-Key": key},
                           json={"email": recipients[n], "role": "member"}) for n in range(INVITES)]
        assert [r.status_code for r in made] == [201] * INVITES, [r.text for r in made]
        await wait_for(lambda: len(inbox.messages) >= INVITES)
        await asyncio.sleep(1)  # both workers poll again: nothing may arrive twice
        assert sorted(inbox.recipients()) == sorted(recipients)

        # each accepted through the other process than the one that made it, from the emailed link
        sessions = []
        for n, message in enumerate(sorted(inbox.messages, key=lambda m: recipients.index(m["To"]))):
            token = re.search(r"token=([A-Za-z0-9_-]{43})", message.get_body(("plain",)).get_content()).group(1)
            api = apis[(n + 1) % 2]
            accepted = httpx.post(f"{api.url}/api/v1/team-invitations/accept",
                                  json={"token": token, "password": "a long new password", "firstName": "P",
                                        "lastName": str(n)})
            assert accepted.status_code == 200, accepted.text
            sessions.append((n, accepted.cookies["teamgate_session"]))

        # a session made on one process works on the other
        for n, cookie in sessions[:2]:
            me = httpx.get(f"{apis[n % 2].url}/api/v1/me", cookies={"teamgate_session": cookie})
            assert me.status_code == 200 and me.json()["user"]["email"] == recipients[n]

        # one sign-in limit across both processes: 5 wrong passwords, split between them, then 429
        wrong = {"email": prober.email, "password": "not the password"}
        codes = [httpx.post(f"{apis[n % 2].url}/api/v1/auth/login", json=wrong).status_code for n in range(6)]
        assert codes == [401] * 5 + [429]

        after = [scrape(api) for api in apis]
        for event, count in (("created", INVITES), ("accepted", INVITES)):
            assert total(after, "teamgate_invitations_total", event=event) - \
                total(before, "teamgate_invitations_total", event=event) == count
        assert total(after, "teamgate_http_requests_total", method="POST", route="/api/v1/team-invitations",
                     status="201") - total(before, "teamgate_http_requests_total", method="POST",
                                           route="/api/v1/team-invitations", status="201") == INVITES
        assert total(after, "teamgate_rate_limit_refusals_total", limit="sign-in-account") - \
            total(before, "teamgate_rate_limit_refusals_total", limit="sign-in-account") == 1
        assert all(s[("teamgate_outbox_waiting_messages", (("kind", "email"),))] == 0 for s in after)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        exits = [worker.wait(timeout=30) for worker in workers]
        for api in apis:
            api.stop()
        smtp.stop()
    assert exits == [0, 0]
    assert len(inbox.messages) == INVITES
