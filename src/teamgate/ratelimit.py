"""Abuse limits on the `limits` library: in memory by default, shared through Redis when
TEAMGATE_RATE_LIMIT_STORAGE=redis://... (so every process counts together).

Each method counts one attempt against each of its rules and raises RateLimited (429, with the
seconds to wait) once a rule is spent. The rules are settings (`TEAMGATE_RATE_LIMIT_*`). A moving
window: a burst at the edge of a fixed window cannot double the rate.

All the rules a request checks are counted in one round trip to Redis (`_RedisBatch`): one Lua
script applies, in order, what the library's own moving-window script does for one rule, and
stops at the first refusal as calls one after another would. Its lists are the library's, so the
library still reads them (`recipient_delay`) and older processes count with newer ones.
A preview (`preview()`, for dry runs) reads the windows and counts in itself only: it never
runs the script.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from teamgate import errors, metrics
from teamgate.config import Settings


@dataclass(frozen=True)
class Rule:
    """One limit applied to one subject: the item, its name (the metric label) and the subject."""

    item: RateLimitItem
    key: tuple[str, ...]  # the rule's name first, then what it counts

    @property
    def name(self) -> str:
        return self.key[0]


def _refused(rule: Rule, wait: float) -> errors.RateLimited:
    metrics.RATE_LIMITED.labels(rule.name).inc()
    return errors.RateLimited("Too many attempts; wait before trying again.", retryAfter=max(1, math.ceil(wait)))


# ARGV[1] is the time; then, per key, its limit, its window in seconds, and 1 when a refusal
# stops the rest (0: the rule is only reported on). Per key it answers "" (counted), the oldest
# entry in the window (refused: it is what the wait runs from), or "-" (not tried after a stop).
# For one rule this is limits' acquire_moving_window.lua with amount 1.
_TAKE = """
local now = tonumber(ARGV[1])
local answers = {}
local stopped = false
for i, key in ipairs(KEYS) do
  local limit, expiry, stops = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), ARGV[3 * i + 1] == "1"
  if stopped then
    answers[i] = "-"
  else
    local entry = redis.call("lindex", key, limit - 1)
    if entry and tonumber(entry) >= now - expiry then
      answers[i] = entry
      stopped = stops
    else
      redis.call("lpush", key, ARGV[1])
      redis.call("ltrim", key, 0, limit - 1)
      redis.call("expire", key, expiry)
      answers[i] = ""
    end
  end
end
return answers
"""


class _RedisBatch:
    """The rules of one request counted in one script call to a single Redis server (a cluster
    would need every key in one slot, so it is counted rule by rule instead)."""

    def __init__(self, storage: RedisStorage) -> None:
        bridge: Any = storage.bridge  # redis-py's (RateLimits asks for it): its client runs the script
        self._bridge = bridge
        self._take = bridge.get_connection().register_script(_TAKE)

    def _key(self, rule: Rule) -> str:
        return self._bridge.prefixed_key(rule.item.key_for(*rule.key))

    async def take(self, rules: Sequence[tuple[Rule, bool]]) -> tuple[list[float | None], str]:
        """Per rule None (counted), the seconds to wait (refused), or 0.0 (not tried after a
        refused rule that stops); and the time stamp the counted entries carry."""
        now = repr(time.time())
        args: list[Any] = [now]
        for rule, stops in rules:
            args += [rule.item.amount, rule.item.get_expiry(), "1" if stops else "0"]
        answers = await self._take(keys=[self._key(rule) for rule, _ in rules], args=args)
        waits: list[float | None] = []
        for (rule, _), answer in zip(rules, answers, strict=True):
            text = answer.decode() if isinstance(answer, bytes) else str(answer)
            waits.append(None if text == "" else 0.0 if text == "-" else
                         float(text) + rule.item.get_expiry() - float(now))
        return waits, now

    async def give_back(self, rule: Rule, stamp: str) -> None:
        await self._bridge.get_connection().lrem(self._key(rule), 1, stamp)


class EmailQuota:
    """The per-recipient email rule of a create or resend, counted with the request's other
    rules in their one round trip, ahead of its turn: `spend()` at its turn raises the refusal
    (if any), and `give_back()` returns the entry when the request fails before its turn, so
    only emails that are queued count. Without Redis the rule is simply counted at `spend()`."""

    def __init__(self, limits: RateLimits, rule: Rule | None, wait: float | None = None, stamp: str | None = None):
        self._limits, self._rule, self._wait, self._stamp = limits, rule, wait, stamp
        self._spent = False

    async def spend(self) -> None:
        if self._rule is None or self._spent:
            return
        self._spent = True
        if self._stamp is None and self._wait is None:  # not counted ahead: count it now
            await self._limits.check(self._rule)
        elif self._wait is not None:
            raise _refused(self._rule, self._wait)

    async def give_back(self) -> None:
        if self._rule is not None and not self._spent and self._wait is None and self._stamp is not None:
            self._spent = True
            await self._limits.give_back(self._rule, self._stamp)

    async def __aenter__(self) -> EmailQuota:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, _exc: BaseException | None,
                        _tb: TracebackType | None) -> None:
        if kind is not None and issubclass(kind, Exception):
            await self.give_back()


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        uri = settings.rate_limit_storage.removeprefix("async+")
        options = {"implementation": "redispy"} if uri.startswith(("redis", "rediss")) else {}  # redis-py's client
        storage = storage_from_string(f"async+{uri}", **options)
        self._limiter = MovingWindowRateLimiter(storage)
        self._batch = (_RedisBatch(storage) if isinstance(storage, RedisStorage)
                       and not isinstance(storage, RedisClusterStorage) else None)
        self._sign_in_per_account = parse(settings.rate_limit_sign_in_per_account)
        self._sign_in_per_ip = parse(settings.rate_limit_sign_in_per_ip)
        self._token_use_per_ip = parse(settings.rate_limit_token_use_per_ip)
        self._invitations_per_team = parse(settings.rate_limit_invitations_per_team)
        self._invitations_per_inviter = parse(settings.rate_limit_invitations_per_inviter)
        self._emails_per_recipient = parse(settings.rate_limit_emails_per_recipient)
        self._emails_per_recipient_all_teams = parse(settings.rate_limit_emails_per_recipient_all_teams)
        self._teams_per_person = parse(settings.rate_limit_teams_per_person)
        self._resends_per_invitation = parse(settings.rate_limit_resends_per_invitation)
        self._account_emails_per_address = parse(settings.rate_limit_account_emails_per_address)
        self._account_emails_per_ip = parse(settings.rate_limit_account_emails_per_ip)
        self._setup_per_ip = parse(settings.rate_limit_setup_per_ip)
        self._renewals_per_invitation = parse(settings.rate_limit_renewal_requests_per_invitation)
        self._previewed: dict[tuple[str, ...], list[int]] | None = None  # see preview()

    def preview(self) -> RateLimits:
        """The same limits, tested but not spent: each attempt counts against what its window has
        left, here in this object only. A dry run uses it, so its preview says which rows a limit
        would refuse without using the allowance up for the real run."""
        previewing = copy.copy(self)
        previewing._previewed = {}
        return previewing

    async def sign_in(self, ip: str | None, email_normalized: str) -> None:
        """Password guessing: per address (slows a spray) and per account (stops a focused guess)."""
        await self.check(Rule(self._sign_in_per_ip, ("sign-in-ip", ip or "-")),
                         Rule(self._sign_in_per_account, ("sign-in-account", email_normalized)))

    async def token_use(self, ip: str | None) -> None:
        """Guessing a 256-bit token is hopeless, but hammering the public token routes is still refused."""
        await self.check(Rule(self._token_use_per_ip, ("token-use", ip or "-")))

    async def invitation_create(self, team_id: str, inviter: str, *, recipient: str | None = None) -> EmailQuota:
        """A leaked key or a runaway script cannot turn a team into a spam cannon. `inviter` names
        a human (see services.invitations.inviter_key), so more keys or more teams add no allowance.
        `recipient` (the normalised address, when the invitation is to be emailed): its email rule
        (one team sends one mailbox at most so many invitation emails a day, counted per team, so one
        team spending it never refuses another's) comes in the same round trip, as an EmailQuota."""
        return await self._with_email_quota(team_id, recipient,
                                            Rule(self._invitations_per_team, ("invite-team", team_id)),
                                            Rule(self._invitations_per_inviter, ("invite-inviter", inviter)))

    async def recipient_delay(self, email_normalized: str) -> float:
        """The cap across all teams, counted when a message is about to be sent: 0 while the mailbox
        is under it, else the seconds until the window has room. Never refuses: a team flooding an
        address can only postpone other teams' emails, not stop them."""
        limit = self._emails_per_recipient_all_teams
        if await self._limiter.hit(limit, "email-recipient-all", email_normalized):
            return 0.0
        metrics.RATE_LIMITED.labels("email-recipient-all").inc()
        stats = await self._limiter.get_window_stats(limit, "email-recipient-all", email_normalized)
        return max(1.0, stats.reset_time - time.time())

    async def recipient_delays(self, emails: Sequence[str]) -> list[float]:
        """recipient_delay for each address of a dispatcher's batch, counted in one round trip."""
        if self._batch is None or not emails:
            return [await self.recipient_delay(email) for email in emails]
        rules = [Rule(self._emails_per_recipient_all_teams, ("email-recipient-all", email)) for email in emails]
        waits, _ = await self._batch.take([(rule, False) for rule in rules])  # each counted apart: none stops
        for rule, wait in zip(rules, waits, strict=True):
            if wait is not None:
                metrics.RATE_LIMITED.labels(rule.name).inc()
        return [0.0 if wait is None else max(1.0, wait) for wait in waits]

    async def team_create(self, user_id: str) -> None:
        """Making teams is free, so it is limited per person: many teams must not mean many allowances."""
        await self.check(Rule(self._teams_per_person, ("team-create", user_id)))

    async def resend(self, invitation_id: str, *, team_id: str | None = None,
                     recipient: str | None = None) -> EmailQuota:
        """Per invitation; with `team_id` and `recipient`, its email rule as in invitation_create."""
        return await self._with_email_quota(team_id, recipient,
                                            Rule(self._resends_per_invitation, ("resend", invitation_id)))

    async def account_email(self, ip: str | None, email_normalized: str) -> None:
        """Password-reset and verification emails: nobody can flood a mailbox (per address, counted
        whether or not an account has it, so the limit reveals nothing) or spray many (per client)."""
        await self.check(Rule(self._account_emails_per_ip, ("account-email-ip", ip or "-")),
                         Rule(self._account_emails_per_address, ("account-email-address", email_normalized)))

    async def setup(self, ip: str | None) -> None:
        """The first-owner setup link: each try hashes a password, and the link is worth the whole
        installation, so a client gets few tries a minute."""
        await self.check(Rule(self._setup_per_ip, ("setup-ip", ip or "-")))

    async def renewal_request(self, invitation_id: str) -> None:
        """"Ask for a new link" on an expired invitation emails its inviter: so often, and no more."""
        await self.check(Rule(self._renewals_per_invitation, ("renewal-request", invitation_id)))

    def _email_rule(self, team_id: str, email_normalized: str) -> Rule:
        return Rule(self._emails_per_recipient, ("email-recipient", team_id, email_normalized))

    async def _with_email_quota(self, team_id: str | None, recipient: str | None, *rules: Rule) -> EmailQuota:
        email = self._email_rule(team_id, recipient) if team_id is not None and recipient is not None else None
        if self._batch is None or email is None or self._previewed is not None:  # a preview counts at spend()
            await self.check(*rules)
            return EmailQuota(self, email)
        waits, stamp = await self._batch.take([*((rule, True) for rule in rules), (email, False)])
        self._raise_first_refusal(rules, waits)
        return EmailQuota(self, email, waits[-1], stamp)

    async def check(self, *rules: Rule) -> None:
        """Count one attempt against each rule in turn; the first that is spent raises
        RateLimited, and the rules after it are not counted. A preview counts in itself only."""
        if self._previewed is not None:
            for rule in rules:
                if not await self._left_in_preview(rule):
                    stats = await self._limiter.get_window_stats(rule.item, *rule.key)
                    # not _refused(): a preview's refusal is not counted as a real one in the metrics
                    raise errors.RateLimited("Too many attempts; wait before trying again.",
                                             retryAfter=max(1, math.ceil(stats.reset_time - time.time())))
            return
        if self._batch is not None:
            waits, _ = await self._batch.take([(rule, True) for rule in rules])
            self._raise_first_refusal(rules, waits)
            return
        for rule in rules:
            if not await self._limiter.hit(rule.item, *rule.key):
                stats = await self._limiter.get_window_stats(rule.item, *rule.key)
                raise _refused(rule, stats.reset_time - time.time())

    async def _left_in_preview(self, rule: Rule) -> bool:
        """Count one attempt in the preview; True while the window (as it stood when the preview
        first asked) has room for it."""
        assert self._previewed is not None
        if (left := self._previewed.get(rule.key)) is None:
            left = self._previewed[rule.key] = [(await self._limiter.get_window_stats(rule.item, *rule.key)).remaining]
        left[0] -= 1
        return left[0] >= 0

    async def give_back(self, rule: Rule, stamp: str) -> None:
        if self._batch is not None and self._previewed is None:
            await self._batch.give_back(rule, stamp)

    @staticmethod
    def _raise_first_refusal(rules: Sequence[Rule], waits: Sequence[float | None]) -> None:
        for rule, wait in zip(rules, waits, strict=False):
            if wait is not None:
                raise _refused(rule, wait)
