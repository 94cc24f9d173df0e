"""The address check before each webhook is made as the batch is sent: the posts of one batch to
one host share one lookup, the next batch looks the host up again (so an answer that turned
private is refused then), and an address literal is judged without a lookup."""

import ipaddress

from teamgate.webhooks import addresses
from teamgate.webhooks.client import WebhookClient


async def test_one_lookup_per_host_per_batch_and_again_at_the_next_batch(monkeypatch):
    looked_up: list[str] = []

    async def look_up(host: str, port: int):
        looked_up.append(host)
        return [ipaddress.ip_address("10.0.0.7")]  # the name now points inside the network

    monkeypatch.setattr(addresses, "_look_up", look_up)
    client = WebhookClient(allow_private=False)
    try:
        for batch in (1, 2):
            checks: dict = {}
            results = [await client.post(f"https://hooks.example.com/{n}", b"{}", {}, checks) for n in range(3)]
            assert [r.error_code for r in results] == ["address_refused"] * 3
            assert looked_up == ["hooks.example.com"] * batch
        refused = await client.post("http://127.0.0.1:9/hook", b"{}", {}, {})
        assert refused.error_code == "address_refused" and len(looked_up) == 2  # a literal needs no lookup
    finally:
        await client.aclose()
