"""The abuse limits themselves (ratelimit.py), in memory and against the machine's real Redis:
every rule a request checks is counted in one round trip, with the semantics of counting them
one after another (the first spent rule refuses, and the rules after it are not counted)."""

from __future__ import annotations

import secrets

import pytest
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from teamgate import errors
from teamgate.config import Settings
from teamgate.ratelimit import RateLimits

REDIS = "redis://127.0.0.1:6379/0"


def subject(what: str) -> str:
    """A subject of its own: other runs and other tests count on the same Redis."""
    return f"{what}-{secrets.token_hex(8)}"


@pytest.fixture(params=["memory://", REDIS], ids=["memory", "redis"])
def limits_with(request, tmp_path):
    def build(**rules: str) -> RateLimits:
        return RateLimits(Settings(_env_file=None, data_dir=tmp_path, rate_limit_storage=request.param, **rules))
    return build


class RoundTrips:
    """Counts the commands the limits' Redis client sends (Redis itself still answers them)."""

    def __init__(self, limits: RateLimits) -> None:
        self.commands: list[str] = []
        client = limits._batch._bridge.get_connection()  # the one client every rule goes through
        real = client.execute_command

        async def counted(*args, **options):
            self.commands.append(str(args[0]))
            return await real(*args, **options)

        client.execute_command = counted


async def refused(call) -> errors.RateLimited:
    with pytest.raises(errors.RateLimited) as caught:
        await call
    return caught.value


async def test_the_first_spent_rule_refuses_and_the_rules_after_it_are_not_counted(limits_with):
    limits = limits_with(rate_limit_sign_in_per_ip="3/minute", rate_limit_sign_in_per_account="2/minute")
    ip, ann, bob = subject("198.51.100"), subject("ann"), subject("bob")
    await limits.sign_in(ip, ann)
    await limits.sign_in(ip, ann)
    stop = await refused(limits.sign_in(ip, ann))  # the address's third attempt, the account's third: refused
    assert 1 <= stop.extra["retryAfter"] <= 60
    await refused(limits.sign_in(ip, bob))  # the address is spent: bob's account is never reached
    other_ip = subject("203.0.113")
    await limits.sign_in(other_ip, bob)  # so bob still has both of his attempts
    await limits.sign_in(other_ip, bob)
    await refused(limits.sign_in(other_ip, bob))


async def test_an_email_rule_counted_ahead_refuses_only_at_its_turn_and_is_given_back_if_unused(limits_with):
    limits = limits_with(rate_limit_emails_per_recipient="1/day")
    team, inviter, person = subject("team"), subject("user"), subject("person")
    first = await limits.invitation_create(team, inviter, recipient=person)
    await first.spend()
    second = await limits.invitation_create(team, inviter, recipient=person)  # not refused yet: other checks come first
    late = await refused(second.spend())
    assert 3600 < late.extra["retryAfter"] <= 86400

    other = subject("person")
    with pytest.raises(ValueError):
        async with await limits.invitation_create(team, inviter, recipient=other):
            raise ValueError("the create failed before its email was queued")
    kept = await limits.invitation_create(team, inviter, recipient=other)
    await kept.spend()  # the failed attempt gave its entry back
    with pytest.raises(ValueError):
        async with kept:
            raise ValueError("a failure after the email was queued keeps it counted")
    await refused((await limits.invitation_create(team, inviter, recipient=other)).spend())


async def test_a_refused_create_rule_counts_no_email(limits_with):
    limits = limits_with(rate_limit_invitations_per_team="1/hour", rate_limit_emails_per_recipient="1/day")
    team, inviter, person = subject("team"), subject("user"), subject("person")
    await limits.invitation_create(team, inviter)
    await refused(limits.invitation_create(team, inviter, recipient=person))
    await (await limits.invitation_create(subject("team"), inviter, recipient=person)).spend()


def on_redis(tmp_path, **rules: str) -> RateLimits:
    return RateLimits(Settings(_env_file=None, data_dir=tmp_path, rate_limit_storage=REDIS, **rules))


async def test_with_redis_a_create_counts_its_three_rules_in_one_round_trip(tmp_path):
    limits = on_redis(tmp_path, rate_limit_invitations_per_team="5/hour")
    trips = RoundTrips(limits)
    await limits.token_use(subject("192.0.2"))  # the script is loaded into Redis once; from then on it is called
    trips.commands.clear()
    quota = await limits.invitation_create(subject("team"), subject("user"), recipient=subject("person"))
    await quota.spend()
    assert trips.commands == ["EVALSHA"]
    await limits.sign_in(subject("192.0.2"), subject("ann"))
    assert trips.commands == ["EVALSHA"] * 2
    team = subject("team")
    for _ in range(5):
        await limits.invitation_create(team, subject("user"))
    trips.commands.clear()
    await refused(limits.invitation_create(team, subject("user")))  # the wait comes with the refusal
    assert trips.commands == ["EVALSHA"]


async def test_with_redis_the_windows_are_the_limits_librarys_own(tmp_path):
    limits = on_redis(tmp_path, rate_limit_token_use_per_ip="3/minute")
    library = MovingWindowRateLimiter(storage_from_string(f"async+{REDIS}", implementation="redispy"))
    ip, rule = subject("192.0.2"), parse("3/minute")
    assert await library.hit(rule, "token-use", ip)
    await limits.token_use(ip)
    assert (await library.get_window_stats(rule, "token-use", ip)).remaining == 1
    assert await library.hit(rule, "token-use", ip)
    await refused(limits.token_use(ip))


async def test_a_batchs_recipients_are_each_counted_and_delayed_alone_in_one_round_trip(limits_with):
    limits = limits_with(rate_limit_emails_per_recipient_all_teams="2/day")
    full, other = subject("full"), subject("other")
    assert await limits.recipient_delays([full, full]) == [0.0, 0.0]
    if limits._batch is not None:
        trips = RoundTrips(limits)
    delays = await limits.recipient_delays([full, other, full, other])
    assert delays[1] == 0.0 and delays[3] == 0.0  # the other address is not held back by the full one
    assert all(86400 - 60 < d <= 86400 for d in (delays[0], delays[2]))
    if limits._batch is not None:
        assert trips.commands == ["EVALSHA"]


async def test_a_preview_checks_without_spending_and_counts_only_in_itself(limits_with):
    limits = limits_with(rate_limit_invitations_per_team="2/hour", rate_limit_emails_per_recipient="1/day")
    team, inviter, person = subject("team"), subject("user"), subject("person")
    for _ in range(3):  # each preview starts from the window as it stands, and uses nothing of it
        preview = limits.preview()
        await (await preview.invitation_create(team, inviter, recipient=person)).spend()
        await refused((await preview.invitation_create(team, inviter, recipient=person)).spend())  # the email rule
        await refused(preview.invitation_create(team, inviter))  # the team's two are used, in the preview only
    await (await limits.invitation_create(team, inviter, recipient=person)).spend()  # the real run has all of it
    await limits.invitation_create(team, inviter)
    await refused(limits.invitation_create(team, inviter))
    await refused(limits.preview().invitation_create(team, inviter))  # and a preview now sees it spent
