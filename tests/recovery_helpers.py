"""What the recovery and self-service tests share: asking for links and reading them from the mail."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from teamgate.storage.models import AuditEvent, User

RESET_LINK = re.compile(r"http://127\.0\.0\.1:8000/reset-password\?token=([\w-]+)")
VERIFY_LINK = re.compile(r"http://127\.0\.0\.1:8000/verify-email\?token=([\w-]+)")
NEW_PASSWORD = "a brand new passphrase"


async def ask_reset(client, email: str, **headers):
    return await client.post("/api/v1/auth/password-reset", json={"email": email}, headers=headers)


async def confirm_reset(client, token: str, password: str = NEW_PASSWORD):
    return await client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": password})


async def mailed_tokens(harness, pattern=RESET_LINK, to: str | None = None) -> list[str]:
    """Send what the outbox holds; the tokens of the links in the messages (to `to`, if given)."""
    sent = await harness.send_mail()
    found = []
    for message in sent:
        if to is None or message.recipient == to:
            found += pattern.findall(message.text)
            assert set(pattern.findall(message.html)) <= set(pattern.findall(message.text))
    return found


async def reset_token(harness, client, email: str) -> str:
    response = await ask_reset(client, email)
    assert response.status_code == 202, response.text
    [token] = await mailed_tokens(harness, to=email)
    return token


async def actions_for(harness, user_id: str) -> list[str]:
    async with harness.owner() as db:
        return list(await db.scalars(select(AuditEvent.action).where(AuditEvent.target_id == user_id)
                                     .order_by(AuditEvent.id)))


async def verified_at(harness, user_id: str):
    async with harness.owner() as db:
        return await db.scalar(select(User.email_verified_at).where(User.id == user_id))


async def mark_verified(harness, user_id: str) -> None:
    async with harness.owner() as db:
        await db.execute(update(User).where(User.id == user_id).values(email_verified_at=harness.clock.now()))


async def login_status(harness, email: str, password: str) -> int:
    response = await harness.client().post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code
