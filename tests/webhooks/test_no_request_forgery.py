"""No server-side request forgery (DESIGN 11): with private addresses not allowed, endpoints that
point inside the network are never called, whatever their URL says, and the delivery says why."""

from __future__ import annotations

import ipaddress

import httpcore
import pytest

from teamgate.webhooks.addresses import forbidden
from tests.webhooks.helpers import deliveries, endpoint, team_caller


@pytest.fixture
async def guarded(harness_with):
    """http allowed (the receivers speak plain http), private addresses not."""
    return await harness_with(webhook_allow_http=True, webhook_allow_private=False)


class TestSendTimeChecks:
    async def test_endpoints_at_loopback_private_metadata_and_localhost_are_never_called(self, guarded, receivers):
        receiver = await receivers()
        caller = await team_caller(guarded)
        urls = [receiver.url, "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data/",
                f"http://localhost:{receiver.port}/hook", "http://[::1]/hook", "http://[fd00:ec2::254]/"]
        created = [await endpoint(caller, url) for url in urls]
        for one in created:
            assert (await caller.post(f"/webhooks/{one['id']}/test")).status_code == 202
        await guarded.dispatcher.drain()

        assert receiver.hits == []
        for one in created:
            [record] = await deliveries(caller, one["id"])
            assert record["status"] == "queued" and record["lastErrorCode"] == "address_refused", one["url"]
            assert "private" in record["lastError"] and record["lastResponseStatus"] is None

    async def test_a_redirect_to_a_private_address_is_not_followed(self, local, receivers):
        inside = await receivers()
        outside = await receivers(answers=[307], location=inside.url)
        caller = await team_caller(local)
        created = await endpoint(caller, outside.url)
        await caller.post(f"/webhooks/{created['id']}/test")
        await local.dispatcher.drain()

        assert len(outside.hits) == 1 and inside.hits == []
        [record] = await deliveries(caller, created["id"])
        assert record["lastErrorCode"] == "redirect" and record["lastResponseStatus"] == 307
        assert record["status"] == "queued"


class TestAddressRules:
    @pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                         "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "fe80::1",
                                         "fd00:ec2::254", "::ffff:127.0.0.1", "ff02::1", "100.100.100.200"])
    def test_inside_addresses_are_forbidden(self, address):
        assert forbidden(ipaddress.ip_address(address))

    @pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
    def test_public_addresses_are_not(self, address):
        assert not forbidden(ipaddress.ip_address(address))


class TestUrlsAtCreate:
    @pytest.mark.parametrize("url", ["http://hooks.example.com/in", "ftp://hooks.example.com/",
                                     "https://user:pw@hooks.example.com/", "https:///nohost", "not a url",
                                     "https://hooks.example.com/" + "x" * 2100, "https://hooks.example.com:0/"])
    async def test_a_url_that_is_not_plain_https_is_refused(self, harness, url):
        caller = await team_caller(harness)
        response = await caller.post("/webhooks", json={"url": url})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"

    async def test_http_is_accepted_only_when_the_setting_allows_it(self, guarded):
        caller = await team_caller(guarded)
        assert (await caller.post("/webhooks", json={"url": "http://hooks.example.com/in"})).status_code == 201
        assert (await caller.post("/webhooks", json={"url": "http://u:p@hooks.example.com/"})).status_code == 422

    async def test_an_unknown_event_type_is_refused(self, harness):
        caller = await team_caller(harness)
        response = await caller.post("/webhooks", json={"url": "https://hooks.example.com/", "events": ["nope"]})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "events"


class TestConnectingToTheCheckedAddress:
    async def test_the_request_goes_to_the_resolved_address_with_the_name_in_the_host_header(self, local, receivers):
        receiver = await receivers()
        caller = await team_caller(local)
        created = await endpoint(caller, f"http://localhost:{receiver.port}/hook?x=1")
        await caller.post(f"/webhooks/{created['id']}/test")
        await local.dispatcher.drain()
        [hit] = receiver.hits
        assert hit.headers["host"] == f"localhost:{receiver.port}" and hit.path == "/hook?x=1"

    async def test_the_client_never_looks_a_name_up_itself_it_connects_only_to_a_checked_address(self, receivers):
        from teamgate.webhooks.client import _CheckedAddressBackend

        receiver = await receivers()
        with pytest.raises(httpcore.ConnectError):  # say, a second lookup that would now answer otherwise
            await _CheckedAddressBackend().connect_tcp("localhost", receiver.port)
        assert receiver.hits == []
