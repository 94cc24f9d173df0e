"""Abuse limits on the `limits` library: in memory by default, shared through Redis when
TEAMGATE_RATE_LIMIT_STORAGE=redis://... (so every process counts together).

Each method counts one attempt and raises RateLimited (429, with the seconds to wait) once its
rule is spent. The rules are settings (`TEAMGATE_RATE_LIMIT_*`). A moving window: a burst at
the edge of a fixed window cannot double the rate.
"""

from __future__ import annotations

import copy
import math
import time

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from teamgate import errors, metrics
from teamgate.config import Settings


class RateLimits:
    def __init__(self, settings: Settings) -> None:
        uri = settings.rate_limit_storage.removeprefix("async+")
        options = {"implementation": "redispy"} if uri.startswith(("redis", "rediss")) else {}  # redis-py's client
        self._limiter = MovingWindowRateLimiter(storage_from_string(f"async+{uri}", **options))
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
        await self._hit(self._sign_in_per_ip, "sign-in-ip", ip or "-")
        await self._hit(self._sign_in_per_account, "sign-in-account", email_normalized)

    async def token_use(self, ip: str | None) -> None:
        """Guessing a 256-bit token is hopeless, but hammering the public token routes is still refused."""
        await self._hit(self._token_use_per_ip, "token-use", ip or "-")

    async def invitation_create(self, team_id: str, inviter: str) -> None:
        """A leaked key or a runaway script cannot turn a team into a spam cannon. `inviter` names
        a human (see services.invitations.inviter_key), so more keys or more teams add no allowance."""
        await self._hit(self._invitations_per_team, "invite-team", team_id)
        await self._hit(self._invitations_per_inviter, "invite-inviter", inviter)

    async def email_to(self, team_id: str, email_normalized: str) -> None:
        """One team sends one mailbox at most so many invitation emails a day. Counted per team, so
        one team spending it never refuses another team's invitations (the cap across all teams
        only delays delivery: recipient_delay)."""
        await self._hit(self._emails_per_recipient, "email-recipient", team_id, email_normalized)

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

    async def team_create(self, user_id: str) -> None:
        """Making teams is free, so it is limited per person: many teams must not mean many allowances."""
        await self._hit(self._teams_per_person, "team-create", user_id)

    async def resend(self, invitation_id: str) -> None:
        await self._hit(self._resends_per_invitation, "resend", invitation_id)

    async def account_email(self, ip: str | None, email_normalized: str) -> None:
        """Password-reset and verification emails: nobody can flood a mailbox (per address, counted
        whether or not an account has it, so the limit reveals nothing) or spray many (per client)."""
        await self._hit(self._account_emails_per_ip, "account-email-ip", ip or "-")
        await self._hit(self._account_emails_per_address, "account-email-address", email_normalized)

    async def setup(self, ip: str | None) -> None:
        """The first-owner setup link: each try hashes a password, and the link is worth the whole
        installation, so a client gets few tries a minute."""
        await self._hit(self._setup_per_ip, "setup-ip", ip or "-")

    async def renewal_request(self, invitation_id: str) -> None:
        """"Ask for a new link" on an expired invitation emails its inviter: so often, and no more."""
        await self._hit(self._renewals_per_invitation, "renewal-request", invitation_id)

    async def _hit(self, limit: RateLimitItem, *key: str) -> None:
        if self._previewed is not None:
            if await self._left_in_preview(limit, key):
                return
        elif await self._limiter.hit(limit, *key):
            return
        else:
            metrics.RATE_LIMITED.labels(key[0]).inc()  # a real refusal, not a preview's
        stats = await self._limiter.get_window_stats(limit, *key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise errors.RateLimited("Too many attempts; wait before trying again.", retryAfter=wait)

    async def _left_in_preview(self, limit: RateLimitItem, key: tuple[str, ...]) -> bool:
        """Count one attempt in the preview; True while the window (as it stood when the preview
        first asked) has room for it."""
        assert self._previewed is not None
        if (left := self._previewed.get(key)) is None:
            left = self._previewed[key] = [(await self._limiter.get_window_stats(limit, *key)).remaining]
        left[0] -= 1
        return left[0] >= 0
