"""Webhook test fixtures: loopback receivers, and a harness allowed to send to them."""

from __future__ import annotations

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
async def receivers():
    """`await receivers(answers=[500])` starts another receiver; all stop at the end."""
    started: list[Receiver] = []

    async def start(**options) -> Receiver:
        receiver = await Receiver(**options).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.stop()


@pytest.fixture
async def local(harness_with):
    """The app allowed to send to http on loopback: where the test receivers listen."""
    return await harness_with(webhook_allow_http=True, webhook_allow_private=True)
