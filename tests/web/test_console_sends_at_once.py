"""An invitation made on the console goes out as soon as its transaction commits: the outbox
wakes the in-process dispatcher after the commit, whichever kind of request made the email."""

import asyncio
import re

from httpx import ASGITransport, AsyncClient

from teamgate.app import create_app
from teamgate.email.senders import MemorySender
from tests.conftest import _empty_tables
from tests.factories import make_team


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def test_a_console_invitation_is_sent_without_waiting_for_the_poll(settings, clock):
    mail = MemorySender()
    app = create_app(settings, clock=clock, sender=mail)  # with its dispatcher, as `teamgate serve` runs it
    app.state.dispatcher.poll_seconds = 60  # a poll cannot be what sends it within the wait below
    await _empty_tables(settings)
    async with app.router.lifespan_context(app):
        team = await make_team(app.state.rt)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://127.0.0.1:8000") as browser:
            login = await browser.get("/login")
            await browser.post("/login", data={"email": team.owner.email, "password": team.owner.password,
                                               "csrf": csrf_of(login.text)})
            console = await browser.get("/console")
            invited = await browser.post("/console/invitations", data={
                "csrf": csrf_of(console.text), "email": "prompt@example.com", "role": "member"})
            assert invited.status_code == 200 and "The email is on its way" in invited.text
            for _ in range(500):  # woken by the commit; bounded (5 s, a twelfth of the poll), never a fixed sleep
                if mail.sent:
                    break
                await asyncio.sleep(0.01)
    assert [m.recipient for m in mail.sent] == ["prompt@example.com"]
