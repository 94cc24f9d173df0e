"""Settings: the one place that reads the environment (prefix TEAMGATE_, optional .env)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from limits import parse as parse_rate
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EmailBackend = Literal["console", "file", "smtp", "memory"]
MIN_SECRET_BYTES = 32  # it keys CSRF tokens and the outbox encryption: shorter is guessable offline
GENERATE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


class WeakSecretKey(ValueError):
    """The secret key is set but too short to protect anything."""


def secret_key_problem(value: bytes) -> str | None:
    if len(value.strip()) < MIN_SECRET_BYTES:
        return (f"must be at least {MIN_SECRET_BYTES} bytes (it has {len(value.strip())}); "
                f"generate one with: {GENERATE_SECRET}")
    return None


def _async_url(url: str) -> str:
    """Plain postgresql:// and sqlite:// URLs get their async driver."""
    for plain, async_ in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                          ("sqlite://", "sqlite+aiosqlite://")):
        if url.startswith(plain):
            return async_ + url[len(plain):]
    return url


class Settings(BaseSettings):
    # a refused setting's error never repeats its value: it may be the secret key or a password
    model_config = SettingsConfigDict(env_prefix="TEAMGATE_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    data_dir: Path = Path(".teamgate")
    database_url: str | None = None  # the service's connection (on PostgreSQL: a role without privileges)
    migration_database_url: str | None = None  # the tables' owner, for migrations and operator commands
    database_pool_size: int = Field(default=20, ge=1)  # connections per process (PostgreSQL); more requests queue
    development: bool = False  # allows a privileged PostgreSQL role for the service (RLS not in force)
    base_url: str = ""  # default: http://{host}:{port}
    invite_url_template: str = "{base_url}/invite?token={token}"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)  # `serve` processes sharing the port
    dispatcher: bool = True  # `serve` sends email in-process; false leaves it to `teamgate worker`
    log_format: Literal["auto", "json", "text"] = "auto"  # auto: text at a terminal, else one JSON object a line
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    email_backend: EmailBackend = "console"
    email_dir: Path | None = None
    email_from: str = "teamgate <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool | None = None  # None: upgrade when the server offers it; true: require; false: never
    smtp_tls: bool = False  # implicit TLS (usually port 465)
    smtp_timeout: float = Field(default=30, gt=0)
    smtp_validate_certs: bool = True
    email_max_attempts: int = Field(default=8, ge=1)
    templates_dir: Path | None = None

    product_name: str = "teamgate"
    invitation_ttl_days: float = Field(default=7, gt=0, le=30)
    session_ttl_days: float = Field(default=14, gt=0)  # absolute lifetime of a session
    session_idle_hours: float = Field(default=72, gt=0)  # a session unused this long ends
    password_reset_ttl_minutes: float = Field(default=60, gt=0)
    email_verification_ttl_hours: float = Field(default=48, gt=0)
    password_min_score: int = Field(default=3, ge=0, le=4)  # zxcvbn's 0..4
    roles_file: Path | None = None
    secret_key: SecretStr | None = None
    rate_limit_storage: str = "memory://"
    # Abuse limits in the `limits` notation ("10/minute", "5/day"); ratelimit.py applies them.
    rate_limit_sign_in_per_account: str = "10/minute"
    rate_limit_sign_in_per_ip: str = "30/minute"
    rate_limit_token_use_per_ip: str = "60/minute"
    rate_limit_invitations_per_team: str = "1000/hour"
    rate_limit_invitations_per_inviter: str = "300/hour"
    rate_limit_emails_per_recipient: str = "10/day"  # per team and address: refused beyond it
    rate_limit_emails_per_recipient_all_teams: str = "50/day"  # per address, all teams: delayed beyond it
    rate_limit_resends_per_invitation: str = "10/hour"
    rate_limit_account_emails_per_address: str = "5/hour"  # password-reset and verification emails
    rate_limit_account_emails_per_ip: str = "30/hour"
    rate_limit_teams_per_person: str = "20/day"
    rate_limit_setup_per_ip: str = "10/minute"
    # how long a dispatcher holds the messages it claimed; one that dies holding them leaves them to
    # another after this (longer than a batch takes to send: SMTP timeouts, webhooks' 10 s)
    outbox_lease_seconds: float = Field(default=600, gt=0, le=3600)  # the claim (migration 0007) holds at most 1 h
    rate_limit_renewal_requests_per_invitation: str = "1/day"  # "ask for a new link" on an expired invitation
    upkeep_interval_seconds: float = Field(default=60, gt=0)  # expire overdue invitations, purge old rows
    retention_days: float = Field(default=30, gt=0)  # sent emails' rows are kept this long (bodies are erased at once)
    max_pending_invitations: int = Field(default=1000, ge=1)  # outstanding pending invitations per team
    # one reminder email this long before a pending invitation expires (DESIGN 14); 0: none
    reminder_before_expiry_hours: float = Field(default=48, ge=0, le=30 * 24)
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    invite_existing_users: bool = True
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)  # larger bodies are refused with 413
    api_docs: bool = True  # /docs and /redoc, served from the package (no CDN)
    # Webhooks (DESIGN 11): endpoints must be https, and must not resolve to private addresses,
    # unless these say otherwise (a receiver on the same host or network, in development or tests)
    webhook_allow_http: bool = False
    webhook_allow_private: bool = False
    # OpenID Connect (DESIGN 13): where an invitation's redirectUrl may point besides the registered
    # clients' redirect origins (comma-separated origins, `https://app.example`), and how long a
    # refresh token lives unused (each use replaces it with a new one)
    allowed_redirect_origins: Annotated[list[str], NoDecode] = []
    oidc_refresh_token_days: float = Field(default=30, gt=0, le=365)

    # argon2id cost (OWASP's minimum recommendation by default); tests lower it.
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value):
        return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value

    @field_validator("allowed_redirect_origins", mode="before")
    @classmethod
    def _split_origins(cls, value):
        return [o.strip().rstrip("/") for o in value.split(",") if o.strip()] if isinstance(value, str) else value

    @field_validator("secret_key")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Set means set: an empty or short key is refused, never quietly replaced (only an unset
        key is generated, in the data directory, for development)."""
        if value is not None and (problem := secret_key_problem(value.get_secret_value().encode())):
            raise WeakSecretKey(problem)
        return value

    @model_validator(mode="after")
    def _readable_rates(self) -> Settings:
        for name in RATE_LIMIT_RULES:
            try:
                parse_rate(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _default_base_url(self) -> Settings:
        if not self.base_url:
            self.base_url = f"http://{self.host}:{self.port}"
        self.base_url = self.base_url.rstrip("/")
        return self

    @cached_property
    def database(self) -> str:
        """The service's SQLAlchemy async URL."""
        return _async_url(self.database_url or f"sqlite:///{self.data_dir / 'teamgate.db'}")

    @cached_property
    def migration_database(self) -> str:
        """The owner's URL (the service's when only one is given: a development set-up)."""
        return _async_url(self.migration_database_url) if self.migration_database_url else self.database

    @property
    def is_sqlite(self) -> bool:
        return self.database.startswith("sqlite")

    @cached_property
    def secret(self) -> bytes:
        """The secret key; in development it is generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        kept = path.read_text().strip().encode()
        if problem := secret_key_problem(kept):  # a file someone shortened by hand
            raise WeakSecretKey(f"the secret key in {path} {problem}")
        return kept

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure unless the service is reached over plain http on this machine."""
        parts = urlsplit(self.base_url)
        return not (parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1", "::1"})

    def invite_url(self, token: str) -> str:
        return self.invite_url_template.format(base_url=self.base_url, token=token)


# every `rate_limit_*` setting except where they are counted is a rule ("10/minute")
RATE_LIMIT_RULES = [name for name in Settings.model_fields
                    if name.startswith("rate_limit_") and name != "rate_limit_storage"]

